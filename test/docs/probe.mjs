// One request to a server started from the docs, made the way its load balancer would: from the
// balancer's address, a PROXY v2 header naming the client 203.0.113.7:51234, then the server's protocol.
// Run inside the docs test's network namespace (`nsenter`), so it is a child process. Prints what the
// server answered; exits 1 if nothing arrived within 10 s.
import net from 'node:net'
import tls from 'node:tls'
import { encode } from '@proxyproto/core'

const { host, port, from, mode, path = '/' } = JSON.parse(process.argv[2])
const header = Buffer.from(
  encode({
    version: 2,
    family: 'IPv4',
    source: { address: '203.0.113.7', port: 51234 },
    destination: { address: '198.51.100.10', port: 443 },
  }),
)
// RFC 1035 §4.1: id 0x1234, RD, one question; QNAME whoami.test, QTYPE TXT (16), QCLASS IN (1).
const dnsQuery = () =>
  Buffer.concat([
    Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]),
    ...['whoami', 'test'].map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label)])),
    Buffer.from([0, 0, 16, 0, 1]),
  ])
if (mode === 'udp' || mode === 'dns') {
  // A datagram from `from` to host:port (the balancer): 'hello', or a DNS TXT query for whoami.test; the
  // answer that comes back through it is printed.
  const { createSocket } = await import('node:dgram')
  const udp = createSocket('udp4')
  setTimeout(() => process.exit(1), 10_000).unref()
  udp.on('message', (m) => {
    process.stdout.write(m.toString('latin1'))
    process.exit(0)
  })
  udp.bind(0, from, () => udp.send(mode === 'dns' ? dnsQuery() : 'hello', port, host))
} else if (mode === 'wait') {
  // Until something listens on host:port (a server that prints no ready line), at most 30 s.
  const deadline = Date.now() + 30_000
  const attempt = () =>
    net
      .connect({ host, port }, function () {
        this.destroy()
        process.exit(0)
      })
      .on('error', () => (Date.now() > deadline ? process.exit(1) : setTimeout(attempt, 100)))
  attempt()
} else run()

function run() {
  const plain = mode === 'http-from-client'
  let socket = net.connect({ host, port, localAddress: from })
  if (!plain) socket.write(header)
  if (mode === 'tls-http')
    socket = tls.connect({ socket, servername: 'localhost', rejectUnauthorized: false })
  let seen = ''
  const done = (status) => {
    process.stdout.write(seen)
    process.exit(status)
  }
  setTimeout(() => done(1), 10_000).unref()
  socket.on('error', (err) => {
    seen += `\n[probe] ${err.message}`
    done(1)
  })
  socket.on('end', () => done(seen ? 0 : 1))
  const upgrade = (p) =>
    `GET ${p} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'
  // A client frame must be masked (RFC 6455 §5.3); a zero mask leaves the payload as it is.
  const textFrame = (text) =>
    Buffer.concat([Buffer.from([0x81, 0x80 | text.length, 0, 0, 0, 0]), Buffer.from(text)])
  const request = `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`
  const start = () => {
    if (mode === 'http' || mode === 'tls-http' || plain) socket.write(request)
    else if (mode === 'ws' || mode === 'socket.io') socket.write(upgrade(path))
  }
  if (mode === 'tls-http') socket.once('secureConnect', start)
  else start()
  socket.on('data', (chunk) => {
    seen += chunk.toString('latin1')
    if (mode === 'line' && seen.includes('\n')) done(0)
    if (mode === 'ws' && seen.includes('203.0.113.7')) done(0)
    if (mode === 'socket.io') {
      if (seen.includes('"hello"')) done(0)
      if (/0\{"sid"/.test(seen) && !seen.includes('[sent 40]')) {
        socket.write(textFrame('40')) // engine.io open seen: join the default namespace
        seen += '[sent 40]'
      }
    }
  })
}
