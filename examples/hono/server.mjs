#!/usr/bin/env node
// Hono on Node (@hono/node-server) behind a TCP load balancer that sends the PROXY protocol (HAProxy
// send-proxy-v2, nginx stream proxy_protocol on, AWS NLB): prepare the server serve() returns, and
// getConnInfo(c) (or c.env.incoming.socket.remoteAddress) is the client, not the balancer.
import { serve } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import { getProxyInfo, withProxyProtocol } from '@proxyproto/node'
import { Hono } from 'hono'

// Settings from the environment. TRUST: who may send a PROXY header (your balancers' addresses: IPs,
// CIDRs, loopback, private, comma-separated); any other peer is refused.
const { PORT = '8084', HOST = '127.0.0.1', TRUST = 'loopback,private' } = process.env

const app = new Hono()
app.get('/', (c) => {
  const { remote } = getConnInfo(c) // the client: reads c.env.incoming.socket.remoteAddress
  const { peer, header } = getProxyInfo(c.env.incoming) // peer: the balancer's own address
  console.log(`GET ${c.req.path} from ${remote.address}:${remote.port} via ${peer.address}:${peer.port}`)
  return c.json({
    ip: remote.address,
    port: remote.port,
    balancer: peer.address,
    version: header?.version ?? null,
  })
})

// serve() creates the http.Server and starts listening; preparing it right after is safe, since no
// connection is handled before this line has run. (Or: withProxyProtocol(createAdaptorServer({ fetch })).listen(...))
const server = serve({ fetch: app.fetch, port: Number(PORT), hostname: HOST }, ({ address, port }) => {
  console.log(`listening on ${address.includes(':') ? `[${address}]` : address}:${port}`)
})
withProxyProtocol(server, { trust: TRUST })
// Connections refused by proxyproto (an untrusted peer, no header, a bad header, a timeout).
server.on('proxyProtocolError', (err, _socket, peer) =>
  console.error(`refused ${peer?.address}: ${err.code}`),
)
