#!/usr/bin/env node
// An HTTP/2 server (h2 over TLS, with ALPN; HTTP/1.1 clients too through allowHTTP1) behind a TCP load
// balancer that passes TLS through and sends the PROXY protocol first (HAProxy mode tcp + send-proxy-v2,
// nginx stream proxy_protocol on). Node terminates TLS and negotiates h2 itself; the header is taken off
// before the TLS handshake, and req.socket reports the client for h2 and HTTP/1.1 requests alike.
import { readFileSync } from 'node:fs'
import http2 from 'node:http2'
import { getProxyInfo, withProxyProtocol } from '@proxyproto/node'

// Settings from the environment. TRUST: who may send a PROXY header (your balancers' addresses: IPs,
// CIDRs, loopback, private, comma-separated); any other peer is refused.
const { PORT = '8444', HOST = '127.0.0.1', TRUST = 'loopback,private' } = process.env
// TLS_KEY, TLS_CERT: PEM files. The defaults are the repository's self-signed test certificate
// (CN=localhost, for trying this out only): use your real certificate and key.
const { TLS_KEY, TLS_CERT } = process.env
const key = readFileSync(TLS_KEY || new URL('../../test/fixtures/key.pem', import.meta.url))
const cert = readFileSync(TLS_CERT || new URL('../../test/fixtures/cert.pem', import.meta.url))

const server = http2.createSecureServer({ key, cert, allowHTTP1: true }, (req, res) => {
  // req is an Http2ServerRequest (h2) or an http.IncomingMessage (HTTP/1.1); both work the same here.
  const { peer, header } = getProxyInfo(req) // peer: the balancer's own address
  const ip = req.socket.remoteAddress // the client
  const port = req.socket.remotePort
  const alpn = req.socket.alpnProtocol
  console.log(
    `${req.method} ${req.url} HTTP/${req.httpVersion} from ${ip}:${port} via ${peer.address}:${peer.port}`,
  )
  res.setHeader('content-type', 'application/json')
  res.end(
    JSON.stringify({
      ip,
      port,
      balancer: peer.address,
      version: header?.version ?? null,
      httpVersion: req.httpVersion,
      alpn,
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
