#!/usr/bin/env node
// Koa behind a TCP load balancer that sends the PROXY protocol (HAProxy send-proxy-v2, nginx stream
// proxy_protocol on, AWS NLB, ...): ctx.ip is the client, not the balancer, with Koa's default
// `app.proxy = false` (no X-Forwarded-For involved).
import http from 'node:http'
import { getProxyInfo, withProxyProtocol } from '@proxyproto/node'
import Koa from 'koa'

// Settings from the environment. TRUST: who may send a PROXY header (your balancers' addresses: IPs,
// CIDRs, loopback, private, comma-separated); any other peer is refused.
const { PORT = '8085', HOST = '127.0.0.1', TRUST = 'loopback,private' } = process.env

const app = new Koa()
app.use((ctx) => {
  const { peer, header } = getProxyInfo(ctx.req) // peer: the balancer's own address
  console.log(`GET ${ctx.path} from ${ctx.ip}:${ctx.socket.remotePort} via ${peer.address}:${peer.port}`)
  ctx.body = {
    ip: ctx.ip, // the client: Koa reads ctx.socket.remoteAddress
    port: ctx.socket.remotePort, // the client's port
    balancer: peer.address,
    version: header?.version ?? null,
  }
})

// The header must be taken off each connection before Node's HTTP parser reads it: prepare the server
// Koa's callback is served by. (app.listen() creates one too: withProxyProtocol(app.listen(...)) works.)
const server = withProxyProtocol(http.createServer(app.callback()), { trust: TRUST })
// Connections refused by proxyproto (an untrusted peer, no header, a bad header, a timeout).
server.on('proxyProtocolError', (err, _socket, peer) =>
  console.error(`refused ${peer?.address}: ${err.code}`),
)
server.listen(Number(PORT), HOST, () => {
  const { address, port } = server.address()
  console.log(`listening on ${address.includes(':') ? `[${address}]` : address}:${port}`)
})
