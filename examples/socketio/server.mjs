#!/usr/bin/env node
// socket.io behind a TCP load balancer that sends the PROXY protocol (HAProxy send-proxy-v2, nginx stream
// proxy_protocol on, AWS NLB): prepare the http.Server socket.io runs on, and socket.handshake.address is
// the client, for long-polling and WebSocket alike. Open http://HOST:PORT/ through the balancer to see it.
import http from 'node:http'
import { withProxyProtocol } from '@proxyproto/node'
import { Server } from 'socket.io'

// Settings from the environment. TRUST: who may send a PROXY header (your balancers' addresses: IPs,
// CIDRs, loopback, private, comma-separated); any other peer is refused.
const { PORT = '8083', HOST = '127.0.0.1', TRUST = 'loopback,private' } = process.env

const page = `<!doctype html><title>proxyproto + socket.io</title><pre id="out">connecting…</pre>
<script src="/socket.io/socket.io.js"></script>
<script>
const socket = io()
socket.on('hello', (m) => { document.getElementById('out').textContent = 'socket.io sees you as ' + m.ip + ':' + m.port })
</script>`

// socket.io answers /socket.io/ itself; everything else gets the page.
const httpServer = http.createServer((_req, res) => res.setHeader('content-type', 'text/html').end(page))
// Prepare the server: every connection (each polling request's and the WebSocket's) starts with a header.
withProxyProtocol(httpServer, { trust: TRUST })
// Connections refused by proxyproto (an untrusted peer, no header, a bad header, a timeout).
httpServer.on('proxyProtocolError', (err, _socket, peer) =>
  console.error(`refused ${peer?.address}: ${err.code}`),
)

const io = new Server(httpServer)
io.on('connection', (socket) => {
  const ip = socket.handshake.address // the client, not the balancer
  const port = socket.request.socket.remotePort
  console.log(`connected ${ip}:${port} (${socket.conn.transport.name})`)
  socket.emit('hello', { ip, port })
  // A round trip: the client emits 'whoami' with an acknowledgement callback.
  socket.on('whoami', (ack) => {
    console.log(`whoami from ${ip}:${port} (${socket.conn.transport.name})`)
    if (typeof ack === 'function') ack({ ip, port, transport: socket.conn.transport.name })
  })
  socket.on('disconnect', (reason) => console.log(`disconnected ${ip}:${port} (${reason})`))
})

httpServer.listen(Number(PORT), HOST, () => {
  const { address, port } = httpServer.address()
  console.log(`listening on ${address.includes(':') ? `[${address}]` : address}:${port}`)
})
