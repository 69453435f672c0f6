/**
 * A `ws` WebSocketServer on an http.Server; with the argument `proxyproto`, the http server is prepared
 * by withProxyProtocol (built packages/node/dist, default options). Every message is answered with the
 * address the upgrade request came from (req.socket.remoteAddress).
 */
import http from 'node:http'
import { withProxyProtocol } from '@proxyproto/node'
import { WebSocketServer } from 'ws'
import { serve } from './serve.mjs'

const server = http.createServer((_req, res) => {
  res.writeHead(426).end()
})
if (process.argv[2] === 'proxyproto') withProxyProtocol(server)
const wss = new WebSocketServer({ server, perMessageDeflate: false })
wss.on('connection', (ws, req) => {
  const address = String(req.socket.remoteAddress)
  ws.on('error', () => {})
  ws.on('message', () => ws.send(address))
})
serve(server)
