/**
 * The runnable examples in examples/: each server.mjs is started as its own process (`node
 * examples/<name>/server.mjs`, importing the built packages by name, so `npm test` builds first) with
 * PORT=0. This test then plays the load balancer: it connects from 127.0.0.1, writes a PROXY header
 * (v1 and v2) naming the client 203.0.113.7:51234, and speaks the example's protocol. Each example must
 * report that client, in its reply and in its log. Also: `examples/demo` runs and exits 0.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import http from 'node:http'
import http2 from 'node:http2'
import https from 'node:https'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import type tls from 'node:tls'
import { connect, type ProxyHeaderInput } from '@proxyproto/node'
import { io as ioClient } from 'socket.io-client'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { haproxyGlobalExclusive, startHaproxyOnFreePorts } from './helpers/balancers.js'
import { describePeer } from './helpers/peers.js'
import { CLIENT_ADDRESS, waitFor } from './helpers/sockets.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CLIENT = { address: '203.0.113.7', port: 51234 }
/** What the client connected to: the balancer's public address. */
const FRONTEND = { address: '198.51.100.10', port: 443 }
const BALANCER = '127.0.0.1'
const VERSIONS = [1, 2] as const
type Version = (typeof VERSIONS)[number]

/** The header the tests' balancer sends: CLIENT, connected to FRONTEND (v2 with a CRC32C). */
function proxyHeader(version: Version): ProxyHeaderInput {
  return { version, source: CLIENT, destination: FRONTEND, crc32c: version === 2 }
}

/** A TCP connection from the balancer's address that starts with a PROXY header naming CLIENT. */
function connectWithHeader(port: number, version: Version): net.Socket {
  return connect({ host: '127.0.0.1', port, localAddress: BALANCER, proxyHeader: proxyHeader(version) })
}

function tlsWithHeader(port: number, version: Version, alpn: string[]): tls.TLSSocket {
  return connect({
    host: '127.0.0.1',
    port,
    localAddress: BALANCER,
    proxyHeader: proxyHeader(version),
    tls: {
      servername: 'localhost',
      ALPNProtocols: alpn,
      rejectUnauthorized: false, // the examples' default certificate is the self-signed test fixture
    },
  })
}

// ---- example processes ------------------------------------------------------------------------------

interface Running {
  child: ChildProcess
  port: number
  /** stdout and stderr so far. */
  output(): string
  stdout(): string
}

const children = new Set<ChildProcess>()

async function stop(child: ChildProcess): Promise<void> {
  children.delete(child)
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

// Last resort if the worker exits without running the hooks.
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})
afterAll(async () => {
  await Promise.all([...children].map(stop))
})

function spawnNode(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; out: { stdout: string; all: string } } {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env }
  if (!('TRUST' in env)) delete childEnv['TRUST'] // the example's default: loopback,private
  const child = spawn(process.execPath, args, { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  const out = { stdout: '', all: '' }
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out.stdout += d
    out.all += d
  })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    out.all += d
  })
  return { child, out }
}

/** Starts examples/<name>/server.mjs with PORT=0 and resolves once it printed `listening on 127.0.0.1:PORT`. */
async function startExample(name: string, env: Record<string, string> = {}): Promise<Running> {
  const { child, out } = spawnNode([`examples/${name}/server.mjs`], env)
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error(`examples/${name} printed no "listening on" line in 20 s:\n${out.all}`)),
      20_000,
    )
    const check = (): void => {
      const m = /^listening on 127\.0\.0\.1:(\d+)\n/.exec(out.stdout)
      if (m) done(undefined, Number(m[1]))
      else if (out.stdout.includes('\n'))
        done(new Error(`examples/${name}: first line is not "listening on 127.0.0.1:PORT":\n${out.all}`))
    }
    const onExit = (code: number | null): void =>
      done(new Error(`examples/${name} exited (${code}) before listening:\n${out.all}`))
    function done(err?: Error, p?: number): void {
      clearTimeout(timer)
      child.stdout!.off('data', check)
      child.off('exit', onExit)
      if (err) reject(err)
      else resolve(p!)
    }
    child.stdout!.on('data', check)
    child.once('exit', onExit)
  })
  expect(port).toBeGreaterThan(0)
  return { child, port, output: () => out.all, stdout: () => out.stdout }
}

/** Waits until the example's output matches `pattern`. */
function waitForOutput(ex: Running, pattern: RegExp, timeoutMs = 5000): Promise<void> {
  return waitFor(
    () => pattern.test(ex.output()),
    () => `${pattern} in the output:\n${ex.output()}`,
    timeoutMs,
  )
}

/** A describe block with the example running; its process is ended in afterAll, whatever happened. */
function describeExample(name: string, fn: (ex: () => Running) => void): void {
  describe(`examples/${name}`, () => {
    let ex: Running | undefined
    beforeAll(async () => {
      ex = await startExample(name)
    })
    afterAll(async () => {
      if (ex) await stop(ex.child)
    })
    fn(() => {
      if (!ex) throw new Error(`examples/${name} did not start`)
      return ex
    })
  })
}

// ---- clients ----------------------------------------------------------------------------------------

interface Reply {
  status: number
  body: string
}

function collect(res: http.IncomingMessage, resolve: (r: Reply) => void, reject: (e: Error) => void): void {
  let body = ''
  res.setEncoding('utf8')
  res.on('data', (d: string) => (body += d))
  res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
  res.on('error', reject)
}

/**
 * GET through a connection that starts with a PROXY header: HTTP/1.1, or with `secure` HTTPS (the header,
 * then TLS, then the request).
 */
function getWithHeader(secure: boolean, port: number, version: Version, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    ;(secure ? https : http)
      .get(
        {
          host: '127.0.0.1',
          port,
          path,
          headers: { connection: 'close' },
          ...(secure && { rejectUnauthorized: false }),
          createConnection: () =>
            secure ? tlsWithHeader(port, version, ['http/1.1']) : connectWithHeader(port, version),
        },
        (res) => collect(res, resolve, reject),
      )
      .on('error', reject)
  })
}

const httpGet = (port: number, version: Version, path = '/'): Promise<Reply> =>
  getWithHeader(false, port, version, path)
const httpsGet = (port: number, version: Version, path = '/'): Promise<Reply> =>
  getWithHeader(true, port, version, path)

/** GET over h2: the header, then TLS with ALPN h2, then an HTTP/2 session. */
async function h2Get(
  port: number,
  version: Version,
  path = '/',
): Promise<Reply & { alpn: string | false | undefined }> {
  const session = http2.connect(`https://localhost:${port}`, {
    createConnection: () => tlsWithHeader(port, version, ['h2']),
  })
  try {
    return await new Promise((resolve, reject) => {
      session.on('error', reject)
      const req = session.request({ ':path': path })
      let status = 0
      let body = ''
      req.setEncoding('utf8')
      req.on('response', (headers) => {
        status = Number(headers[':status'])
      })
      req.on('data', (d: string) => (body += d))
      req.on('end', () => resolve({ status, body, alpn: session.alpnProtocol }))
      req.on('error', reject)
      req.end()
    })
  } finally {
    session.close()
  }
}

/** A line-protocol client: connects with a header, sends lines, reads lines. */
function lineClient(port: number, version: Version) {
  const socket = connectWithHeader(port, version)
  socket.setEncoding('utf8')
  const lines: string[] = []
  let buffered = ''
  let ended = false
  socket.on('data', (d: string) => {
    buffered += d
    for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
      lines.push(buffered.slice(0, nl))
      buffered = buffered.slice(nl + 1)
    }
  })
  socket.on('end', () => (ended = true))
  socket.on('close', () => (ended = true))
  socket.on('error', () => (ended = true))
  return {
    socket,
    send: (line: string) => socket.write(`${line}\n`),
    /** Resolves with (and consumes) the first line that starts with `prefix`. */
    async next(prefix: string, timeoutMs = 5000): Promise<string> {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const i = lines.findIndex((l) => l.startsWith(prefix))
        if (i !== -1) return lines.splice(i, 1)[0]!
        if (ended || Date.now() > deadline)
          throw new Error(`no line starting with ${JSON.stringify(prefix)}; got ${JSON.stringify(lines)}`)
        await new Promise((r) => setTimeout(r, 10))
      }
    },
    closed: () => ended,
  }
}

/** An http.Agent whose every connection starts with a PROXY header (socket.io's polling and WebSocket). */
class HeaderAgent extends http.Agent {
  constructor(
    private readonly targetPort: number,
    private readonly version: Version,
  ) {
    super({ keepAlive: true })
  }
  override createConnection(): net.Socket {
    return connectWithHeader(this.targetPort, this.version)
  }
}

// ---- the examples -----------------------------------------------------------------------------------

function expectClientJson(reply: Reply, version: Version): Record<string, unknown> {
  expect(reply.status).toBe(200)
  const json = JSON.parse(reply.body) as Record<string, unknown>
  expect(json).toMatchObject({ ip: CLIENT.address, port: CLIENT.port, balancer: BALANCER, version })
  return json
}

/** Express and Fastify answer alike: the client JSON with the whole header, and a log line per request. */
function describeFrameworkExample(name: string, title: string): void {
  describeExample(name, (ex) => {
    it.each(VERSIONS)(title, async (version) => {
      const json = expectClientJson(await httpGet(ex().port, version), version)
      expect(json['proxyHeader']).toMatchObject({
        version,
        command: 'PROXY',
        source: CLIENT,
        destination: FRONTEND,
      })
      await waitForOutput(ex(), /GET \/ from 203\.0\.113\.7:51234 via 127\.0\.0\.1:\d+/)
    })
  })
}

describeFrameworkExample('express', 'req.ip is the client (PROXY v%i)')
describeFrameworkExample('fastify', 'request.ip is the client (PROXY v%i)')

describeExample('ws', (ex) => {
  it.each(VERSIONS)('the upgrade request and every message carry the client (PROXY v%i)', async (version) => {
    const port = ex().port
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, {
      createConnection: () => connectWithHeader(port, version),
    })
    try {
      const messages: Array<Record<string, unknown>> = []
      await new Promise<void>((resolve, reject) => {
        ws.on('message', (data) => {
          const m = JSON.parse(String(data)) as Record<string, unknown>
          messages.push(m)
          if (m['type'] === 'hello') ws.send(`MOVE 1 2 (v${version})`)
          if (m['type'] === 'echo') resolve()
        })
        ws.on('error', reject)
        ws.on('close', () => reject(new Error('closed before the echo')))
      })
      expect(messages).toEqual([
        { type: 'hello', ip: CLIENT.address, port: CLIENT.port },
        { type: 'echo', ip: CLIENT.address, port: CLIENT.port, message: `MOVE 1 2 (v${version})` },
      ])
      await waitForOutput(ex(), /connected 203\.0\.113\.7:51234 via 127\.0\.0\.1:\d+/)
      await waitForOutput(ex(), new RegExp(`203\\.0\\.113\\.7:51234 says "MOVE 1 2 \\(v${version}\\)"`))
    } finally {
      ws.terminate()
    }
  })
})

describeExample('net-game', (ex) => {
  it.each(VERSIONS)('a player is known by its own address (PROXY v%i)', async (version) => {
    const player = lineClient(ex().port, version)
    try {
      expect(await player.next('WELCOME')).toBe('WELCOME 203.0.113.7:51234')
      player.send('MOVE 1 2')
      expect(await player.next('MOVED')).toBe('MOVED 203.0.113.7:51234 1 2')
      player.send('WHO')
      expect(await player.next('PLAYER')).toBe('PLAYER 203.0.113.7:51234 1 2 (you)')
      expect(await player.next('END')).toBe('END')
      player.send('QUIT')
      expect(await player.next('BYE')).toBe('BYE 203.0.113.7:51234')
      await waitForOutput(ex(), /203\.0\.113\.7:51234 joined via 127\.0\.0\.1:\d+/)
      await waitForOutput(ex(), /203\.0\.113\.7:51234 MOVE 1 2/)
    } finally {
      player.socket.destroy()
    }
  })
})

describeExample('https', (ex) => {
  it.each(VERSIONS)('the TLSSocket reports the client (PROXY v%i)', async (version) => {
    const json = expectClientJson(await httpsGet(ex().port, version), version)
    expect(json['tls']).toMatch(/^TLSv1\.[23]$/)
    expect(json['servername']).toBe('localhost')
    await waitForOutput(ex(), /GET \/ from 203\.0\.113\.7:51234 via 127\.0\.0\.1:\d+/)
  })
})

describeExample('http2', (ex) => {
  it.each(VERSIONS)('an h2 request (ALPN h2) sees the client (PROXY v%i)', async (version) => {
    const reply = await h2Get(ex().port, version)
    expect(reply.alpn).toBe('h2')
    const json = expectClientJson(reply, version)
    expect(json).toMatchObject({ httpVersion: '2.0', alpn: 'h2' })
    await waitForOutput(ex(), /GET \/ HTTP\/2\.0 from 203\.0\.113\.7:51234 via 127\.0\.0\.1:\d+/)
  })

  it.each(VERSIONS)('an HTTP/1.1 request (allowHTTP1) sees the client (PROXY v%i)', async (version) => {
    const json = expectClientJson(await httpsGet(ex().port, version), version)
    expect(json).toMatchObject({ httpVersion: '1.1', alpn: 'http/1.1' })
    await waitForOutput(ex(), /GET \/ HTTP\/1\.1 from 203\.0\.113\.7:51234 via 127\.0\.0\.1:\d+/)
  })
})

describeExample('socketio', (ex) => {
  it.each([
    [1, 'polling'],
    [2, 'websocket'],
    [2, 'polling then websocket'],
  ] as const)('socket.handshake.address is the client (PROXY v%i, %s)', async (version, mode) => {
    const agent = new HeaderAgent(ex().port, version)
    const transports =
      mode === 'polling' ? ['polling'] : mode === 'websocket' ? ['websocket'] : ['polling', 'websocket']
    const socket = ioClient(`http://127.0.0.1:${ex().port}`, {
      agent: agent as unknown as string, // engine.io-client passes it on to its XHR and ws; typed as string | boolean
      transports,
      forceNew: true,
      reconnection: false,
    })
    try {
      const hello = await new Promise<Record<string, unknown>>((resolve, reject) => {
        socket.once('hello', resolve)
        socket.once('connect_error', reject)
      })
      expect(hello).toEqual({ ip: CLIENT.address, port: CLIENT.port })
      if (mode === 'polling then websocket' && socket.io.engine.transport.name !== 'websocket')
        await new Promise((resolve) => socket.io.engine.once('upgrade', resolve))
      const ack = (await socket.timeout(5000).emitWithAck('whoami')) as Record<string, unknown>
      expect(ack).toEqual({
        ip: CLIENT.address,
        port: CLIENT.port,
        transport: mode === 'polling' ? 'polling' : 'websocket',
      })
      await waitForOutput(ex(), /whoami from 203\.0\.113\.7:51234/)
    } finally {
      socket.close()
      agent.destroy()
    }
  })
})

describeExample('hono', (ex) => {
  it.each(VERSIONS)('getConnInfo(c) is the client (PROXY v%i)', async (version) => {
    expectClientJson(await httpGet(ex().port, version), version)
    await waitForOutput(ex(), /GET \/ from 203\.0\.113\.7:51234 via 127\.0\.0\.1:\d+/)
  })
})

// ---- behind a real HAProxy -----------------------------------------------------------------------------

/** GET / from 127.0.0.23 to `port` (HAProxy); resolves with the reply and the client's own source port. */
function getFromClient(port: number): Promise<Reply & { localPort: number }> {
  return new Promise((resolve, reject) => {
    let localPort = 0
    const req = http.get(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        localAddress: CLIENT_ADDRESS,
        agent: false,
        headers: { connection: 'close' },
      },
      (res) => collect(res, (reply) => resolve({ ...reply, localPort }), reject),
    )
    req.on('socket', (socket) => socket.once('connect', () => (localPort = socket.localPort ?? 0)))
    req.on('error', reject)
  })
}

const BEHIND_HAPROXY: ReadonlyArray<[name: string, what: string]> = [
  ['koa', 'ctx.ip'],
  ['nestjs-express', 'req.ip in a Nest controller (Express)'],
  ['nestjs-fastify', 'request.ip in a Nest controller (Fastify)'],
  ['hapi', 'request.info.remoteAddress'],
  ['next-custom-server', "the framework handler's req.socket, behind a custom http.createServer"],
  ['hono', 'getConnInfo(c)'],
]

describePeer('examples behind HAProxy (send-proxy-v2)', ['haproxy'], () => {
  for (const [name, what] of BEHIND_HAPROXY) {
    it(`examples/${name}: ${what} is the client that connected to HAProxy from 127.0.0.23`, async () => {
      const ex = await startExample(name)
      try {
        const { haproxy, ports } = await startHaproxyOnFreePorts(1, ([front]) =>
          [
            haproxyGlobalExclusive(),
            'frontend www',
            `  bind 127.0.0.1:${front}`,
            '  default_backend app',
            'backend app',
            `  server app1 127.0.0.1:${ex.port} send-proxy-v2`,
            '',
          ].join('\n'),
        )
        try {
          const reply = await getFromClient(ports[0]!)
          expect(reply.status).toBe(200)
          expect(JSON.parse(reply.body)).toEqual({
            ip: CLIENT_ADDRESS,
            port: reply.localPort,
            balancer: BALANCER,
            version: 2,
          })
          await waitForOutput(
            ex,
            new RegExp(`GET / from 127\\.0\\.0\\.23:${reply.localPort} via 127\\.0\\.0\\.1:\\d+`),
          )
        } finally {
          await haproxy.stop()
        }
      } finally {
        await stop(ex.child)
      }
    })
  }
})

describe('the examples honour TRUST and refuse what proxyproto refuses', () => {
  let ex: Running | undefined
  afterEach(async () => {
    if (ex) await stop(ex.child)
    ex = undefined
  })

  it('TRUST=10.0.0.0/8: a header from 127.0.0.1 is not honoured, the connection is refused', async () => {
    ex = await startExample('express', { TRUST: '10.0.0.0/8' })
    await expect(httpGet(ex.port, 2)).rejects.toThrow()
    await waitForOutput(ex, /refused 127\.0\.0\.1: ERR_PROXY_UNTRUSTED_PEER/)
    expect(ex.output()).not.toContain('203.0.113.7')
  })

  it('default TRUST: a trusted peer without a header is refused', async () => {
    ex = await startExample('net-game')
    const socket = net.connect({ host: '127.0.0.1', port: ex.port })
    socket.on('error', () => {})
    socket.write('MOVE 1 2\n')
    await new Promise((resolve) => socket.once('close', resolve))
    await waitForOutput(ex, /refused 127\.0\.0\.1: ERR_PROXY_HEADER_MISSING/)
    expect(ex.output()).not.toContain('joined')
  })
})

describe('examples/demo', () => {
  it('runs, prints the client address 127.0.0.23 and exits 0', async () => {
    const { child, out } = spawnNode(['examples/demo/demo.mjs'])
    try {
      const code = await new Promise<number | null>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`examples/demo did not exit in 20 s:\n${out.all}`)),
          20_000,
        )
        child.once('exit', (c) => {
          clearTimeout(timer)
          resolve(c)
        })
      })
      expect({ code, output: out.all }).toMatchObject({ code: 0 })
      expect(out.stdout).toContain('127.0.0.23')
    } finally {
      await stop(child)
    }
  })
})
