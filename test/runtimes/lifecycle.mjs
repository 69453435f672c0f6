// Run under Node, Deno or Bun by test/helpers/runtime-suite.ts (not a test file): a prepared http.Server
// behaves as its users expect through listen(), address(), listening, 'listening', 'error', close() and
// stats, whichever path withProxyProtocol took (on Bun, the front listener). Prints one JSON line of
// observations; the test compares them with what Node's own http.Server does.
import { once } from 'node:events'
import http from 'node:http'
import net from 'node:net'
import { proxyProtocolStats, withProxyProtocol } from '@proxyproto/node'

const HOST = '127.0.0.1'
const seen = {}
const catching = (fn) => {
  try {
    fn()
    return 'no error'
  } catch (err) {
    return err.code ?? err.message
  }
}

const server = withProxyProtocol(
  http.createServer((req, res) => res.end(`${req.socket.remoteAddress}:${req.socket.remotePort}`)),
  { trust: [HOST] },
)
seen.listeningBefore = server.listening
seen.addressBefore = server.address()
seen.preparedTwice = catching(() => withProxyProtocol(server))

// listen(port, host, cb): cb is a 'listening' listener of the server itself, listen() returns the server
let cbThis
const returned = server.listen(0, HOST, function () {
  cbThis = this
})
seen.listenReturnsServer = returned === server
let listeningEvents = 0
server.on('listening', () => listeningEvents++)
await once(server, 'listening')
seen.callbackThisIsServer = cbThis === server
seen.listeningEvents = listeningEvents
seen.listeningAfter = server.listening
const { port, address, family } = server.address()
seen.address = { address, family, portIsNumber: port > 0 }

// A request with a header through a keep-alive connection, then the counters
const client = net.connect(port, HOST)
await once(client, 'connect')
client.write('PROXY TCP4 203.0.113.7 127.0.0.1 4567 80\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n')
const [reply] = await once(client, 'data')
seen.reply = reply.toString('latin1').split('\r\n\r\n')[1]
const stats = proxyProtocolStats(server)
seen.stats = { connections: stats?.connections, v1: stats?.accepted.v1 }

// listen({ port, host }) on a port already taken: 'error' on the server
const other = http.createServer()
withProxyProtocol(other, { trust: [HOST] })
const failed = once(other, 'error')
other.listen({ port, host: HOST })
seen.addressInUse = (await failed)[0].code

// close(cb): ends the idle keep-alive connection, then 'close' and the callback; close() again: ERR_SERVER_NOT_RUNNING
const clientClosed = once(client, 'close')
let closeEvents = 0
server.on('close', () => closeEvents++)
const closed = new Promise((resolve) => server.close((err) => resolve(err?.code ?? 'no error')))
seen.closeCallback = await closed
await clientClosed
seen.closeEvents = closeEvents
seen.listeningAfterClose = server.listening
seen.closeAgain = await new Promise((resolve) => server.close((err) => resolve(err?.code ?? 'no error')))

// Prepared after listen(): Node and Deno take it (their listener is a net.Server); on the front-listener path
// the server's own socket is already bound, so it is refused with a code rather than half-working.
const late = http.createServer()
late.listen(0, HOST)
seen.prepareAfterListen = catching(() => withProxyProtocol(late, { trust: [HOST] }))
late.close()

process.stdout.write(`${JSON.stringify({ lifecycle: seen })}\n`)
