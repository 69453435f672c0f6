/**
 * The framework adapters behind real load balancers.
 *
 *   client socket bound to 127.0.0.23 --> HAProxy / nginx stream on 127.0.0.1 --PROXY header-->
 *       Express / Fastify / ws app on 127.0.0.1
 *
 * The app must report 127.0.0.23 (the client), never 127.0.0.1 (the balancer), on every request of a
 * keep-alive connection; HAProxy's v2 health checks (LOCAL) must report the balancer.
 */
import { once } from 'node:events'
import net from 'node:net'
import { getProxyInfo, proxyProtocol } from '@proxyproto/express'
import fastifyProxyProtocol from '@proxyproto/fastify'
import type { ProxyInfo } from '@proxyproto/node'
import { WebSocketServer } from '@proxyproto/ws'
import express from 'express'
import Fastify from 'fastify'
import { expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { responses } from './helpers/adapter-client.js'
import { describePeer, freePort, haproxyGlobal, type PeerProcess, startHaproxy, startNginx } from './helpers/peers.js'
import { BALANCER_ADDRESS, CLIENT_ADDRESS, closeServer, connect, waitFor } from './helpers/sockets.js'


/** What a handler saw. */
interface Seen {
  path: string
  /** req.socket.remoteAddress */
  address: string | undefined
  /** The framework's own idea of the client (req.ip / request.ip); the socket address for ws. */
  ip: string | undefined
  header: { version: number; command: string } | null
  crc32c: boolean
  uniqueId: boolean
}

function see(path: string, address: string | undefined, ip: string | undefined, proxyHeader: unknown, info: ProxyInfo | undefined): Seen {
  const header = proxyHeader as { version: number; command: string } | null | undefined
  return {
    path,
    address,
    ip,
    header: header ? { version: header.version, command: header.command } : null,
    crc32c: info?.tlvs.crc32c !== undefined,
    uniqueId: info?.tlvs.uniqueId !== undefined,
  }
}

interface RunningApp {
  port: number
  /** What the handler saw on /health requests (the balancer's health checks). */
  health: Seen[]
  close(): Promise<void>
}

interface Adapter {
  name: string
  start(): Promise<RunningApp>
  /** Sends `count` requests (or messages) on one connection to the balancer, from CLIENT_ADDRESS. */
  exchange(balancerPort: number, count: number): Promise<Seen[]>
  /** HAProxy `http-check send` arguments for this app's health endpoint. */
  healthCheck: string
  healthStatus: number
}

// ---------------------------------------------------------------------------------------------
// Clients

/** HTTP/1.1 keep-alive requests on one raw connection, read one response at a time. */
async function httpExchange(balancerPort: number, count: number): Promise<Seen[]> {
  const socket = await connect(balancerPort, CLIENT_ADDRESS)
  try {
    const next = responses(socket)
    const results: Seen[] = []
    for (let i = 0; i < count; i++) {
      socket.write(`GET /req-${i} HTTP/1.1\r\nHost: app\r\n\r\n`)
      const { status, body } = await next()
      expect(status).toBe(200)
      results.push(JSON.parse(body) as Seen)
    }
    return results
  } finally {
    socket.destroy()
  }
}

/** One WebSocket through the balancer; the server answers the upgrade and then each message. */
async function wsExchange(balancerPort: number, count: number): Promise<Seen[]> {
  const ws = new WebSocket(`ws://127.0.0.1:${balancerPort}/chat`, {
    createConnection: () => net.connect({ host: '127.0.0.1', port: balancerPort, localAddress: CLIENT_ADDRESS }),
  })
  try {
    const results: Seen[] = []
    const next = (): Promise<Seen> =>
      Promise.race([
        once(ws, 'message').then(([data]) => JSON.parse(String(data)) as Seen),
        once(ws, 'error').then(([err]) => Promise.reject(err)),
        once(ws, 'close').then(() => Promise.reject(new Error(`closed after ${results.length} messages`))),
      ])
    results.push(await next())
    for (let i = 1; i < count; i++) {
      ws.send(`message ${i}`)
      results.push(await next())
    }
    return results
  } finally {
    ws.terminate()
  }
}

// ---------------------------------------------------------------------------------------------
// Apps

/** How the HTTP adapters (Express, Fastify) are asked and health-checked. */
const HTTP_EXCHANGE = {
  exchange: httpExchange,
  healthCheck: 'meth GET uri /health ver HTTP/1.1 hdr Host app',
  healthStatus: 200,
} satisfies Partial<Adapter>

const expressAdapter: Adapter = {
  name: '@proxyproto/express',
  async start() {
    const health: Seen[] = []
    const proxy = proxyProtocol()
    const app = express()
    app.use(proxy)
    app.use((req, res) => {
      const seen = see(req.path, req.socket.remoteAddress, req.ip, req.proxyHeader, getProxyInfo(req))
      if (req.path === '/health') health.push(seen)
      res.json(seen)
    })
    const server = proxy.attach(app.listen(0, '127.0.0.1'))
    await once(server, 'listening')
    return {
      port: (server.address() as net.AddressInfo).port,
      health,
      close: () => closeServer(server),
    }
  },
  ...HTTP_EXCHANGE,
}

const fastifyAdapter: Adapter = {
  name: '@proxyproto/fastify',
  async start() {
    const health: Seen[] = []
    const app = Fastify({ forceCloseConnections: true })
    await app.register(fastifyProxyProtocol)
    app.get('/*', async (request) => {
      const seen = see(request.url, request.socket.remoteAddress, request.ip, request.proxyHeader, getProxyInfo(request.raw))
      if (request.url === '/health') health.push(seen)
      return seen
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    return { port: (app.server.address() as net.AddressInfo).port, health, close: () => app.close() }
  },
  ...HTTP_EXCHANGE,
}

const wsAdapter: Adapter = {
  name: '@proxyproto/ws',
  async start() {
    const health: Seen[] = []
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', proxyProtocol: {} })
    wss.on('connection', (ws, req) => {
      const now = (): Seen =>
        see(req.url ?? '', req.socket.remoteAddress, req.socket.remoteAddress, req.proxyHeader, getProxyInfo(req))
      if (req.url === '/health') health.push(now())
      ws.send(JSON.stringify(now()))
      ws.on('message', () => ws.send(JSON.stringify(now())))
    })
    await once(wss, 'listening')
    return {
      port: (wss.address() as net.AddressInfo).port,
      health,
      close: () =>
        new Promise<void>((resolve) => {
          for (const client of wss.clients) client.terminate()
          wss.close(() => resolve())
        }),
    }
  },
  exchange: wsExchange,
  healthCheck:
    'meth GET uri /health ver HTTP/1.1 hdr Host app hdr Upgrade websocket hdr Connection Upgrade ' +
    'hdr Sec-WebSocket-Key dGhlIHNhbXBsZSBub25jZQ== hdr Sec-WebSocket-Version 13',
  healthStatus: 101,
}

// ---------------------------------------------------------------------------------------------
// Balancers

function haproxyConfig(adapter: Adapter, balancerPort: number, appPort: number, server: string): string {
  return [
    haproxyGlobal(),
    'frontend fe',
    `  bind 127.0.0.1:${balancerPort}`,
    '  unique-id-format %ci:%cp_%fi:%fp_%Ts_%rt',
    '  default_backend app',
    '',
    'backend app',
    '  option httpchk',
    `  http-check send ${adapter.healthCheck}`,
    `  http-check expect status ${adapter.healthStatus}`,
    `  server app 127.0.0.1:${appPort} ${server} check check-send-proxy inter 200ms`,
    '',
  ].join('\n')
}

async function withApp(adapter: Adapter, balancer: (appPort: number, balancerPort: number) => Promise<PeerProcess>, fn: (app: RunningApp, balancerPort: number) => Promise<void>): Promise<void> {
  const app = await adapter.start()
  let peer: PeerProcess | undefined
  try {
    const balancerPort = await freePort()
    peer = await balancer(app.port, balancerPort)
    await fn(app, balancerPort)
  } finally {
    await peer?.stop()
    await app.close()
  }
}

const adapters = [expressAdapter, fastifyAdapter, wsAdapter]
const REQUESTS = 3

for (const adapter of adapters) {
  describePeer(`${adapter.name} behind HAProxy`, ['haproxy'], () => {
    it('sees the client (127.0.0.23) on every keep-alive request with send-proxy (v1)', async () => {
      await withApp(
        adapter,
        (appPort, port) => startHaproxy(haproxyConfig(adapter, port, appPort, 'send-proxy')),
        async (_app, port) => {
          const seen = await adapter.exchange(port, REQUESTS)
          expect(seen).toHaveLength(REQUESTS)
          for (const s of seen) {
            expect(s).toMatchObject({ address: CLIENT_ADDRESS, ip: CLIENT_ADDRESS, header: { version: 1, command: 'PROXY' } })
          }
        },
      )
    })

    it('sees the client on every keep-alive request with send-proxy-v2 and authority,unique-id,crc32c', async () => {
      await withApp(
        adapter,
        (appPort, port) =>
          startHaproxy(haproxyConfig(adapter, port, appPort, 'send-proxy-v2 proxy-v2-options authority,unique-id,crc32c')),
        async (_app, port) => {
          const seen = await adapter.exchange(port, REQUESTS)
          expect(seen).toHaveLength(REQUESTS)
          for (const s of seen) {
            expect(s).toMatchObject({
              address: CLIENT_ADDRESS,
              ip: CLIENT_ADDRESS,
              header: { version: 2, command: 'PROXY' },
              crc32c: true,
              uniqueId: true,
            })
          }
        },
      )
    })

    it("sees the balancer's own address and a null proxyHeader on HAProxy's v2 LOCAL health checks", async () => {
      await withApp(
        adapter,
        (appPort, port) => startHaproxy(haproxyConfig(adapter, port, appPort, 'send-proxy-v2 proxy-v2-options crc32c')),
        async (app) => {
          await waitFor(() => app.health.length > 0, 'a health check')
          expect(app.health[0]).toMatchObject({ path: '/health', address: BALANCER_ADDRESS, ip: BALANCER_ADDRESS, header: null })
        },
      )
    })
  })

  describePeer(`${adapter.name} behind nginx (stream, proxy_protocol on)`, ['nginx'], () => {
    it('sees the client (127.0.0.23) on every keep-alive request', async () => {
      await withApp(
        adapter,
        (appPort, port) =>
          startNginx(
            ['  server {', `    listen 127.0.0.1:${port};`, `    proxy_pass 127.0.0.1:${appPort};`, '    proxy_protocol on;', '  }'].join('\n'),
          ),
        async (_app, port) => {
          const seen = await adapter.exchange(port, REQUESTS)
          expect(seen).toHaveLength(REQUESTS)
          for (const s of seen) {
            expect(s).toMatchObject({ address: CLIENT_ADDRESS, ip: CLIENT_ADDRESS, header: { version: 1, command: 'PROXY' } })
          }
        },
      )
    })
  })
}
