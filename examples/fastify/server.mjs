#!/usr/bin/env node
// Fastify behind a TCP load balancer that sends the PROXY protocol (HAProxy send-proxy-v2, nginx stream
// proxy_protocol on, AWS NLB, ...): request.ip is the client, not the balancer, without trustProxy.
import proxyProtocol, { getProxyInfo } from '@proxyproto/fastify'
import Fastify from 'fastify'

// Settings from the environment. TRUST: who may send a PROXY header (your balancers' addresses: IPs,
// CIDRs, loopback, private, comma-separated); any other peer is refused.
const { PORT = '8081', HOST = '127.0.0.1', TRUST = 'loopback,private' } = process.env

const fastify = Fastify()
// Prepares fastify.server: the header is taken off each connection before Node's HTTP parser reads it.
await fastify.register(proxyProtocol, { trust: TRUST })
// Connections refused by proxyproto (an untrusted peer, no header, a bad header, a timeout).
fastify.server.on('proxyProtocolError', (err, _socket, peer) =>
  console.error(`refused ${peer?.address}: ${err.code}`),
)

fastify.get('/', async (request) => {
  const { peer, header } = getProxyInfo(request.raw) // peer: the balancer's own address
  console.log(
    `GET ${request.url} from ${request.ip}:${request.socket.remotePort} via ${peer.address}:${peer.port}`,
  )
  return {
    ip: request.ip, // the client
    port: request.socket.remotePort, // the client's port
    balancer: peer.address,
    version: header?.version ?? null,
    proxyHeader: request.proxyHeader, // the parsed header, null for a LOCAL health check
  }
})

await fastify.listen({ port: Number(PORT), host: HOST })
const { address, port } = fastify.server.address()
console.log(`listening on ${address.includes(':') ? `[${address}]` : address}:${port}`)
