import { encode } from '@proxyproto/core'
import http from 'node:http'
import net from 'node:net'
import { getProxyInfo, type ProxyProtocolError, type ProxyProtocolOptions, proxyProtocolStats, withProxyProtocol } from '@proxyproto/node'
import { afterEach, describe, expect, it } from 'vitest'
import { CLIENT, closedWithin, closeServer, connect, exchange, listen, readAll, serverClock, v1, v2, waitFor } from './helpers.js'

interface Harness {
  server: net.Server
  port: number
  errors: ProxyProtocolError[]
}
const open: net.Server[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map(closeServer))
})

/** A server that answers each connection with "<remoteAddress> <remotePort>\n" and then echoes what it receives. */
async function start(options?: ProxyProtocolOptions, host = '127.0.0.1'): Promise<Harness> {
  const errors: ProxyProtocolError[] = []
  const server = withProxyProtocol(
    net.createServer((s) => {
      s.write(`${s.remoteAddress} ${s.remotePort}\n`)
      s.pipe(s)
    }),
    options,
  )
  server.on('proxyProtocolError', (err: ProxyProtocolError) => errors.push(err))
  open.push(server)
  return { server, port: await listen(server, host), errors }
}

describe('trust', () => {
  it('refuses a peer outside the trust list by default, before reading a byte', async () => {
    const h = await start({ trust: ['10.0.0.0/8'] })
    expect(await exchange(h.port, v1())).toBe('')
    await waitFor(() => h.errors.length === 1, 'h.errors.length === 1')
    expect(h.errors[0]!.code).toBe('ERR_PROXY_UNTRUSTED_PEER')
    expect(proxyProtocolStats(h.server)!.refused).toEqual({ ERR_PROXY_UNTRUSTED_PEER: 1 })
  })

  it("serves an untrusted peer directly with untrusted: 'direct' and never honours its header", async () => {
    const h = await start({ trust: ['10.0.0.0/8'], untrusted: 'direct' })
    const header = v1().toString()
    const reply = await exchange(h.port, header, '127.0.0.23')
    expect(reply.startsWith('127.0.0.23 ')).toBe(true)
    expect(reply.endsWith(header)).toBe(true) // the header was passed on as application data
    expect(proxyProtocolStats(h.server)!.direct).toBe(1)
  })

  it('asks a trust function with the peer address and family', async () => {
    const asked: string[] = []
    const h = await start({
      trust: (a, f) => {
        asked.push(`${a}/${f}`)
        return a === '127.0.0.5'
      },
    })
    expect(await exchange(h.port, v1(), '127.0.0.5')).toMatch(/^203\.0\.113\.7 51234\n$/)
    expect(await exchange(h.port, v1(), '127.0.0.6')).toBe('')
    expect(asked).toEqual(['127.0.0.5/IPv4', '127.0.0.6/IPv4'])
  })

  it('refuses the peer when the trust function throws', async () => {
    const h = await start({
      trust: () => {
        throw new Error('boom')
      },
      untrusted: 'direct',
    })
    expect(await exchange(h.port, v1())).toBe('')
    await waitFor(() => h.errors.length === 1, 'h.errors.length === 1')
    expect(h.errors[0]!.code).toBe('ERR_PROXY_UNTRUSTED_PEER')
  })

  it('trusts an IPv4 balancer on a dual-stack listener through its ::ffff: mapped address', async (ctx) => {
    let h: Harness
    try {
      h = await start({ trust: ['127.0.0.0/8'] }, '::')
    } catch (err) {
      // Machines without IPv6 cannot run this; CI must.
      if (process.env.CI === 'true') throw err
      console.log(`SKIPPED: dual-stack trust test, cannot listen on '::' (${(err as Error).message})`)
      ctx.skip()
      return
    }
    expect(await exchange(h.port, v1())).toBe('203.0.113.7 51234\n')
  })
})

describe('mode', () => {
  it("refuses a trusted peer that sends no header in 'require' mode", async () => {
    const h = await start()
    expect(await exchange(h.port, 'GET / HTTP/1.1\r\n\r\n')).toBe('')
    await waitFor(() => h.errors.length === 1, 'h.errors.length === 1')
    expect(h.errors[0]!.code).toBe('ERR_PROXY_HEADER_MISSING')
  })

  it("serves a trusted peer without a header in 'optional' mode, every byte intact", async () => {
    const h = await start({ mode: 'optional' })
    expect(await exchange(h.port, 'GET / HTTP/1.1\r\n\r\n', '127.0.0.9')).toMatch(/^127\.0\.0\.9 \d+\nGET \/ HTTP\/1\.1\r\n\r\n$/)
    expect(await exchange(h.port, Buffer.concat([v2(), Buffer.from('after')]))).toBe('203.0.113.7 51234\nafter')
  })

  it("in 'optional' mode still refuses a malformed header", async () => {
    const h = await start({ mode: 'optional' })
    expect(await exchange(h.port, 'PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n')).toBe('')
    await waitFor(() => h.errors.length === 1, 'h.errors.length === 1')
    expect(h.errors[0]!.code).toBe('ERR_PROXY_V1_BAD_PORT')
  })

  it.each(['PROXY\tTCP4 1.2.3.4 5.6.7.8 1 2\r\n', 'PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n'])(
    "in 'optional' mode refuses %j (\"PROXY\" without its single space) instead of serving it as data",
    async (line) => {
      const h = await start({ mode: 'optional' })
      expect(await exchange(h.port, line)).toBe('')
      await waitFor(() => h.errors.length === 1, 'h.errors.length === 1')
      expect(h.errors[0]!.code).toBe('ERR_PROXY_V1_SYNTAX')
    },
  )
})

describe('headers that keep the real peer address', () => {
  const local = Buffer.from(encode({ version: 2, command: 'LOCAL' }))
  const unknown = Buffer.from('PROXY UNKNOWN\r\n')
  const unknownLong = Buffer.from('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n')
  const unspec = Buffer.from(encode({ version: 2, family: 'UNSPEC' }))
  const unix = Buffer.from(encode({ version: 2, family: 'UNIX', source: { path: '/a' }, destination: { path: '/b' } }))
  // LOCAL with an address block: the addresses must be ignored (sozu accepted them).
  const localWithAddresses = Buffer.from(encode({ version: 2, family: 'IPv4', source: CLIENT, destination: CLIENT }))
  localWithAddresses[12] = 0x20

  it.each([
    ['v2 LOCAL', local, 'LOCAL'],
    ['v2 LOCAL carrying addresses', localWithAddresses, 'LOCAL'],
    ['v1 UNKNOWN', unknown, 'PROXY'],
    ['v1 UNKNOWN long form', unknownLong, 'PROXY'],
    ['v2 UNSPEC', unspec, 'PROXY'],
    ['v2 UNIX', unix, 'PROXY'],
  ])('%s', async (_name, header, command) => {
    let info: ReturnType<typeof getProxyInfo>
    const server = withProxyProtocol(
      net.createServer((s) => {
        info = getProxyInfo(s)
        s.resume() // read to the client's FIN so the socket can close
        s.end(`${s.remoteAddress}`)
      }),
    )
    open.push(server)
    const port = await listen(server)
    expect(await exchange(port, Buffer.concat([header, Buffer.from('x')]), '127.0.0.42')).toBe('127.0.0.42')
    expect(info!.header!.command).toBe(command)
    expect(info!.client).toBe(info!.peer)
    if (command === 'LOCAL') expect(proxyProtocolStats(server)!.local).toBe(1)
  })
})

describe('limits', () => {
  it('closes a connection that has not sent a whole header within headerTimeout', async () => {
    const h = await start({ headerTimeout: 200 })
    // Timed on the server, from the moment it accepted the connection, as the deadline is.
    const clock = serverClock(h.server)
    const refusedAfter: number[] = []
    h.server.on('proxyProtocolError', (_err: ProxyProtocolError, socket: net.Socket) => refusedAfter.push(clock.since(socket)))
    const c = await connect(h.port)
    c.write('PROXY TCP4 1.2.3.4 ')
    expect(await closedWithin(c, 3000)).toBe(true)
    await waitFor(() => h.errors.length === 1, 'the timeout to be reported')
    expect(h.errors[0]!.code).toBe('ERR_PROXY_HEADER_TIMEOUT')
    expect(refusedAfter).toHaveLength(1)
    expect(refusedAfter[0]).toBeGreaterThanOrEqual(200)
    expect(proxyProtocolStats(h.server)!.pending).toBe(0)
  })

  it('closes a connection whose v2 header is larger than maxHeaderSize as soon as the length is known', async () => {
    const h = await start({ maxHeaderSize: 256 })
    const big = Buffer.from(encode({ version: 2, family: 'IPv4', source: CLIENT, destination: CLIENT }, { padTo: 300 }))
    const c = await connect(h.port)
    c.write(big.subarray(0, 16)) // only the fixed part
    expect(await closedWithin(c, 2000)).toBe(true)
    await waitFor(() => h.errors.length === 1, 'h.errors.length === 1')
    expect(h.errors[0]!.code).toBe('ERR_PROXY_HEADER_TOO_LARGE')
  })

  it('cleans up when the peer sends FIN in the middle of the header', async () => {
    const h = await start()
    const c = await connect(h.port)
    c.end(v2().subarray(0, 20))
    expect(await closedWithin(c, 2000)).toBe(true)
    await waitFor(() => h.errors.length === 1, 'h.errors.length === 1')
    expect(h.errors[0]!.code).toBe('ERR_PROXY_CONNECTION_CLOSED')
    await waitFor(() => proxyProtocolStats(h.server)!.pending === 0, 'proxyProtocolStats(h.server).pending === 0')
    const count = await new Promise<number>((r) => h.server.getConnections((_e, n) => r(n)))
    expect(count).toBe(0)
  })

  it('cleans up when the peer resets the connection in the middle of the header', async () => {
    const h = await start()
    const c = await connect(h.port)
    c.write(v1().subarray(0, 10))
    await waitFor(() => proxyProtocolStats(h.server)!.pending === 1, 'proxyProtocolStats(h.server).pending === 1')
    c.resetAndDestroy()
    await waitFor(() => h.errors.length === 1, 'h.errors.length === 1')
    expect(h.errors[0]!.code).toBe('ERR_PROXY_CONNECTION_CLOSED')
    await waitFor(() => proxyProtocolStats(h.server)!.pending === 0, 'proxyProtocolStats(h.server).pending === 0')
  })
})

describe('errors', () => {
  it('reports a malformed header with its code, closes the socket, and keeps serving', async () => {
    const h = await start()
    expect(await exchange(h.port, 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n')).toBe('')
    expect(await exchange(h.port, v1())).toBe('203.0.113.7 51234\n')
    expect(h.errors.map((e) => e.code)).toEqual(['ERR_PROXY_V1_SYNTAX'])
  })

  it('passes the socket and the peer with proxyProtocolError', async () => {
    const server = withProxyProtocol(net.createServer())
    open.push(server)
    const got: unknown[][] = []
    server.on('proxyProtocolError', (...args) => got.push(args))
    const port = await listen(server)
    await exchange(port, '\r\n\r\n\0\r\nQUIT\n\x31')
    await waitFor(() => got.length === 1, 'got.length === 1')
    const [err, socket, peer] = got[0]!
    expect((err as ProxyProtocolError).code).toBe('ERR_PROXY_V2_BAD_VERSION')
    expect(socket).toBeInstanceOf(net.Socket)
    expect((socket as net.Socket).destroyed).toBe(true) // right after the listeners ran
    expect(peer).toMatchObject({ address: '127.0.0.1', family: 'IPv4' })
  })

  it('lets a proxyProtocolError listener answer the refused client before the socket closes', async () => {
    const server = withProxyProtocol(net.createServer())
    open.push(server)
    server.on('proxyProtocolError', (err: ProxyProtocolError, socket: net.Socket) => socket.end(`refused: ${err.code}\n`))
    const port = await listen(server)
    const c = await connect(port)
    c.write('GET / HTTP/1.1\r\n\r\n')
    expect((await readAll(c, 5000)).toString()).toBe('refused: ERR_PROXY_HEADER_MISSING\n')
    await waitFor(() => proxyProtocolStats(server)!.refused.ERR_PROXY_HEADER_MISSING === 1, 'proxyProtocolStats(server).refused.ERR_PROXY_HEADER_MISSING === 1')
  })

  it('closes a refused socket whose listener answered but whose client never closes, within a second or so', async () => {
    const server = withProxyProtocol(net.createServer({ allowHalfOpen: true }))
    open.push(server)
    let refusedSocket: net.Socket | undefined
    server.on('proxyProtocolError', (_err: ProxyProtocolError, socket: net.Socket) => {
      refusedSocket = socket
      socket.end('no\n')
    })
    const port = await listen(server)
    const c = await connect(port)
    c.on('end', () => {}) // half-open: the client keeps its side open and never reads to the end
    c.write('nope')
    await waitFor(() => refusedSocket !== undefined, 'the refused socket')
    await waitFor(() => refusedSocket!.destroyed, 'the refused socket to be destroyed', 3000)
    c.destroy()
  })

  it('still closes the refused socket, and still enforces later header deadlines, when a proxyProtocolError listener throws', async () => {
    const server = withProxyProtocol(net.createServer(), { headerTimeout: 150 })
    open.push(server)
    const reported: string[] = []
    server.on('proxyProtocolError', (err: ProxyProtocolError) => {
      reported.push(err.code)
      throw new Error('a buggy logger')
    })
    const port = await listen(server)
    const thrown: unknown[] = []
    // The listener's exception surfaces where it was thrown (an 'uncaughtException' here): catch it for the test.
    const onUncaught = (e: unknown): void => {
      thrown.push(e)
    }
    const listeners = process.listeners('uncaughtException')
    process.removeAllListeners('uncaughtException')
    process.on('uncaughtException', onUncaught)
    try {
      const bad = await connect(port)
      const slow1 = await connect(port)
      slow1.write('PROXY ')
      const slow2 = await connect(port)
      slow2.write('PROXY ')
      const badClosed = closedWithin(bad, 2000)
      bad.write('PROXY TCP9\r\n') // refused at once: the listener throws from the socket's data path
      expect(await badClosed).toBe(true)
      // Both timeouts fire from one deadline loop; the first listener call throws, the second must still come.
      expect(await closedWithin(slow1, 3000)).toBe(true)
      expect(await closedWithin(slow2, 3000)).toBe(true)
      await waitFor(() => reported.length === 3, 'reported.length === 3')
      expect(reported.sort()).toEqual(['ERR_PROXY_HEADER_TIMEOUT', 'ERR_PROXY_HEADER_TIMEOUT', 'ERR_PROXY_V1_BAD_PROTOCOL'])
      expect(proxyProtocolStats(server)!.pending).toBe(0)
    } finally {
      process.off('uncaughtException', onUncaught)
      for (const l of listeners) process.on('uncaughtException', l)
    }
    expect(thrown.length).toBeGreaterThanOrEqual(2)
  })

  it('never emits an unhandled error when nobody listens for proxyProtocolError', async () => {
    const server = withProxyProtocol(net.createServer())
    open.push(server)
    const port = await listen(server)
    expect(await exchange(port, 'garbage')).toBe('')
    expect(proxyProtocolStats(server)!.refused).toEqual({ ERR_PROXY_HEADER_MISSING: 1 })
  })
})

describe('onHeader', () => {
  it('refuses the connection when it returns false', async () => {
    const h = await start({ onHeader: (hdr) => hdr.version === 2 })
    expect(await exchange(h.port, v1())).toBe('')
    expect(await exchange(h.port, v2())).toBe('203.0.113.7 51234\n')
    expect(h.errors.map((e) => e.code)).toEqual(['ERR_PROXY_REJECTED'])
  })

  it('waits for a promise and refuses when it throws', async () => {
    const h = await start({
      onHeader: async (hdr) => {
        await new Promise((r) => setImmediate(r))
        if (hdr.version === 1) throw new Error('no v1 here')
        return true
      },
    })
    expect(await exchange(h.port, Buffer.concat([v2(), Buffer.from('data')]))).toBe('203.0.113.7 51234\ndata')
    // No FIN from this client: a peer that closes while onHeader is pending is CONNECTION_CLOSED instead.
    const c = await connect(h.port)
    c.write(v1())
    expect((await readAll(c)).toString()).toBe('')
    expect(h.errors[0]!.code).toBe('ERR_PROXY_REJECTED')
    expect((h.errors[0]!.cause as Error).message).toBe('no v1 here')
  })

  it('is given the socket, already reporting the client, and may read the TLVs (only one AWS VPC endpoint allowed)', async () => {
    const { decodeTlvs, tlv } = await import('@proxyproto/core')
    const seen: { isSocket: boolean; remoteAddress?: string; peer?: string }[] = []
    const h = await start({
      onHeader: (hdr, socket) => {
        seen.push({ isSocket: socket instanceof net.Socket, remoteAddress: socket.remoteAddress, peer: getProxyInfo(socket)?.peer.address })
        return decodeTlvs(hdr.tlvs).awsVpceId === 'vpce-1'
      },
    })
    const make = (id: string) => Buffer.from(encode({ version: 2, family: 'IPv4', source: CLIENT, destination: CLIENT, tlvs: [tlv.awsVpceId(id)] }))
    expect(await exchange(h.port, make('vpce-1'))).toBe('203.0.113.7 51234\n')
    expect(await exchange(h.port, make('vpce-2'))).toBe('')
    expect(seen).toEqual([
      { isSocket: true, remoteAddress: CLIENT.address, peer: '127.0.0.1' },
      { isSocket: true, remoteAddress: CLIENT.address, peer: '127.0.0.1' },
    ])
  })

  it('closes a connection whose peer sent the header and FIN while an async onHeader was pending (no half-open socket)', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const server = withProxyProtocol(
      http.createServer((_req, res) => res.end('x')),
      {
        onHeader: async () => {
          await gate
          return true
        },
      },
    )
    open.push(server)
    const port = await listen(server)
    const c = await connect(port)
    const closed = closedWithin(c, 2000)
    c.end(v2()) // header, then FIN at once: a health check that connects, sends its header and leaves
    expect(await closed).toBe(true) // while onHeader still waits
    release()
    await waitFor(() => proxyProtocolStats(server)!.pending === 0, 'proxyProtocolStats(server).pending === 0')
    const count = await new Promise<number>((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n))))
    expect(count).toBe(0)
    expect(proxyProtocolStats(server)!.refused).toEqual({ ERR_PROXY_CONNECTION_CLOSED: 1 })
  })

  it('still serves a request that came with the header and FIN while an async onHeader was pending', async () => {
    const server = withProxyProtocol(
      http.createServer((req, res) => res.end(req.socket.remoteAddress)),
      {
        onHeader: async () => {
          // Slow user code; whether the FIN is read before or after the verdict, the request must be served.
          await new Promise((r) => setTimeout(r, 30))
          return true
        },
      },
    )
    open.push(server)
    const port = await listen(server)
    const reply = await exchange(port, Buffer.concat([v2(), Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]))
    expect(reply).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*\r\n\r\n203\.0\.113\.7$/)
  })
})

describe('re-emitted sockets', () => {
  it.each([
    [false, []],
    [true, ['203.0.113.7']],
  ] as const)('does not hand on a socket re-emitted while onHeader is pending (verdict %s), and hands it on once at most', async (verdict, expected) => {
    const served: (string | undefined)[] = []
    // Ordered by promises, not timers: the socket is re-emitted after onHeader has been called and
    // before its verdict is known.
    let judging!: () => void
    const onHeaderCalled = new Promise<void>((r) => (judging = r))
    let reemitted!: () => void
    const reemit = new Promise<void>((r) => (reemitted = r))
    const prepared = withProxyProtocol(
      net.createServer((s) => {
        served.push(s.remoteAddress)
        s.end()
      }),
      {
        onHeader: async () => {
          judging()
          await reemit
          return verdict
        },
      },
    )
    const front = net.createServer((s) => {
      prepared.emit('connection', s)
      void onHeaderCalled.then(() => {
        prepared.emit('connection', s) // user code handing the socket on again
        reemitted()
      })
    })
    open.push(front)
    const port = await listen(front)
    const c = await connect(port)
    c.write(v2())
    expect(await closedWithin(c, 3000)).toBe(true)
    await waitFor(() => proxyProtocolStats(prepared)!.pending === 0, 'the verdict')
    expect(served).toEqual(expected)
    expect(proxyProtocolStats(prepared)!.connections).toBe(1)
  })

  it('ignores a second connection event for a socket still sending its header, and still times it out once', async () => {
    const prepared = withProxyProtocol(net.createServer(), { headerTimeout: 150 })
    const errors: string[] = []
    prepared.on('proxyProtocolError', (e: ProxyProtocolError) => errors.push(e.code))
    let first = true
    const front = net.createServer((s) => {
      prepared.emit('connection', s)
      if (first) prepared.emit('connection', s) // user code that hands the same socket on twice
      first = false
    })
    open.push(front)
    const port = await listen(front)
    const twice = await connect(port)
    twice.write('PROXY TCP4 ')
    expect(await closedWithin(twice, 3000)).toBe(true)
    // A second connection's deadline falls after any duplicate of the first one's (deadlines expire in
    // arrival order), so once it has timed out, a second timeout of the first would have been reported.
    // It also shows the deadline loop still runs.
    const later = await connect(port)
    later.write('PROXY TCP4 ')
    expect(await closedWithin(later, 3000)).toBe(true)
    await waitFor(() => errors.length >= 2, 'both timeouts')
    expect(errors).toEqual(['ERR_PROXY_HEADER_TIMEOUT', 'ERR_PROXY_HEADER_TIMEOUT'])
    expect(proxyProtocolStats(prepared)!.pending).toBe(0)
    expect(proxyProtocolStats(prepared)!.connections).toBe(2)
  })
})

describe('stats', () => {
  it('counts accepted v1 and v2, LOCAL, direct and refusals by code', async () => {
    const h = await start({ mode: 'optional' })
    await exchange(h.port, v1())
    await exchange(h.port, v2())
    await exchange(h.port, v2())
    await exchange(h.port, Buffer.from(encode({ version: 2, command: 'LOCAL' })))
    await exchange(h.port, 'hello')
    await exchange(h.port, 'PROXY TCP9\r\n')
    await waitFor(() => h.errors.length === 1, 'h.errors.length === 1')
    expect(proxyProtocolStats(h.server)).toEqual({
      connections: 6,
      accepted: { v1: 1, v2: 2 },
      local: 1,
      healthChecks: 0,
      direct: 1,
      refused: { ERR_PROXY_V1_BAD_PROTOCOL: 1 },
      pending: 0,
    })
  })
})

describe('shutdown', () => {
  it('drops connections still waiting for their header when the server closes, without reporting them', async () => {
    const h = await start({ headerTimeout: 60_000 })
    const c = await connect(h.port)
    c.write('PROXY TCP4 1.2.3.4')
    await waitFor(() => proxyProtocolStats(h.server)!.pending === 1, 'proxyProtocolStats(h.server).pending === 1')
    const t0 = Date.now()
    await new Promise<void>((resolve) => h.server.close(() => resolve()))
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(await closedWithin(c, 1000)).toBe(true)
    expect(proxyProtocolStats(h.server)!.pending).toBe(0)
    expect(h.errors).toEqual([])
    open.splice(open.indexOf(h.server), 1)
  })
})
