#!/usr/bin/env node
// Express behind a TCP load balancer that sends the PROXY protocol (HAProxy send-proxy-v2, nginx stream
// proxy_protocol on, AWS NLB, ...): req.ip is the client, not the balancer.
import { getProxyInfo, proxyProtocol } from '@proxyproto/express'
import express from 'express'

// Settings from the environment. TRUST: who may send a PROXY header (your balancers' addresses: IPs,
// CIDRs, loopback, private, comma-separated); any other peer is refused.
const { PORT = '8080', HOST = '127.0.0.1', TRUST = 'loopback,private' } = process.env

const app = express()
const proxy = proxyProtocol({ trust: TRUST })
app.use(proxy) // sets req.proxyHeader, and refuses to run on a server that proxy.attach() did not prepare

app.get('/', (req, res) => {
  const { peer, header } = getProxyInfo(req) // peer: the balancer's own address
  console.log(`GET ${req.url} from ${req.ip}:${req.socket.remotePort} via ${peer.address}:${peer.port}`)
  res.json({
    ip: req.ip, // the client, with Express's default `trust proxy` (false)
    port: req.socket.remotePort, // the client's port
    balancer: peer.address,
    version: header?.version ?? null,
    proxyHeader: req.proxyHeader, // the parsed header, null for a LOCAL health check
  })
})

// The header must be taken off each connection before Node's HTTP parser reads it: attach the server.
const server = proxy.attach(
  app.listen(Number(PORT), HOST, (err) => {
    if (err) throw err
    const { address, port } = server.address()
    console.log(`listening on ${address.includes(':') ? `[${address}]` : address}:${port}`)
  }),
)
// Connections refused by proxyproto (an untrusted peer, no header, a bad header, a timeout).
server.on('proxyProtocolError', (err, _socket, peer) =>
  console.error(`refused ${peer?.address}: ${err.code}`),
)
