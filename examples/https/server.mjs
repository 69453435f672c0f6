#!/usr/bin/env node
// An https server behind a TCP load balancer that passes TLS through and sends the PROXY protocol first
// (HAProxy mode tcp + send-proxy-v2, nginx stream proxy_protocol on). Node terminates TLS; the header is
// taken off before the TLS handshake, and req.socket (the TLSSocket) reports the client.
import { readFileSync } from 'node:fs'
import https from 'node:https'
import { getProxyInfo, withProxyProtocol } from '@proxyproto/node'

// Settings from the environment. TRUST: who may send a PROXY header (your balancers' addresses: IPs,
// CIDRs, loopback, private, comma-separated); any other peer is refused.
const { PORT = '8443', HOST = '127.0.0.1', TRUST = 'loopback,private' } = process.env
// TLS_KEY, TLS_CERT: PEM files. The defaults are the repository's self-signed test certificate
// (CN=localhost, for trying this out only): use your real certificate and key.
const { TLS_KEY, TLS_CERT } = process.env
const key = readFileSync(TLS_KEY || new URL('../../test/fixtures/key.pem', import.meta.url))
const cert = readFileSync(TLS_CERT || new URL('../../test/fixtures/cert.pem', import.meta.url))

const server = https.createServer({ key, cert }, (req, res) => {
  const { peer, header } = getProxyInfo(req) // peer: the balancer's own address
  const ip = req.socket.remoteAddress // the client, on the TLSSocket too
  const port = req.socket.remotePort
  console.log(
    `${req.method} ${req.url} from ${ip}:${port} via ${peer.address}:${peer.port} (${req.socket.getProtocol()})`,
  )
  res.setHeader('content-type', 'application/json')
  res.end(
    JSON.stringify({
      ip,
      port,
      balancer: peer.address,
      version: header?.version ?? null,
      tls: req.socket.getProtocol(),
      servername: req.socket.servername || null,
    }),
  )
})

// The same in every server example on purpose: each is a whole program, to be read and copied on its own.
// Prepare the server: every connection must start with a PROXY header from a trusted balancer.
withProxyProtocol(server, { trust: TRUST })
// Connections refused by proxyproto (an untrusted peer, no header, a bad header, a timeout).
server.on('proxyProtocolError', (err, _socket, peer) =>
  console.error(`refused ${peer?.address}: ${err.code}`),
)

server.listen(Number(PORT), HOST, () => {
  const { address, port } = server.address()
  console.log(`listening on ${address.includes(':') ? `[${address}]` : address}:${port}`)
})
