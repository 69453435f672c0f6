// One process, run under Node, Deno or Bun by test/helpers/runtime-suite.ts (not a test file): a server
// for every cell of the README's runtime table (net, http, https, http2 h2c + h2, Express, Fastify, ws in
// `port` and `server` mode), each prepared for the PROXY protocol with the same options and answering
// with what its handler saw. Runs the built packages, as a user of that runtime would.
//
// stdout, one JSON object per line: {"ready": {cell: port | {refused: code}}, "runtime": "..."} once, then
// {"error": code, "cell": name} for every 'proxyProtocolError'. A request for /stats answers the counters.
import { readFileSync } from 'node:fs'
import http from 'node:http'
import http2 from 'node:http2'
import https from 'node:https'
import net from 'node:net'
import tlsModule from 'node:tls'
import { proxyProtocol as expressProxy } from '@proxyproto/express'
import fastifyProxy from '@proxyproto/fastify'
import { getProxyInfo, proxyProtocolStats, withProxyProtocol } from '@proxyproto/node'
import { WebSocketServer } from '@proxyproto/ws'
import express from 'express'
import Fastify from 'fastify'

const HOST = '127.0.0.1'
const options = { trust: ['127.0.0.1'], headerTimeout: 1000 }
const tls = {
  key: readFileSync(new URL('../fixtures/key.pem', import.meta.url)),
  cert: readFileSync(new URL('../fixtures/cert.pem', import.meta.url)),
}
const runtime = globalThis.Bun
  ? `bun ${globalThis.Bun.version}`
  : globalThis.Deno
    ? `deno ${globalThis.Deno.version.deno}`
    : `node ${process.versions.node}`
const print = (o) => process.stdout.write(`${JSON.stringify(o)}\n`)

/** What a handler saw: the socket's address, the header, TLVs (see test/helpers/report.ts for Node's own suites). */
function report(socket, target, extra) {
  const info = getProxyInfo(target)
  const t = info?.tlvs
  return {
    address: socket.remoteAddress,
    port: socket.remotePort,
    version: info?.header?.version,
    command: info?.header?.command,
    crc32c: t?.crc32c !== undefined,
    uniqueId: t?.uniqueId === undefined ? undefined : Buffer.from(t.uniqueId).toString('latin1'),
    // Which hand-off ran, as seen from the socket: the public path shadows remoteAddress with an own accessor
    // and never replaces push(); a Node-internal fast path (setting _peername, a push() hook) leaves traces
    // the other way round. Deno and Bun must get the public path (issue 15, item 6).
    handoff: {
      addressAccessor: typeof Object.getOwnPropertyDescriptor(socket, 'remoteAddress')?.get === 'function',
      pushHook: Object.hasOwn(socket, 'push'),
    },
    ...extra,
  }
}

const servers = {}
const ready = {}

function answer(cell, server) {
  return (req, res) => {
    const body = req.url === '/stats' ? proxyProtocolStats(server) : report(req.socket, req, { cell })
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(body))
  }
}

/** Prepares a server of a cell; records the coded refusal when the runtime cannot serve it (never half-working). */
function prepare(cell, make) {
  try {
    const server = make()
    servers[cell] = server
    return server
  } catch (err) {
    if (!err?.code?.startsWith?.('ERR_PROXY_')) throw err
    ready[cell] = { refused: err.code }
    return undefined
  }
}

function listening(cell, server, listen = (cb) => server.listen(0, HOST, cb)) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    listen(() => {
      ready[cell] = server.address().port
      resolve()
    })
  })
}

function watch(cell, server) {
  server.on('proxyProtocolError', (err) => print({ error: err.code, cell }))
}

// net: one JSON line per line received (keep-alive for a plain TCP protocol)
const netServer = prepare('net', () =>
  withProxyProtocol(
    net.createServer((socket) => {
      socket.on('error', () => {})
      socket.setEncoding('utf8')
      socket.on('data', (d) => {
        for (const _line of d.split('\n').slice(1))
          socket.write(`${JSON.stringify(report(socket, socket, { cell: 'net' }))}\n`)
      })
    }),
    options,
  ),
)

// tls: the same over TLS (on Bun a TLS server whose listen() runs TLS natively: the front listener)
const tlsServer = prepare('tls', () =>
  withProxyProtocol(
    tlsModule.createServer(tls, (socket) => {
      socket.on('error', () => {})
      socket.setEncoding('utf8')
      socket.on('data', (d) => {
        for (const _line of d.split('\n').slice(1))
          socket.write(`${JSON.stringify(report(socket, socket, { cell: 'tls' }))}\n`)
      })
    }),
    options,
  ),
)

const httpServer = prepare('http', () => {
  const s = http.createServer()
  s.on('request', answer('http', s))
  return withProxyProtocol(s, options)
})

const httpsServer = prepare('https', () => {
  const s = https.createServer(tls)
  s.on('request', answer('https', s))
  return withProxyProtocol(s, options)
})

const h2cServer = prepare('h2c', () => {
  const s = http2.createServer()
  s.on('request', answer('h2c', s))
  return withProxyProtocol(s, options)
})

const h2Server = prepare('h2', () => {
  const s = http2.createSecureServer({ ...tls, allowHTTP1: false })
  s.on('request', answer('h2', s))
  return withProxyProtocol(s, options)
})

// https/1.1 from an h2 server with allowHTTP1: the https that Bun serves (its https.Server is refused)
const h2Http1Server = prepare('h2-http1', () => {
  const s = http2.createSecureServer({ ...tls, allowHTTP1: true })
  s.on('request', answer('h2-http1', s))
  return withProxyProtocol(s, options)
})

// Express: app.use(proxy) + proxy.attach(http.createServer(app)) (the form every runtime supports)
const app = express()
const proxy = expressProxy(options)
app.use(proxy)
app.get('/', (req, res) =>
  res.json(
    report(req.socket, req, { cell: 'express', ip: req.ip, proxyHeader: req.proxyHeader?.version ?? null }),
  ),
)
const expressServer = prepare('express', () => proxy.attach(http.createServer(app)))
if (expressServer) app.get('/stats', (_req, res) => res.json(proxyProtocolStats(expressServer)))

// Fastify: the plugin prepares fastify.server
const fastify = Fastify()
await fastify.register(fastifyProxy, options)
fastify.get('/', (request) =>
  report(request.raw.socket, request.raw, {
    cell: 'fastify',
    ip: request.ip,
    proxyHeader: request.proxyHeader?.version ?? null,
  }),
)
fastify.get('/stats', () => proxyProtocolStats(fastify.server))
servers.fastify = fastify.server

// ws, `port` mode: the adapter creates and prepares its own http server
const wssPort = new WebSocketServer({ port: 0, host: HOST, proxyProtocol: options })
wssPort.on('connection', (ws, req) =>
  ws.send(
    JSON.stringify(
      report(req.socket, req, { cell: 'ws-port', proxyHeader: req.proxyHeader?.version ?? null }),
    ),
  ),
)

// ws, `server` mode: the adapter prepares the server it is given
const wsHttp = http.createServer((_req, res) => res.end('upgrade required'))
const wssServer = new WebSocketServer({ server: wsHttp, proxyProtocol: options })
wssServer.on('connection', (ws, req) =>
  ws.send(
    JSON.stringify(
      report(req.socket, req, { cell: 'ws-server', proxyHeader: req.proxyHeader?.version ?? null }),
    ),
  ),
)
servers['ws-server'] = wsHttp

for (const [cell, server] of Object.entries(servers)) watch(cell, server)
// ws `port` mode: its own server is internal; its refusals are counted, and logged through wsClientError
await Promise.all([
  netServer && listening('net', netServer),
  tlsServer && listening('tls', tlsServer),
  httpServer && listening('http', httpServer),
  httpsServer && listening('https', httpsServer),
  h2cServer && listening('h2c', h2cServer),
  h2Server && listening('h2', h2Server),
  h2Http1Server && listening('h2-http1', h2Http1Server),
  expressServer && listening('express', expressServer),
  fastify.listen({ port: 0, host: HOST }).then(() => {
    ready.fastify = fastify.server.address().port
  }),
  new Promise((resolve, reject) => {
    wssPort.once('error', reject)
    wssPort.once('listening', () => {
      ready['ws-port'] = wssPort.address().port
      resolve()
    })
  }),
  listening('ws-server', wsHttp),
])
print({ ready, runtime })
