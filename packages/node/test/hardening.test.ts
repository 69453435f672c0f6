/**
 * Issue 10: health checks are not errors, a cap on pending handshakes, refusals are never silent,
 * and user code (onHeader, 'connection' listeners) fails the way it would without the library.
 */
import { encode } from '@proxyproto/core'
import { once } from 'node:events'
import net from 'node:net'
import {
  DEFAULT_MAX_PENDING,
  getProxyInfo,
  type ProxyProtocolError,
  type ProxyProtocolOptions,
  proxyProtocolStats,
  withProxyProtocol,
} from '@proxyproto/node'
import { afterEach, describe, expect, it } from 'vitest'
import { closeServer, closedWithin, connect, listen, readAll, v1, v2 } from './helpers.js'

const open: net.Server[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map(closeServer))
})

interface Harness {
  server: net.Server
  port: number
  errors: ProxyProtocolError[]
  /** Resolves with the next refusal. */
  nextError(): Promise<ProxyProtocolError>
}

async function start(options?: ProxyProtocolOptions, listenForErrors = true): Promise<Harness> {
  const server = withProxyProtocol(
    net.createServer((s) => {
      s.on('error', () => {})
      s.end(`${s.remoteAddress}\n`)
    }),
    options,
  )
  const errors: ProxyProtocolError[] = []
  if (listenForErrors) server.on('proxyProtocolError', (err: ProxyProtocolError) => errors.push(err))
  open.push(server)
  const port = await listen(server)
  const nextError = async (): Promise<ProxyProtocolError> =>
    (await once(server, 'proxyProtocolError'))[0] as ProxyProtocolError
  return { server, port, errors, nextError }
}

/** Collects the process warnings of type ProxyProtocolWarning emitted while `fn` runs. */
async function warningsDuring(fn: () => Promise<void>): Promise<Array<Error & { code?: string }>> {
  const seen: Array<Error & { code?: string }> = []
  const onWarning = (w: Error & { code?: string }): void => {
    if (w.name === 'ProxyProtocolWarning') seen.push(w)
  }
  process.on('warning', onWarning)
  try {
    await fn()
    // 'warning' is emitted on the next tick after process.emitWarning.
    await new Promise((r) => setImmediate(r))
  } finally {
    process.off('warning', onWarning)
  }
  return seen
}

/** Opens a connection from a trusted peer and closes it without sending a byte. */
async function probe(port: number, how: 'fin' | 'rst'): Promise<void> {
  const c = await connect(port)
  const closed = once(c, 'close')
  c.on('error', () => {})
  if (how === 'fin') c.end()
  else c.resetAndDestroy()
  await closed
}

describe('health checks (a trusted peer that closes without sending a byte)', () => {
  it.each(['fin', 'rst'] as const)(
    'are counted in stats.healthChecks, not as refusals, on %s',
    async (how) => {
      const h = await start()
      const stats = proxyProtocolStats(h.server)!
      const warnings = await warningsDuring(async () => {
        await probe(h.port, how)
        await probe(h.port, how)
        // A server-side clock: wait until both connections are settled.
        while (stats.pending > 0 || stats.healthChecks + Object.keys(stats.refused).length < 2)
          await new Promise((r) => setImmediate(r))
      })
      expect(stats.healthChecks).toBe(2)
      expect(stats.refused).toEqual({})
      expect(h.errors).toEqual([])
      expect(warnings).toEqual([])
    },
  )

  it('still reports a peer that sent part of a header and then closed', async () => {
    const h = await start()
    const c = await connect(h.port)
    const error = h.nextError()
    c.end(v2().subarray(0, 5))
    expect((await error).code).toBe('ERR_PROXY_CONNECTION_CLOSED')
    expect(proxyProtocolStats(h.server)!.healthChecks).toBe(0)
  })

  it('are reported as ERR_PROXY_CONNECTION_CLOSED again with reportHealthChecks: true', async () => {
    const h = await start({ reportHealthChecks: true })
    const error = h.nextError()
    await probe(h.port, 'fin')
    expect((await error).code).toBe('ERR_PROXY_CONNECTION_CLOSED')
    expect(proxyProtocolStats(h.server)!.healthChecks).toBe(0)
    expect(proxyProtocolStats(h.server)!.refused).toEqual({ ERR_PROXY_CONNECTION_CLOSED: 1 })
  })

  it('a LOCAL header keeps its own counter', async () => {
    const h = await start()
    const c = await connect(h.port)
    c.end(Buffer.from('0d0a0d0a000d0a515549540a20000000', 'hex'))
    expect((await readAll(c)).toString()).toBe('127.0.0.1\n')
    expect(proxyProtocolStats(h.server)).toMatchObject({ local: 1, healthChecks: 0, refused: {} })
  })
})

describe('maxPending', () => {
  it(`defaults to ${DEFAULT_MAX_PENDING} and is validated`, () => {
    expect(DEFAULT_MAX_PENDING).toBe(10_000)
    expect(() => withProxyProtocol(net.createServer(), { maxPending: 0 })).toThrow(/maxPending/)
    expect(() => withProxyProtocol(net.createServer(), { maxPending: 1.5 })).toThrow(/maxPending/)
  })

  it('refuses a connection beyond maxPending at once with ERR_PROXY_TOO_MANY_PENDING', async () => {
    const h = await start({ maxPending: 2, headerTimeout: 30_000 })
    const stats = proxyProtocolStats(h.server)!
    const waiting = [await connect(h.port), await connect(h.port)]
    while (stats.pending < 2) await new Promise((r) => setImmediate(r))
    const error = h.nextError()
    const third = await connect(h.port)
    expect((await error).code).toBe('ERR_PROXY_TOO_MANY_PENDING')
    expect(await closedWithin(third, 2000)).toBe(true)
    expect(stats.refused).toEqual({ ERR_PROXY_TOO_MANY_PENDING: 1 })
    // Once one of the waiting ones sends its header, there is room again.
    waiting[0]!.write(v1())
    expect((await readAll(waiting[0]!)).toString()).toBe('203.0.113.7\n')
    const fourth = await connect(h.port)
    fourth.write(v2())
    expect((await readAll(fourth)).toString()).toBe('203.0.113.7\n')
    waiting[1]!.destroy()
  })

  it("does not count peers served with untrusted: 'direct'", async () => {
    const h = await start({ maxPending: 1, headerTimeout: 30_000, trust: ['127.0.0.1'], untrusted: 'direct' })
    const stats = proxyProtocolStats(h.server)!
    const waiting = await connect(h.port)
    while (stats.pending < 1) await new Promise((r) => setImmediate(r))
    for (let i = 0; i < 3; i++) {
      const direct = await connect(h.port, '127.0.0.31')
      expect((await readAll(direct)).toString()).toBe('127.0.0.31\n')
    }
    expect(stats.direct).toBe(3)
    expect(stats.refused).toEqual({})
    waiting.destroy()
  })
})

describe('refusals are never silent', () => {
  it('emits one process warning per error code per server when nobody listens for proxyProtocolError', async () => {
    const h = await start({ trust: ['10.0.0.0/8'] }, false)
    const h2 = await start({ trust: ['10.0.0.0/8'] }, false)
    const warnings = await warningsDuring(async () => {
      for (const port of [h.port, h.port, h2.port]) {
        const c = await connect(port, '127.0.0.44')
        await closedWithin(c, 2000)
      }
    })
    expect(warnings.map((w) => w.code)).toEqual(['ERR_PROXY_UNTRUSTED_PEER', 'ERR_PROXY_UNTRUSTED_PEER'])
    expect(warnings[0]!.message).toContain('127.0.0.44')
    expect(warnings[0]!.message).toContain("trust: ['127.0.0.44']")
    expect(proxyProtocolStats(h.server)!.refused).toEqual({ ERR_PROXY_UNTRUSTED_PEER: 2 })
  })

  it('warns again for another code on the same server', async () => {
    const h = await start(undefined, false)
    const warnings = await warningsDuring(async () => {
      for (const data of [
        'GET / HTTP/1.1\r\n\r\n',
        'GET / HTTP/1.1\r\n\r\n',
        'PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n',
      ]) {
        const c = await connect(h.port)
        c.end(data)
        await closedWithin(c, 2000)
      }
    })
    expect(warnings.map((w) => w.code)).toEqual(['ERR_PROXY_HEADER_MISSING', 'ERR_PROXY_V1_BAD_PORT'])
  })

  it('stays quiet when a proxyProtocolError listener is attached', async () => {
    const h = await start({ trust: ['10.0.0.0/8'] })
    const warnings = await warningsDuring(async () => {
      const c = await connect(h.port)
      await closedWithin(c, 2000)
    })
    expect(warnings).toEqual([])
    expect(h.errors.map((e) => e.code)).toEqual(['ERR_PROXY_UNTRUSTED_PEER'])
  })
})

describe('onHeader and connection listeners fail as they would without the library', () => {
  it('a thenable whose then throws refuses the connection at once with ERR_PROXY_REJECTED', async () => {
    const boom = new Error('then exploded')
    const h = await start({
      headerTimeout: 20_000,
      onHeader: () =>
        ({
          // biome-ignore lint/suspicious/noThenProperty: the thenable under test
          then: () => {
            throw boom
          },
        }) as unknown as Promise<boolean>,
    })
    const c = await connect(h.port)
    const error = h.nextError()
    c.write(v1())
    const e = await error
    expect(e.code).toBe('ERR_PROXY_REJECTED')
    expect(e.cause).toBe(boom)
    expect(await closedWithin(c, 2000)).toBe(true)
  })

  it('a thenable whose then getter throws refuses the connection too', async () => {
    const h = await start({
      onHeader: () =>
        ({
          // biome-ignore lint/suspicious/noThenProperty: the thenable under test
          get then() {
            throw new Error('getter')
          },
        }) as unknown as Promise<boolean>,
    })
    const c = await connect(h.port)
    const error = h.nextError()
    c.write(v1())
    expect((await error).code).toBe('ERR_PROXY_REJECTED')
  })

  /**
   * Runs a server whose 'connection' listener throws, captures the uncaught exception (as
   * process.on('uncaughtException') would see it), and returns it.
   */
  async function thrownByConnectionListener(prepare: (server: net.Server) => void): Promise<unknown> {
    const thrown = new Error('listener bug')
    const accepted: net.Socket[] = []
    const server = net.createServer((s) => {
      accepted.push(s) // nobody reads it after the throw: closed by hand below
      throw thrown
    })
    prepare(server)
    open.push(server)
    const port = await listen(server)
    const rejections: unknown[] = []
    const onRejection = (reason: unknown): void => {
      rejections.push(reason)
    }
    process.on('unhandledRejection', onRejection)
    let captured: unknown
    const uncaught = new Promise<void>((resolve) => {
      process.setUncaughtExceptionCaptureCallback((err) => {
        captured = err
        resolve()
      })
    })
    try {
      const c = await connect(port)
      c.on('error', () => {})
      c.write(v1())
      const timeout = new Promise<void>((r) => setTimeout(r, 2000).unref())
      await Promise.race([uncaught, timeout])
      c.destroy()
      for (const s of accepted) s.destroy()
    } finally {
      process.setUncaughtExceptionCaptureCallback(null)
      process.off('unhandledRejection', onRejection)
    }
    expect(rejections).toEqual([])
    return captured === thrown ? 'uncaughtException' : captured
  }

  it('a throwing connection listener is an uncaughtException without the library (control)', async () => {
    expect(await thrownByConnectionListener(() => {})).toBe('uncaughtException')
  })

  it('a throwing connection listener is an uncaughtException behind withProxyProtocol', async () => {
    expect(await thrownByConnectionListener((s) => withProxyProtocol(s))).toBe('uncaughtException')
  })

  it('a throwing connection listener is an uncaughtException with an async onHeader', async () => {
    expect(
      await thrownByConnectionListener((s) => withProxyProtocol(s, { onHeader: async () => true })),
    ).toBe('uncaughtException')
  })
})

describe('TLVs reachable from a handler never throw', () => {
  it('getProxyInfo(socket).tlvs lists an undecodable AUTHORITY in invalid and still decodes the others', async () => {
    let tlvs: NonNullable<ReturnType<typeof getProxyInfo>>['tlvs'] | undefined
    const server = withProxyProtocol(
      net.createServer((s) => {
        tlvs = getProxyInfo(s)!.tlvs
        s.end('ok')
      }),
    )
    open.push(server)
    const port = await listen(server)
    const header = encode({
      version: 2,
      family: 'IPv4',
      source: { address: '203.0.113.7', port: 51234 },
      destination: { address: '192.0.2.1', port: 443 },
      tlvs: [
        { type: 0x02, value: Buffer.from('fffe2e6578616d706c65', 'hex') }, // a client's non-UTF-8 SNI
        { type: 0xea, value: Buffer.from('\x01vpce-0abc', 'latin1') },
        { type: 0xe0, value: Buffer.from('0001', 'hex') }, // a GCP id of the wrong length
      ],
    })
    const c = await connect(port)
    c.end(header)
    expect((await readAll(c)).toString()).toBe('ok')
    expect(tlvs!.authority).toBeUndefined()
    expect(tlvs!.gcpPscConnectionId).toBeUndefined()
    expect(tlvs!.awsVpceId).toBe('vpce-0abc')
    expect(tlvs!.invalid.map((i) => [i.type, i.error.code])).toEqual([
      [0x02, 'ERR_PROXY_TLV_INVALID'],
      [0xe0, 'ERR_PROXY_TLV_INVALID'],
    ])
  })
})
