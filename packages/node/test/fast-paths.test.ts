/**
 * Guards for the Node internals the hand-off relies on (src/fast-paths.ts): on Node they must be taken
 * (a Node release that changes them makes these tests fail, loudly, instead of silently costing more per
 * connection); on Deno and Bun the public paths must be; and the public paths, forced, must behave the same.
 */
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { getProxyInfo, proxyProtocolStats, withProxyProtocol } from '@proxyproto/node'
import { afterEach, describe, expect, it } from 'vitest'
import { canHookPush, fastPaths, httpDataListener, peername, pushesAfterHandOff, streamPush } from '../src/fast-paths.js'
import { CLIENT, CLIENT6, closedWithin, closeServer, connect, listen, readAll, v1, v2, waitFor } from './helpers.js'

const runtime = (globalThis as { Bun?: unknown }).Bun !== undefined ? 'bun' : (globalThis as { Deno?: unknown }).Deno !== undefined ? 'deno' : 'node'

const open: net.Server[] = []
const saved = { ...fastPaths }
afterEach(async () => {
  Object.assign(fastPaths, saved)
  await Promise.all(open.splice(0).map(closeServer))
})

interface Seen {
  address: string | undefined
  port: number | undefined
  family: string | undefined
  ownPush: boolean
  peernameIsClient: boolean
  data: string
}

/** A net server that records, per connection, what the handler sees and which path the hand-off took. */
async function start(): Promise<{ server: net.Server; port: number; seen: Seen[] }> {
  const seen: Seen[] = []
  const server = withProxyProtocol(
    net.createServer((s) => {
      const info = getProxyInfo(s)!
      const entry: Seen = {
        address: s.remoteAddress,
        port: s.remotePort,
        family: s.remoteFamily,
        // pushHeader leaves the socket's own push() set back to the stream's; the paused-mode path never sets one
        ownPush: Object.hasOwn(s, 'push'),
        peernameIsClient: (s as unknown as { _peername?: unknown })._peername === info.client,
        data: '',
      }
      seen.push(entry)
      s.on('data', (d: Buffer) => {
        entry.data += d.toString('latin1')
      })
      s.on('end', () => s.end('bye'))
    }),
  )
  open.push(server)
  return { server, port: await listen(server), seen }
}

async function send(port: number, ...parts: Buffer[]): Promise<string> {
  const c = await connect(port)
  const reply = readAll(c)
  for (const part of parts) {
    c.write(part)
    await new Promise((r) => setImmediate(r))
  }
  c.end()
  return (await reply).toString()
}

describe('fast paths', () => {
  it.runIf(runtime === 'node')(`takes _peername and the push() hook on Node ${process.version} (if this fails, Node changed an internal they rely on)`, async () => {
    expect(fastPaths.peername, 'net.Socket getters no longer read _peername').toBe(true)
    const s = new net.Socket()
    expect(streamPush).toBe(s.push)
    const h = await start()
    expect(await send(h.port, Buffer.concat([v2(), Buffer.from('hello')]))).toBe('bye')
    expect(h.seen).toEqual([{ address: CLIENT.address, port: CLIENT.port, family: 'IPv4', ownPush: true, peernameIsClient: true, data: 'hello' }])
  })

  it.runIf(runtime !== 'node')(`takes the public paths on ${runtime}`, async () => {
    const h = await start()
    expect(await send(h.port, Buffer.concat([v2(), Buffer.from('hello')]))).toBe('bye')
    expect(h.seen).toHaveLength(1)
    expect(h.seen[0]!.ownPush).toBe(false)
    expect(h.seen[0]).toMatchObject({ address: CLIENT.address, port: CLIENT.port, family: 'IPv4', data: 'hello' })
  })

  it.runIf(runtime === 'node')(`pushes after the hand-off only to Node's own HTTP/1 connection listener on Node ${process.version} (if this fails, Node changed how http.Server listens)`, () => {
    const plain = http.createServer()
    expect(pushesAfterHandOff(plain), "http.Server's 'connection' listener is no longer recognised").toBe(true)
    expect(pushesAfterHandOff(withProxyProtocol(http.createServer()))).toBe(true)
    const watched = http.createServer()
    watched.on('connection', () => {})
    expect(pushesAfterHandOff(watched)).toBe(false) // another listener could hand the socket on
    expect(pushesAfterHandOff(https.createServer())).toBe(false)
    expect(pushesAfterHandOff(net.createServer(() => {}))).toBe(false)
  })

  it.runIf(runtime === 'node')(`hands the bytes after the header to http's own 'data' listener on Node ${process.version} (if this fails, Node changed how http.Server reads a socket)`, async () => {
    // Node's own listener, given a socket as the hand-off gives it: the listener is found...
    const httpServer = http.createServer((_req, res) => res.end('ok'))
    const found: unknown[] = []
    const server = net.createServer((s) => {
      httpServer.emit('connection', s)
      found.push(httpDataListener(s))
    })
    open.push(server)
    const reply = await send(await listen(server), Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'))
    expect(reply).toMatch(/\r\n\r\nok$/)
    expect(typeof found[0], "http's 'data' listener is no longer recognised").toBe('function')
    // A lone 'data' listener on a socket http's listener never ran on is not taken for it, even once it is known.
    const other = new net.Socket()
    other.on('data', () => {})
    ;(other as unknown as { _readableState: { flowing: boolean } })._readableState.flowing = true
    expect(httpDataListener(other)).toBeUndefined()
    other.destroy()
    // ...and used: the request reaches the parser without the stream emitting 'data' (as on plain Node, whose
    // parser reads the handle itself), where push() would have emitted it.
    const prepared = withProxyProtocol(http.createServer((req, res) => res.end(String((req.socket as unknown as { _readableState: { dataEmitted: boolean } })._readableState.dataEmitted))))
    open.push(prepared)
    const port = await listen(prepared)
    const request = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(await send(port, Buffer.concat([v2(), request]))).toMatch(/\r\n\r\nfalse$/)
    fastPaths.dataListener = false
    expect(await send(port, Buffer.concat([v2(), request]))).toMatch(/\r\n\r\ntrue$/)
  })

  it.runIf(runtime !== 'node')(`never pushes after the hand-off on ${runtime}`, () => {
    expect(pushesAfterHandOff(http.createServer())).toBe(false)
  })

  it(`reads the balancer's port and family from what remoteAddress asked the kernel for on Node, and nowhere else (${runtime})`, async () => {
    const server = net.createServer()
    open.push(server)
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r))
    const c = await connect(await listen(server))
    const s = await accepted
    const before = peername(s, c.localAddress!) // the right address, but not asked for yet
    const known = peername(s, s.remoteAddress!)
    const other = peername(s, '192.0.2.1') // asked, but not this address
    const balancer = { address: c.localAddress, port: c.localPort, family: c.localFamily }
    c.destroy()
    s.destroy()
    expect([before, other]).toEqual([undefined, undefined])
    if (runtime === 'node') expect(known, 'net.Socket no longer keeps its peer in _peername').toMatchObject(balancer)
    else expect(known).toBeUndefined()
  })

  it('hooks only a fresh socket: not one already flowing, ended or holding buffered bytes', async () => {
    const server = net.createServer()
    open.push(server)
    const port = await listen(server)
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r))
    const c = await connect(port)
    const s = await accepted
    expect(canHookPush(s)).toBe(runtime === 'node')
    s.on('data', () => {})
    expect(canHookPush(s)).toBe(false) // flowing
    c.destroy()
    s.destroy()
  })
})

describe.each([
  ['the public paths (fast paths forced off)', false],
  ['the fast paths where available', true],
])('%s', (_name, fast) => {
  const setup = () => {
    fastPaths.peername &&= fast
    fastPaths.push = fast
    fastPaths.afterHandOff &&= fast
    fastPaths.dataListener &&= fast
  }

  it('delivers the client and every byte after a v1 or v2 header, whole or split byte by byte', async () => {
    setup()
    const h = await start()
    const payload = Buffer.from('GET / HTTP/1.1\r\n\r\n')
    const split = (b: Buffer) => [...b].map((x) => Buffer.of(x))
    expect(await send(h.port, Buffer.concat([v1(), payload]))).toBe('bye')
    expect(await send(h.port, ...split(Buffer.concat([v2(CLIENT6), payload])))).toBe('bye')
    expect(await send(h.port, v2(), payload)).toBe('bye')
    expect(h.seen.map((x) => [x.address, x.port, x.family, x.data, x.ownPush])).toEqual([
      [CLIENT.address, CLIENT.port, 'IPv4', payload.toString(), fast && runtime === 'node'],
      [CLIENT6.address, CLIENT6.port, 'IPv6', payload.toString(), fast && runtime === 'node'],
      [CLIENT.address, CLIENT.port, 'IPv4', payload.toString(), fast && runtime === 'node'],
    ])
  })

  it.each([
    ['IPv4', '127.0.0.1', '127.0.0.1'],
    ['IPv4-mapped IPv6 (a dual-stack listener)', '::', '::ffff:127.0.0.1'],
  ])("reports the balancer's address, port and family as the peer: %s", async (_kind, host, peerAddress) => {
    setup()
    const peers: unknown[] = []
    const server = withProxyProtocol(
      net.createServer((s) => {
        peers.push(getProxyInfo(s)!.peer)
        s.end()
      }),
      { trust: () => true },
    )
    open.push(server)
    const c = await connect(await listen(server, host), '127.0.0.1', '127.0.0.1')
    const balancer = { address: peerAddress, port: c.localPort, family: peerAddress.includes(':') ? 'IPv6' : 'IPv4' }
    const closed = readAll(c)
    c.end(v2())
    await closed
    expect(peers).toEqual([balancer])
  })

  it('refuses a malformed header, a FIN inside the header, and counts a connect-and-close as a health check', async () => {
    setup()
    const h = await start()
    const errors: string[] = []
    h.server.on('proxyProtocolError', (e: { code: string }) => errors.push(e.code))
    expect(await send(h.port, Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n'))).toBe('')
    expect(await send(h.port, v2().subarray(0, 20))).toBe('')
    const c = await connect(h.port)
    const closed = closedWithin(c, 2000)
    c.end()
    expect(await closed).toBe(true)
    await waitFor(() => errors.length === 2 && proxyProtocolStats(h.server)!.healthChecks === 1, 'two refusals and one health check')
    expect(errors).toEqual(['ERR_PROXY_V1_BAD_PORT', 'ERR_PROXY_CONNECTION_CLOSED'])
    expect(proxyProtocolStats(h.server)).toMatchObject({ healthChecks: 1, pending: 0 })
    expect(h.seen).toEqual([])
  })

  it('refuses a connection reset inside its header, and keeps serving', async () => {
    setup()
    const h = await start()
    const errors: string[] = []
    h.server.on('proxyProtocolError', (e: { code: string }) => errors.push(e.code))
    const c = await connect(h.port)
    c.write(v2().subarray(0, 20))
    await waitFor(() => proxyProtocolStats(h.server)!.pending === 1, 'the partial header to be pending')
    c.resetAndDestroy()
    await waitFor(() => errors.length === 1 && proxyProtocolStats(h.server)!.pending === 0, 'the refusal')
    expect(errors).toEqual(['ERR_PROXY_CONNECTION_CLOSED'])
    expect(await send(h.port, Buffer.concat([v2(), Buffer.from('next')]))).toBe('bye')
    expect(h.seen.map((x) => x.data)).toEqual(['next'])
  })

  it("gives http's upgrade listener the bytes after the request's head, and a parse error its raw bytes, when they come in the header's read", async () => {
    setup()
    const server = withProxyProtocol(http.createServer())
    open.push(server)
    const heads: string[] = []
    server.on('upgrade', (_req, socket: net.Socket, head: Buffer) => {
      heads.push(head.toString('latin1'))
      socket.end('upgraded')
    })
    const rawPackets: string[] = []
    server.on('clientError', (err: Error & { rawPacket?: Buffer }, socket: net.Socket) => {
      rawPackets.push(String(err.rawPacket))
      socket.destroy()
    })
    const port = await listen(server)
    const upgrade = 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n'
    expect(await send(port, Buffer.concat([v2(), Buffer.from(`${upgrade}first frame`)]))).toBe('upgraded')
    expect(heads).toEqual(['first frame'])
    expect(await send(port, Buffer.concat([v2(), Buffer.from('NOT HTTP AT ALL\r\n\r\n')]))).toBe('')
    expect(rawPackets).toEqual(['NOT HTTP AT ALL\r\n\r\n'])
  })

  it('serves http with the client as req.socket.remoteAddress, with and without a connection listener of its own', async () => {
    setup()
    const server = withProxyProtocol(http.createServer((req, res) => res.end(`${req.socket.remoteAddress}:${req.socket.remotePort}`)))
    open.push(server)
    const port = await listen(server)
    const reply = await send(port, Buffer.concat([v2(), Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]))
    expect(reply).toMatch(/\r\n\r\n203\.0\.113\.7:51234$/)
    const connections: string[] = []
    server.on('connection', (s: net.Socket) => connections.push(s.remoteAddress!))
    const again = await send(port, Buffer.concat([v2(), Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]))
    expect(again).toMatch(/\r\n\r\n203\.0\.113\.7:51234$/)
    expect(connections).toEqual(['203.0.113.7'])
  })
})
