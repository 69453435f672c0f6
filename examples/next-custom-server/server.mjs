#!/usr/bin/env node
// A Next.js-style custom server behind a TCP load balancer that sends the PROXY protocol (HAProxy
// send-proxy-v2, nginx stream proxy_protocol on, AWS NLB, ...): your own http.createServer hands every
// request to the framework's handler, so prepare that server and the handler's req.socket is the client.
//
// With Next.js the handler comes from `next`:
//   import next from 'next'
//   const app = next({ dev: false }); const handle = app.getRequestHandler(); await app.prepare()
// Here `./app.mjs` stands in for it (same shape: a prepare() and a (req, res) handler), so this example
// runs without installing Next.
import http from 'node:http'
import { withProxyProtocol } from '@proxyproto/node'
import { createApp } from './app.mjs'

// Settings from the environment. TRUST: who may send a PROXY header (your balancers' addresses: IPs,
// CIDRs, loopback, private, comma-separated); any other peer is refused.
const { PORT = '8089', HOST = '127.0.0.1', TRUST = 'loopback,private' } = process.env

const app = createApp()
const handle = app.getRequestHandler()
await app.prepare()

// The custom server: the header is taken off each connection before Node's HTTP parser reads it, so
// everything downstream (the framework, its middleware, your pages) sees the client in req.socket.
const server = withProxyProtocol(
  http.createServer((req, res) => handle(req, res)),
  { trust: TRUST },
)
// Connections refused by proxyproto (an untrusted peer, no header, a bad header, a timeout).
server.on('proxyProtocolError', (err, _socket, peer) =>
  console.error(`refused ${peer?.address}: ${err.code}`),
)
server.listen(Number(PORT), HOST, () => {
  const { address, port } = server.address()
  console.log(`listening on ${address.includes(':') ? `[${address}]` : address}:${port}`)
})
