#!/usr/bin/env node
// The proxyproto demo: an Express + WebSocket server behind a local load balancer that sends PROXY
// headers. A client connects from 127.0.0.23; the server sees the balancer (127.0.0.1) as its TCP peer,
// and, with proxyproto, the client. Everything runs in this process on loopback; no external service.
//   npm run demo            prints the comparison and exits
//   npm run demo -- --keep  leaves the server and the balancer running (open the printed URL)
import http from 'node:http'
import { parseArgs } from 'node:util'
import { startRelay } from '@proxyproto/cli'
import { proxyProtocol } from '@proxyproto/express'
import { getProxyInfo } from '@proxyproto/node'
import { WebSocketServer } from '@proxyproto/ws'
import express from 'express'
import { WebSocket } from 'ws'

const { values: args } = parseArgs({
  options: {
    keep: { type: 'boolean', default: false },
    send: { type: 'string', default: 'v2' },
    client: { type: 'string', default: '127.0.0.23' },
  },
})

// The server: Express for HTTP, ws for WebSockets, both on one prepared http.Server.
const app = express()
const proxy = proxyProtocol({ trust: ['loopback'] })
app.use(proxy)
app.get('/whoami', (req, res) => {
  const info = getProxyInfo(req)
  res.json({ ip: req.ip, balancer: info.peer.address, balancerPort: info.peer.port, port: req.socket.remotePort, header: req.proxyHeader })
})
app.get('/', (_req, res) => {
  res.type('html').send(`<!doctype html><title>proxyproto demo</title>
<h1>proxyproto demo</h1><pre id="http">…</pre><pre id="ws">…</pre>
<script>
fetch('/whoami').then(r => r.json()).then(j => { document.getElementById('http').textContent = 'HTTP: you are ' + j.ip + ' (the balancer is ' + j.balancer + ')' })
const ws = new WebSocket(location.origin.replace('http', 'ws'))
ws.onmessage = (e) => { const j = JSON.parse(e.data); document.getElementById('ws').textContent = 'WebSocket: you are ' + j.ip + ' (the balancer is ' + j.balancer + ')' }
</script>`)
})
const server = proxy.attach(http.createServer(app))
const wss = new WebSocketServer({ server, proxyProtocol: { trust: ['loopback'] } })
wss.on('connection', (ws, req) => {
  const info = getProxyInfo(req)
  ws.send(JSON.stringify({ ip: req.socket.remoteAddress, port: req.socket.remotePort, balancer: info.peer.address, balancerPort: info.peer.port }))
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const serverPort = server.address().port

// The local load balancer: a TCP relay that writes a PROXY header for each client.
const relay = await startRelay({ listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: serverPort }, send: args.send })
const lb = `127.0.0.1:${relay.port}`

// The clients, bound to a distinct loopback address so the client can be told from the balancer.
// Linux answers on all of 127.0.0.0/8; macOS configures only 127.0.0.1 on lo0, so the bind fails there
// until the address is added: say how, in one line, rather than with a stack trace.
const cannotBind = (err) => {
  if (err?.code !== 'EADDRNOTAVAIL') throw err
  console.error(
    `error EADDRNOTAVAIL: cannot bind the client to ${args.client}; on macOS add it to the loopback interface first: sudo ifconfig lo0 alias ${args.client}`,
  )
  process.exit(1)
}
const agent = new http.Agent({ localAddress: args.client })
const httpSeen = await new Promise((resolve, reject) => {
  http
    .get({ host: '127.0.0.1', port: relay.port, path: '/whoami', agent }, (res) => {
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve(JSON.parse(body)))
    })
    .on('error', reject)
}).catch(cannotBind)
const wsSeen = await new Promise((resolve, reject) => {
  const ws = new WebSocket(`ws://${lb}/`, { localAddress: args.client })
  ws.on('message', (data) => {
    resolve(JSON.parse(data.toString()))
    ws.close()
  })
  ws.on('error', reject)
}).catch(cannotBind)
agent.destroy()

const row = (what, seen) => [what, `${seen.balancer}:${seen.balancerPort}`, `${seen.ip}:${seen.port}`]
const rows = [['', 'without PROXY protocol', `with PROXY protocol (${args.send})`], row('HTTP GET /whoami', httpSeen), row('WebSocket', wsSeen)]
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
console.log(`\nclient ${args.client} → load balancer ${lb} → server 127.0.0.1:${serverPort}\n`)
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i])).join('   '))
console.log(`\nWithout it the server sees the balancer; with it, req.ip, req.socket.remoteAddress and the`)
console.log(`WebSocket upgrade request report the client (${args.client}), with no change to the handlers.`)

const ok = httpSeen.ip === args.client && wsSeen.ip === args.client
if (!ok) {
  console.error('\nunexpected: the server did not see the client address')
  process.exitCode = 1
}
if (args.keep && ok) {
  console.log(`\nrunning: open http://${lb}/ (through the balancer) — Ctrl-C to stop`)
  const stop = async () => {
    await relay.close()
    wss.close()
    server.close()
    server.closeAllConnections()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
} else {
  await relay.close()
  wss.close()
  server.closeAllConnections()
  server.close()
}
