#!/usr/bin/env node
// hapi behind a TCP load balancer that sends the PROXY protocol (HAProxy send-proxy-v2, nginx stream
// proxy_protocol on, AWS NLB, ...): request.info.remoteAddress is the client, not the balancer.
import Hapi from '@hapi/hapi'
import { getProxyInfo, withProxyProtocol } from '@proxyproto/node'

// Settings from the environment. TRUST: who may send a PROXY header (your balancers' addresses: IPs,
// CIDRs, loopback, private, comma-separated); any other peer is refused.
const { PORT = '8088', HOST = '127.0.0.1', TRUST = 'loopback,private' } = process.env

const server = Hapi.server({ port: Number(PORT), host: HOST })
// server.listener is hapi's http.Server, created with the server and not listening before start():
// prepare it here and the header is taken off each connection before Node's HTTP parser reads it.
withProxyProtocol(server.listener, { trust: TRUST })
// Connections refused by proxyproto (an untrusted peer, no header, a bad header, a timeout).
server.listener.on('proxyProtocolError', (err, _socket, peer) =>
  console.error(`refused ${peer?.address}: ${err.code}`),
)

server.route({
  method: 'GET',
  path: '/',
  handler(request) {
    const { remoteAddress, remotePort } = request.info // the client: hapi reads req.socket
    const { peer, header } = getProxyInfo(request.raw.req) // peer: the balancer's own address
    console.log(`GET ${request.path} from ${remoteAddress}:${remotePort} via ${peer.address}:${peer.port}`)
    return { ip: remoteAddress, port: remotePort, balancer: peer.address, version: header?.version ?? null }
  },
})

await server.start()
const { address, port } = server.listener.address()
console.log(`listening on ${address.includes(':') ? `[${address}]` : address}:${port}`)
