/**
 * The runtime suite (not a test file): every cell of the README's runtime table, run under one runtime
 * (Node, Deno or Bun) behind one real HAProxy. test/runtimes/app.mjs serves every cell in one process
 * under that runtime; the clients here run in the test's Node and connect from 127.0.0.23 through
 * HAProxy (`send-proxy`, and `send-proxy-v2` with the crc32c and unique-id TLVs), so the handler can only
 * know the client from the header.
 */
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import http from 'node:http'
import http2 from 'node:http2'
import https from 'node:https'
import net from 'node:net'
import tls from 'node:tls'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { startHaproxyOnFreePorts } from './balancers.js'
import { haproxyGlobal, type PeerProcess, waitForPort } from './peers.js'
import {
  describeRuntime,
  ROOT,
  type JsonChild,
  type RuntimeName,
  runtimeArgs,
  runtimeTestArgs,
  startJsonChild,
} from './runtimes.js'
import { CLIENT_ADDRESS } from './sockets.js'

/** The table's columns; each is one or more servers in app.mjs. */
export const CELLS = ['net', 'http', 'https', 'http2', 'express', 'fastify', 'ws', 'relay'] as const
export type Cell = (typeof CELLS)[number]
/** The servers app.mjs starts (http2 is h2c, h2, and https/1.1 from an h2 server with allowHTTP1; ws is its `port` and `server` modes). */
const SERVERS = [
  'net',
  'tls',
  'http',
  'https',
  'h2c',
  'h2',
  'h2-http1',
  'express',
  'fastify',
  'ws-port',
  'ws-server',
] as const
type Server = (typeof SERVERS)[number]
/** The table column each server belongs to. */
export const SERVER_CELL: Record<Server, Cell> = {
  net: 'net',
  tls: 'net',
  http: 'http',
  https: 'https',
  h2c: 'http2',
  h2: 'http2',
  'h2-http1': 'http2',
  express: 'express',
  fastify: 'fastify',
  'ws-port': 'ws',
  'ws-server': 'ws',
}

/**
 * What each runtime cannot do, with the code that proves it is refused rather than half-working.
 * The README's runtime table says the same (a test compares them).
 */
export const REFUSED: Record<RuntimeName, Partial<Record<Server, string>>> = {
  node: {},
  deno: {},
  // Bun 1's https.Server serves an injected socket without TLS (checked on 1.4.5).
  bun: { https: 'ERR_PROXY_UNSUPPORTED_SERVER' },
}

/** withProxyProtocol on an http.Server that already listens: fine on a net.Server, refused on the front-listener path. */
const LATE_PREPARE: Record<RuntimeName, string> = {
  node: 'no error',
  deno: 'no error',
  bun: 'ERR_PROXY_UNSUPPORTED_SERVER',
}

interface Seen {
  address: string
  port: number
  version: number
  command: string
  crc32c: boolean
  uniqueId: string | undefined
  cell: string
  ip?: string
  proxyHeader?: number | null
  handoff?: { addressAccessor: boolean; pushHook: boolean }
}

const TLS_CLIENT = { rejectUnauthorized: false }

function request(
  port: number,
  secure: boolean,
  agent: http.Agent,
  path = '/',
): Promise<{ status: number; body: string; localPort: number }> {
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(
      { host: '127.0.0.1', port, path, agent, ...TLS_CLIENT },
      (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (d: string) => {
          body += d
        })
        res.on('end', () => resolve({ status: res.statusCode!, body, localPort: req.socket!.localPort! }))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

/** Two requests on one keep-alive connection from 127.0.0.23: what the handler saw each time, and the client's port. */
async function httpTwice(
  port: number,
  secure: boolean,
  path = '/',
): Promise<Array<Seen & { localPort: number }>> {
  const Agent = secure ? https.Agent : http.Agent
  const agent = new Agent({ keepAlive: true, maxSockets: 1, localAddress: CLIENT_ADDRESS })
  try {
    const out = []
    for (let i = 0; i < 2; i++) {
      const r = await request(port, secure, agent, path)
      expect(r.status, r.body).toBe(200)
      out.push({ ...(JSON.parse(r.body) as Seen), localPort: r.localPort })
    }
    return out
  } finally {
    agent.destroy()
  }
}

async function netTwice(port: number, secure = false): Promise<Array<Seen & { localPort: number }>> {
  const socket = secure
    ? // localAddress is passed on to net.connect (not in tls.ConnectionOptions' type)
      tls.connect({
        host: '127.0.0.1',
        port,
        localAddress: CLIENT_ADDRESS,
        ...TLS_CLIENT,
      } as tls.ConnectionOptions)
    : net.connect({ host: '127.0.0.1', port, localAddress: CLIENT_ADDRESS })
  await once(socket, secure ? 'secureConnect' : 'connect')
  socket.setEncoding('utf8')
  const out = []
  let buffered = ''
  try {
    for (let i = 0; i < 2; i++) {
      socket.write('ping\n')
      while (!buffered.includes('\n')) buffered += (await once(socket, 'data'))[0] as string
      const line = buffered.slice(0, buffered.indexOf('\n'))
      buffered = buffered.slice(line.length + 1)
      out.push({ ...(JSON.parse(line) as Seen), localPort: socket.localPort! })
    }
    return out
  } finally {
    socket.destroy()
  }
}

async function h2Twice(port: number, secure: boolean): Promise<Array<Seen & { localPort: number }>> {
  const connect = (): net.Socket =>
    secure
      ? // localAddress is passed on to net.connect (not in tls.ConnectionOptions' type)
        tls.connect({
          host: '127.0.0.1',
          port,
          localAddress: CLIENT_ADDRESS,
          ALPNProtocols: ['h2'],
          ...TLS_CLIENT,
        } as tls.ConnectionOptions)
      : net.connect({ host: '127.0.0.1', port, localAddress: CLIENT_ADDRESS })
  let socket: net.Socket | undefined
  const session = http2.connect(`${secure ? 'https' : 'http'}://127.0.0.1:${port}`, {
    createConnection: () => {
      socket = connect()
      return socket
    },
  })
  session.on('error', () => {})
  try {
    const out = []
    for (let i = 0; i < 2; i++) {
      const stream = session.request({ ':path': '/' })
      stream.setEncoding('utf8')
      let body = ''
      stream.on('data', (d: string) => {
        body += d
      })
      const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders]
      await once(stream, 'end')
      expect(headers[':status'], body).toBe(200)
      out.push({ ...(JSON.parse(body) as Seen), localPort: socket!.localPort! })
    }
    return out
  } finally {
    session.destroy()
  }
}

async function wsOnce(port: number): Promise<Array<Seen & { localPort: number }>> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { localAddress: CLIENT_ADDRESS })
  ws.on('error', () => {})
  try {
    const [data] = (await once(ws, 'message')) as [Buffer]
    const localPort = (ws as unknown as { _socket: net.Socket })._socket.localPort!
    return [{ ...(JSON.parse(data.toString()) as Seen), localPort }]
  } finally {
    ws.terminate()
  }
}

function exchange(server: Server, port: number): Promise<Array<Seen & { localPort: number }>> {
  switch (server) {
    case 'net':
      return netTwice(port)
    case 'tls':
      return netTwice(port, true)
    case 'https':
    case 'h2-http1':
      return httpTwice(port, true)
    case 'h2c':
      return h2Twice(port, false)
    case 'h2':
      return h2Twice(port, true)
    case 'ws-port':
    case 'ws-server':
      return wsOnce(port)
    default:
      return httpTwice(port, false)
  }
}

/** Resolves when `socket` is closed by the server; with whatever bytes it received. */
function closedBy(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let got = ''
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => {
      got += d
    })
    socket.on('error', () => {})
    socket.once('close', () => resolve(got))
  })
}

function haproxyConfig(
  ports: Record<string, number>,
  balancer: number[],
  relayAccept: number,
  receiver: number,
): string {
  const lines = [haproxyGlobal()]
  let i = 0
  for (const [server, port] of Object.entries(ports)) {
    for (const send of ['send-proxy', 'send-proxy-v2 proxy-v2-options crc32c,unique-id']) {
      lines.push(
        `listen ${server}-${send.startsWith('send-proxy-v2') ? 'v2' : 'v1'}`,
        `  bind 127.0.0.1:${balancer[i++]}`,
        '  unique-id-format %ci:%cp',
        `  server app 127.0.0.1:${port} ${send}`,
        '',
      )
    }
  }
  // The relay's target: HTTP behind accept-proxy, answering with the client the header named.
  lines.push(
    'frontend receiver',
    '  mode http',
    `  bind 127.0.0.1:${receiver} accept-proxy`,
    '  http-request return status 200 content-type text/plain lf-string "%[src]:%[src_port]\\n"',
    '',
  )
  // In front of the relay that reads a header itself (--accept-proxy).
  lines.push(
    'listen relay-in',
    `  bind 127.0.0.1:${balancer[i++]}`,
    `  server relay 127.0.0.1:${relayAccept} send-proxy-v2`,
    '',
  )
  return lines.join('\n')
}

/** Registers the whole suite for `runtime`. */
export function runtimeSuite(runtime: RuntimeName): void {
  describeRuntime(
    runtime,
    `runtime ${runtime === 'node' ? `node ${process.version}` : runtime}: every cell of the runtime table behind HAProxy`,
    (bin) => {
      let app: JsonChild
      let relays: JsonChild[] = []
      let haproxy: PeerProcess
      let ready: Record<string, number | { refused: string }>
      /** HAProxy frontends by server and header version. */
      const front: Record<string, { v1: number; v2: number }> = {}
      let relayPorts: { v2: number; v1: number; accept: number; acceptFront: number }

      beforeAll(async () => {
        app = startJsonChild(bin, runtimeArgs(runtime, 'test/runtimes/app.mjs'))
        const line = await app.waitFor((l) => 'ready' in l, 30_000)
        ready = line.ready as typeof ready
        const served = Object.fromEntries(
          Object.entries(ready).filter(([, p]) => typeof p === 'number'),
        ) as Record<string, number>
        const names = Object.keys(served)
        // 2 frontends per served server, the receiver, the frontend of the accepting relay, and 3 relay ports (not HAProxy's).
        const count = names.length * 2 + 2 + 3
        const started = await startHaproxyOnFreePorts(count, (p) =>
          haproxyConfig(served, p, p[count - 3]!, p[count - 4]!),
        )
        haproxy = started.haproxy
        const p = started.ports
        names.forEach((name, i) => {
          front[name] = { v1: p[2 * i]!, v2: p[2 * i + 1]! }
        })
        relayPorts = {
          acceptFront: p[names.length * 2]!,
          accept: p[count - 3]!,
          v2: p[count - 2]!,
          v1: p[count - 1]!,
        }
        const receiver = p[count - 4]!
        const relay = (listen: number, extra: string[]): JsonChild =>
          startJsonChild(
            bin,
            runtimeArgs(runtime, 'test/runtimes/relay.mjs', [
              'relay',
              '--listen',
              `127.0.0.1:${listen}`,
              '--target',
              `127.0.0.1:${receiver}`,
              ...extra,
            ]),
          )
        relays = [
          relay(relayPorts.v2, ['--send', 'v2', '--crc32c', '--tlv', 'authority=runtime.test']),
          relay(relayPorts.v1, ['--send', 'v1']),
          relay(relayPorts.accept, ['--send', 'v1', '--accept-proxy', '--trust', '127.0.0.1']),
        ]
        await Promise.all(
          [relayPorts.v2, relayPorts.v1, relayPorts.accept].map((port) =>
            waitForPort(port, '127.0.0.1', { timeoutMs: 20_000 }),
          ),
        )
      }, 90_000)

      afterAll(async () => {
        await Promise.all([app?.stop(), ...relays.map((r) => r.stop())])
        await haproxy?.stop()
      })

      it(`starts every server, refusing only what ${runtime} cannot do, with its code`, () => {
        const refused = Object.fromEntries(
          Object.entries(ready)
            .filter(([, p]) => typeof p !== 'number')
            .map(([s, p]) => [s, (p as { refused: string }).refused]),
        )
        expect(refused).toEqual(REFUSED[runtime])
        for (const server of SERVERS) expect(ready[server], server).toBeDefined()
      })

      it("@proxyproto/core passes its portable suite with the runtime's own test command", async () => {
        const file = 'packages/core/test/portable/core.test.mjs'
        const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
          execFile(
            bin,
            runtimeTestArgs(runtime, file),
            { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } },
            (err, stdout, stderr) =>
              resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
          )
        })
        expect(code, output).toBe(0)
        // Each runner prints its own summary; all agree on six tests passing and none failing. Node 20/22
        // print '# pass 6' (TAP), Node 24 'ℹ pass 6' (spec reporter), Bun '6 pass', Deno '6 passed'.
        expect(output).toMatch(/\b6 pass(?:ed)?\b|(?:#|ℹ) pass 6\b/)
        expect(output).toMatch(/\b0 fail(?:ed)?\b|(?:#|ℹ) fail 0\b/)
      })

      it('a prepared http.Server keeps its listen(), address(), listening, events, close() and stats, and lets the process exit once closed', async () => {
        const run = startJsonChild(bin, runtimeArgs(runtime, 'test/runtimes/lifecycle.mjs'))
        try {
          const { lifecycle } = await run.waitFor((l) => 'lifecycle' in l)
          expect(lifecycle).toEqual({
            listeningBefore: false,
            addressBefore: null,
            preparedTwice: 'ERR_PROXY_INVALID_OPTION',
            listenReturnsServer: true,
            callbackThisIsServer: true,
            listeningEvents: 1,
            listeningAfter: true,
            address: { address: '127.0.0.1', family: 'IPv4', portIsNumber: true },
            reply: '203.0.113.7:4567',
            stats: { connections: 1, v1: 1 },
            addressInUse: 'EADDRINUSE',
            closeCallback: 'no error',
            closeEvents: 1,
            listeningAfterClose: false,
            closeAgain: 'ERR_SERVER_NOT_RUNNING',
            prepareAfterListen: LATE_PREPARE[runtime],
          })
          // Nothing of ours keeps the process alive once its servers are closed.
          expect(await run.exited).toBe(0)
        } finally {
          await run.stop()
        }
      })

      for (const server of SERVERS) {
        const refusal = REFUSED[runtime][server]
        if (refusal !== undefined) continue
        it(`${server}: the handler sees the client 127.0.0.23 and its port behind send-proxy (v1)`, async () => {
          const seen = await exchange(server, front[server]!.v1)
          for (const s of seen)
            expect(s).toMatchObject({
              address: CLIENT_ADDRESS,
              port: s.localPort,
              version: 1,
              command: 'PROXY',
              cell: server,
            })
          if (seen.length > 1)
            expect(new Set(seen.map((s) => s.localPort)).size, 'one keep-alive connection').toBe(1)
        })
        it(`${server}: the handler sees the client and the crc32c and unique-id TLVs behind send-proxy-v2`, async () => {
          const seen = await exchange(server, front[server]!.v2)
          for (const s of seen) {
            expect(s).toMatchObject({
              address: CLIENT_ADDRESS,
              port: s.localPort,
              version: 2,
              command: 'PROXY',
              crc32c: true,
            })
            expect(s.uniqueId).toBe(`${CLIENT_ADDRESS}:${s.localPort}`)
          }
        })
      }

      if (runtime !== 'node') {
        // Node may take a Node-internal fast path for the hand-off; other runtimes reimplement those internals,
        // which are no contract there, so the capability checks must choose the public path (issue 15, item 6).
        it(`hands sockets on through public APIs only on ${runtime} (remoteAddress accessors, no push() hook)`, async () => {
          for (const server of ['net', 'http', 'express', 'fastify', 'ws-server'] as const) {
            const [seen] = await exchange(server, front[server]!.v2)
            expect(seen!.handoff, server).toEqual({ addressAccessor: true, pushHook: false })
          }
        })
      }

      it('express and fastify: req.ip / request.ip is the client, with the default trust settings', async () => {
        for (const server of ['express', 'fastify'] as const) {
          const [seen] = await exchange(server, front[server]!.v2)
          expect(seen).toMatchObject({ ip: CLIENT_ADDRESS, proxyHeader: 2 })
        }
      })

      // Refusals and the header timeout, on the servers whose path differs by runtime (http and the adapters
      // go through the front listener on Bun) and on net; all at once, so the header timeouts overlap.
      it('net, http, express, fastify, ws: refuse a peer they do not trust, a trusted peer without a header, and a header that never completes', async () => {
        await Promise.all(
          (['net', 'http', 'express', 'fastify', 'ws-server'] as const).map(async (server) => {
            const port = ready[server] as number
            const untrusted = net.connect({ host: '127.0.0.1', port, localAddress: CLIENT_ADDRESS })
            const noHeader = net.connect({ host: '127.0.0.1', port })
            const partial = net.connect({ host: '127.0.0.1', port })
            const closed = [closedBy(untrusted), closedBy(noHeader), closedBy(partial)]
            untrusted.write('PROXY TCP4 1.2.3.4 127.0.0.1 1 2\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n')
            noHeader.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
            partial.write('PROXY TCP4 1.2.3.4 ')
            expect(await Promise.all(closed), server).toEqual(['', '', ''])
            for (const code of [
              'ERR_PROXY_UNTRUSTED_PEER',
              'ERR_PROXY_HEADER_MISSING',
              'ERR_PROXY_HEADER_TIMEOUT',
            ]) {
              await app.waitFor((l) => l.cell === server && l.error === code)
            }
          }),
        )
      })

      it('http: proxyProtocolStats counts what this server accepted and refused', async () => {
        await exchange('http', front.http!.v1)
        const [r] = await httpTwice(front.http!.v2, false, '/stats')
        const stats = r as unknown as {
          accepted: { v1: number; v2: number }
          refused: Record<string, number>
          pending: number
        }
        expect(stats.accepted.v1).toBeGreaterThanOrEqual(1)
        expect(stats.accepted.v2).toBeGreaterThanOrEqual(1)
        expect(stats.pending).toBe(0)
      })

      it('relay: the CLI sends v2 (crc32c, authority) and v1 headers HAProxy accepts, naming the client', async () => {
        for (const port of [relayPorts.v2, relayPorts.v1]) {
          const agent = new http.Agent({ localAddress: CLIENT_ADDRESS })
          const r = await request(port, false, agent)
          agent.destroy()
          expect(r.body.trim()).toBe(`${CLIENT_ADDRESS}:${r.localPort}`)
        }
      })

      it('relay --accept-proxy: reads the header HAProxy sent and forwards the original client', async () => {
        const agent = new http.Agent({ localAddress: CLIENT_ADDRESS })
        const r = await request(relayPorts.acceptFront, false, agent)
        agent.destroy()
        expect(r.body.trim()).toBe(`${CLIENT_ADDRESS}:${r.localPort}`)
      })
    },
  )
}
