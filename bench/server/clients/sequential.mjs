/**
 * The client of the instruction-count benchmark: `node sequential.mjs <port> <count> <header: 0|1>` makes
 * `count` connections to 127.0.0.1:<port>, 8 at a time, each sending one `Connection: close` request (after a
 * v2 PROXY TCP4 header naming 127.0.0.27:1234 when header is 1) and reading the answer; exits 1 on a wrong one.
 */
import net from 'node:net'

const [port, count, withHeader] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4] === '1']
const header = Buffer.from('0d0a0d0a000d0a515549540a2111000c7f00001b7f00000104d21f90', 'hex')
const request = Buffer.from('GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n')
const payload = withHeader ? Buffer.concat([header, request]) : request
const expected = withHeader ? '\r\n\r\n127.0.0.27' : '\r\n\r\n127.0.0.1'

let started = 0
let done = 0
await new Promise((resolve, reject) => {
  const next = () => {
    if (started >= count) return
    started++
    const c = net.connect(port, '127.0.0.1', () => c.end(payload))
    let answer = ''
    c.setEncoding('latin1')
    c.on('data', (d) => (answer += d))
    c.on('error', reject)
    c.on('close', () => {
      if (!answer.endsWith(expected)) reject(new Error(`unexpected answer: ${JSON.stringify(answer)}`))
      else if (++done === count) resolve()
      else next()
    })
  }
  for (let i = 0; i < 8; i++) next()
})
