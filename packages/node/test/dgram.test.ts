/**
 * withProxyProtocol on a dgram.Socket: the three framings, reply routing through the flow table, bounds,
 * and every bad datagram dropped and counted. The "balancer" is a socket of this process on 127.0.0.1.
 */
import { encodeSpp, ErrorCodes, parseSpp, type ProxyProtocolError } from '@proxyproto/core'
import {
  type DatagramProxyProtocolOptions,
  getProxyInfo,
  isProxyProtocolEnabled,
  proxyProtocolStats,
  withProxyProtocol,
} from '@proxyproto/node'
import dgram from 'node:dgram'
import { once } from 'node:events'
import net from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { bindUdp, CLIENT, CLIENT6, closeUdp, collect, dgramHeader, nextDatagram, portOf, sendTo } from './helpers.js'

const open: dgram.Socket[] = []
afterEach(async () => {
  vi.useRealTimers()
  await closeUdp(...open.splice(0))
})

async function setup(options: DatagramProxyProtocolOptions = {}, balancerAddress = '127.0.0.1') {
  const server = withProxyProtocol(await bindUdp(), { trust: ['127.0.0.1'], ...options })
  const balancer = await bindUdp(balancerAddress)
  open.push(server, balancer)
  const errors: Array<{ err: ProxyProtocolError; rinfo: unknown }> = []
  server.on('proxyProtocolError', (err: ProxyProtocolError, rinfo: unknown) => errors.push({ err, rinfo }))
  const port = portOf(server)
  return { server, balancer, port, errors, stats: proxyProtocolStats(server)! }
}

/** Resolves on the next 'proxyProtocolError' of `socket`. */
async function nextDrop(socket: dgram.Socket): Promise<ProxyProtocolError> {
  const [err] = await once(socket, 'proxyProtocolError')
  return err as ProxyProtocolError
}

describe("framing 'v2': a header on every datagram (dnsdist)", () => {
  it('delivers the payload with the client as rinfo, and getProxyInfo(rinfo) names the balancer', async () => {
    const { server, balancer, port, stats } = await setup()
    const got = nextDatagram(server)
    await sendTo(balancer, [dgramHeader(CLIENT), Buffer.from('ping')], port)
    const { msg, rinfo } = await got
    expect(msg.toString()).toBe('ping')
    expect(rinfo).toEqual({ address: CLIENT.address, port: CLIENT.port, family: 'IPv4', size: 4 })
    const info = getProxyInfo(rinfo)!
    expect(info.peer).toEqual({ address: '127.0.0.1', port: portOf(balancer), family: 'IPv4' })
    expect(info.header).toMatchObject({ version: 2, transport: 'DGRAM', family: 'IPv4' })
    expect(stats).toMatchObject({ datagrams: 1, accepted: { v2: 1, spp: 0, flow: 0 }, flows: 1, dropped: {} })
    expect(isProxyProtocolEnabled(server)).toBe(true)
  })

  it('routes a reply to the client back to the balancer, bare, and a reply to a non-client unchanged', async () => {
    const { server, balancer, port, stats } = await setup()
    server.on('message', (msg, rinfo) => server.send(`pong ${msg}`, rinfo.port, rinfo.address))
    const reply = nextDatagram(balancer)
    await sendTo(balancer, [dgramHeader(CLIENT6), Buffer.from('1')], port)
    expect((await reply).msg.toString()).toBe('pong 1')
    expect(stats.replies).toEqual({ routed: 1, direct: 0, dropped: 0 })
    // The balancer itself was never a client: sent to as given.
    const other = nextDatagram(balancer)
    server.send('hello', portOf(balancer), '127.0.0.1')
    expect((await other).msg.toString()).toBe('hello')
    expect(stats.replies.direct).toBe(1)
  })

  it('routes every send() form: offset and length, arrays, a callback', async () => {
    const { server, balancer, port } = await setup()
    const got = nextDatagram(server)
    await sendTo(balancer, dgramHeader(CLIENT), port)
    const { rinfo } = await got
    const replies = collect(balancer)
    await new Promise<void>((r) =>
      server.send(Buffer.from('xxabcxx'), 2, 3, rinfo.port, rinfo.address, () => r()),
    )
    await new Promise<void>((r) =>
      server.send([Buffer.from('a'), Buffer.from('b')], rinfo.port, rinfo.address, () => r()),
    )
    await vi.waitUntil(() => replies.length === 2)
    expect(replies.map((d) => d.msg.toString())).toEqual(['abc', 'ab'])
  })

  it('delivers a LOCAL header (a health check) with the balancer as rinfo, and answers it directly', async () => {
    const { server, balancer, port, stats } = await setup()
    server.on('message', (msg, rinfo) => server.send(msg, rinfo.port, rinfo.address))
    const reply = nextDatagram(balancer)
    await sendTo(
      balancer,
      [
        Buffer.from(
          dgramHeader(CLIENT, undefined, {
            command: 'LOCAL',
            family: 'UNSPEC',
            transport: 'UNSPEC',
            source: undefined,
            destination: undefined,
          }),
        ),
        Buffer.from('hc'),
      ],
      port,
    )
    expect((await reply).msg.toString()).toBe('hc')
    expect(stats).toMatchObject({ local: 1, flows: 0, replies: { direct: 1, routed: 0 } })
  })
})

describe('bad datagrams are dropped and counted, never delivered', () => {
  const cases: Array<[string, () => Buffer, string]> = [
    ['no header', () => Buffer.from('plain'), ErrorCodes.HEADER_MISSING],
    [
      'a header cut short (parse says incomplete: a datagram is whole)',
      () => dgramHeader(CLIENT).subarray(0, 20),
      ErrorCodes.DATAGRAM_TRUNCATED,
    ],
    [
      'a STREAM (TCP) header',
      () => dgramHeader(CLIENT, undefined, { transport: 'STREAM' }),
      ErrorCodes.TRANSPORT_MISMATCH,
    ],
    [
      'a v1 line (TCP only)',
      () => Buffer.from('PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\nx'),
      ErrorCodes.VERSION_NOT_ALLOWED,
    ],
    [
      'a malformed v2 header',
      () => Buffer.from(dgramHeader(CLIENT).map((b, i) => (i === 12 ? 0x31 : b))),
      ErrorCodes.V2_BAD_VERSION,
    ],
  ]
  it.each(cases)('%s', async (_name, datagram, code) => {
    const { server, balancer, port, stats } = await setup()
    const delivered = collect(server)
    const drop = nextDrop(server)
    await sendTo(balancer, datagram(), port)
    const err = await drop
    expect(err.code).toBe(code)
    expect(stats.dropped).toEqual({ [code]: 1 })
    expect(delivered).toEqual([])
  })

  it('a wrong CRC32C', async () => {
    const { server, balancer, port } = await setup()
    const header = Buffer.from(dgramHeader(CLIENT, undefined, {}))
    const withCrc = Buffer.from(
      (await import('@proxyproto/core')).encode(
        {
          version: 2,
          family: 'IPv4',
          transport: 'DGRAM',
          source: CLIENT,
          destination: { address: '192.0.2.1', port: 53 },
        },
        { crc32c: true },
      ),
    )
    withCrc[withCrc.length - 1]! ^= 0xff
    expect(header.length).toBeLessThan(withCrc.length)
    const drop = nextDrop(server)
    await sendTo(balancer, withCrc, port)
    expect((await drop).code).toBe(ErrorCodes.CRC32C_MISMATCH)
  })

  it('an untrusted peer: dropped with its rinfo; with untrusted "direct" delivered as it came, header and all', async () => {
    const { server, balancer, port, stats } = await setup({}, '127.0.0.2')
    const drop = once(server, 'proxyProtocolError')
    await sendTo(balancer, dgramHeader(CLIENT), port)
    const [err, rinfo] = await drop
    expect((err as ProxyProtocolError).code).toBe(ErrorCodes.UNTRUSTED_PEER)
    expect(rinfo).toMatchObject({ address: '127.0.0.2', port: portOf(balancer) })
    expect(stats.dropped).toEqual({ ERR_PROXY_UNTRUSTED_PEER: 1 })

    const direct = await setup({ untrusted: 'direct' }, '127.0.0.2')
    const got = nextDatagram(direct.server)
    const raw = dgramHeader(CLIENT)
    await sendTo(direct.balancer, raw, direct.port)
    const { msg, rinfo: r } = await got
    expect(msg).toEqual(raw)
    expect(r.address).toBe('127.0.0.2')
    expect(direct.stats.direct).toBe(1)
  })

  it('onHeader returning false drops the datagram with ERR_PROXY_REJECTED; it sees the client as rinfo', async () => {
    const seen: string[] = []
    const { server, balancer, port } = await setup({
      onHeader: (_h, rinfo) => {
        seen.push(rinfo.address)
        return false
      },
    })
    const drop = nextDrop(server)
    await sendTo(balancer, dgramHeader(CLIENT), port)
    expect((await drop).code).toBe(ErrorCodes.REJECTED)
    expect(seen).toEqual([CLIENT.address])
  })

  it('without a proxyProtocolError listener: one process warning per code, never a throw', async () => {
    const server = withProxyProtocol(await bindUdp(), { trust: ['127.0.0.1'] })
    const balancer = await bindUdp()
    open.push(server, balancer)
    const warnings: Error[] = []
    const onWarning = (w: Error): number => warnings.push(w)
    process.on('warning', onWarning)
    try {
      for (let i = 0; i < 3; i++) await sendTo(balancer, Buffer.from('bare'), portOf(server))
      await vi.waitUntil(() => proxyProtocolStats(server)!.dropped.ERR_PROXY_HEADER_MISSING === 3)
      await new Promise((r) => setImmediate(r))
      expect(
        warnings.filter((w) => (w as { code?: string }).code === ErrorCodes.HEADER_MISSING),
      ).toHaveLength(1)
    } finally {
      process.removeListener('warning', onWarning)
    }
  })
})

describe("framing 'v2-first': a header on the first datagram of a flow only (Spectrum)", () => {
  it('delivers later bare datagrams from the same proxy port with the flow client', async () => {
    const { server, balancer, port, stats } = await setup({ framing: 'v2-first' })
    const delivered = collect(server)
    await sendTo(balancer, [dgramHeader(CLIENT), Buffer.from('first')], port)
    await sendTo(balancer, Buffer.from('second'), port)
    await sendTo(balancer, Buffer.from('third'), port)
    await vi.waitUntil(() => delivered.length === 3)
    expect(delivered.map((d) => [d.msg.toString(), d.rinfo.address, d.rinfo.port])).toEqual([
      ['first', CLIENT.address, CLIENT.port],
      ['second', CLIENT.address, CLIENT.port],
      ['third', CLIENT.address, CLIENT.port],
    ])
    expect(getProxyInfo(delivered[2]!.rinfo)!.header).toMatchObject({ version: 2 })
    expect(stats.accepted).toEqual({ v2: 1, spp: 0, flow: 2 })
  })

  it('when the first datagram is lost, the bare ones of that flow are dropped with ERR_PROXY_FLOW_UNKNOWN until a header comes', async () => {
    const { server, balancer, port, stats } = await setup({ framing: 'v2-first' })
    const delivered = collect(server)
    const drop = nextDrop(server)
    await sendTo(balancer, Buffer.from('second'), port) // the first, with the header, never arrived
    expect((await drop).code).toBe(ErrorCodes.FLOW_UNKNOWN)
    await sendTo(balancer, [dgramHeader(CLIENT), Buffer.from('again')], port)
    await vi.waitUntil(() => delivered.length === 1)
    expect(delivered[0]!.rinfo.address).toBe(CLIENT.address)
    expect(stats.dropped).toEqual({ ERR_PROXY_FLOW_UNKNOWN: 1 })
  })

  it('a new header from the same proxy port ends the previous client’s flow: replies to it are dropped', async () => {
    const { server, balancer, port } = await setup({ framing: 'v2-first' })
    const delivered = collect(server)
    await sendTo(balancer, dgramHeader(CLIENT), port)
    await sendTo(balancer, dgramHeader(CLIENT6), port)
    await vi.waitUntil(() => delivered.length === 2)
    const err = await new Promise<Error | null>((r) =>
      server.send('late', CLIENT.port, CLIENT.address, (e) => r(e)),
    )
    expect((err as ProxyProtocolError).code).toBe(ErrorCodes.FLOW_EXPIRED)
  })
})

describe("framing 'spp': Cloudflare's Simple Proxy Protocol on every datagram", () => {
  it('delivers the payload after the 38 bytes with the SPP client, and replies carry an SPP header with the addresses swapped', async () => {
    const { server, balancer, port, stats } = await setup({ framing: 'spp' })
    server.on('message', (msg, rinfo) =>
      server.send(Buffer.from(`echo ${msg} ${rinfo.address}`), rinfo.port, rinfo.address),
    )
    const reply = nextDatagram(balancer)
    const proxyEnd = { address: '198.51.100.1', port: 7777 }
    await sendTo(balancer, [encodeSpp(CLIENT, proxyEnd), Buffer.from('hi')], port)
    const { msg } = await reply
    const parsed = parseSpp(msg)
    expect(parsed.status).toBe('complete')
    if (parsed.status !== 'complete') return
    expect(parsed.header.source).toMatchObject(proxyEnd)
    expect(parsed.header.destination).toMatchObject(CLIENT)
    expect(msg.subarray(38).toString()).toBe(`echo hi ${CLIENT.address}`)
    expect(stats.accepted.spp).toBe(1)
  })

  it('drops a datagram without the magic, and one shorter than 38 bytes', async () => {
    const { server, balancer, port, stats } = await setup({ framing: 'spp' })
    let drop = nextDrop(server)
    await sendTo(balancer, Buffer.from('no magic'), port)
    expect((await drop).code).toBe(ErrorCodes.HEADER_MISSING)
    drop = nextDrop(server)
    await sendTo(balancer, encodeSpp(CLIENT, CLIENT).subarray(0, 30), port)
    expect((await drop).code).toBe(ErrorCodes.SPP_TRUNCATED)
    expect(stats.dropped).toEqual({ ERR_PROXY_HEADER_MISSING: 1, ERR_PROXY_SPP_TRUNCATED: 1 })
  })
})

describe('the flow table is bounded', () => {
  it('never holds more than maxFlows; replies to an evicted client are dropped, not sent to it directly', async () => {
    const { server, balancer, port, stats } = await setup({ maxFlows: 3 })
    const delivered = collect(server)
    for (let i = 0; i < 5; i++)
      await sendTo(balancer, dgramHeader({ address: '203.0.113.7', port: 1000 + i }), port)
    await vi.waitUntil(() => delivered.length === 5)
    expect(stats).toMatchObject({ flows: 3, flowsPeak: 3, flowsEnded: 2 })
    const err = await new Promise<Error | null>((r) => server.send('x', 1000, '203.0.113.7', (e) => r(e)))
    expect((err as ProxyProtocolError).code).toBe(ErrorCodes.FLOW_EXPIRED)
    const ok = nextDatagram(balancer)
    server.send('y', 1004, '203.0.113.7')
    expect((await ok).msg.toString()).toBe('y')
    expect(stats.replies).toEqual({ routed: 1, direct: 0, dropped: 1 })
  })

  it('ends a flow idle longer than flowTtl (server clock): the reply is dropped and reported', async () => {
    const { server, balancer, port, stats, errors } = await setup({ flowTtl: 60_000 })
    const got = nextDatagram(server)
    await sendTo(balancer, dgramHeader(CLIENT), port)
    const { rinfo } = await got
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 60_001)
    server.send('late', rinfo.port, rinfo.address) // no callback: reported as 'proxyProtocolError'
    expect(errors.map((e) => [e.err.code, e.rinfo])).toEqual([
      [ErrorCodes.FLOW_EXPIRED, { address: CLIENT.address, port: CLIENT.port }],
    ])
    expect(stats).toMatchObject({ flows: 0, flowsEnded: 1, replies: { dropped: 1, routed: 0, direct: 0 } })
  })
})

describe('options', () => {
  it.each([
    [{ headerTimeout: 1000 }, /headerTimeout does not apply to a dgram socket/],
    [{ versions: [1, 2] }, /versions: only \[2\]/],
    [{ framing: 'spp', mode: 'optional' }, /'optional' cannot be used with framing 'spp'/],
    [{ framing: 'v3' }, /framing must be/],
    [{ maxFlows: 0 }, /maxFlows/],
    [{ flowTtl: -1 }, /flowTtl/],
  ])('refuses %j on a dgram socket with ERR_PROXY_INVALID_OPTION naming it', async (options, message) => {
    const socket = dgram.createSocket('udp4')
    expect(() => withProxyProtocol(socket, options as never)).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_OPTION, message: expect.stringMatching(message) }),
    )
    socket.close()
  })

  it('refuses framing on a TCP server', () => {
    expect(() => withProxyProtocol(net.createServer(), { framing: 'v2' } as never)).toThrow(
      expect.objectContaining({
        code: ErrorCodes.INVALID_OPTION,
        message: expect.stringContaining('framing'),
      }),
    )
  })

  it('refuses a socket prepared twice', () => {
    const socket = withProxyProtocol(dgram.createSocket('udp4'))
    expect(() => withProxyProtocol(socket)).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_OPTION }),
    )
    socket.close()
  })
})
