/**
 * pires/go-proxyproto 0.4.2 (Debian's golang-github-pires-go-proxyproto-dev) as a real peer, in both
 * directions and on both transports:
 *   go send-tcp (v1, v2, TLVs) --> withProxyProtocol(net.Server)
 *   client 127.0.0.23 --> proxyproto relay (TCP) --> go recv-tcp (proxyproto.Read)
 *   encode() --> go parse (proxyproto.Read)
 *   go send-udp (v2 DGRAM on every datagram, or on the first only) --> withProxyProtocol(dgram.Socket)
 * The Go program is test/go-peer/main.go, built once per source version (test/helpers/go-peer.ts).
 */
import { encode, type HeaderInput, tlv } from '@proxyproto/core'
import { type Framing, getProxyInfo, proxyProtocolStats, withProxyProtocol } from '@proxyproto/node'
import type dgram from 'node:dgram'
import net from 'node:net'
import { afterEach, beforeAll, expect, it } from 'vitest'
import { bindUdp, closeUdp, collect, portOf } from './helpers/udp.js'
import { assertBuilt, closeAfterTest, startRelayTo, stopAll } from '../packages/cli/test/helpers.js'
import { goPeer, goReceiver, runGo } from './helpers/go-peer.js'
import { describePeer } from './helpers/peers.js'
import { CLIENT_ADDRESS, closeServer, connect, listen } from './helpers/sockets.js'

afterEach(stopAll)

/** A net server prepared with withProxyProtocol that answers what it learned, as JSON, and closes. */
async function reportServer(): Promise<number> {
  const server = withProxyProtocol(
    net.createServer((socket) => {
      const info = getProxyInfo(socket)!
      socket.resume()
      socket.end(
        JSON.stringify({
          remoteAddress: socket.remoteAddress,
          remotePort: socket.remotePort,
          version: info.header?.version,
          authority: info.tlvs.authority,
          unknown: info.tlvs.unknown.map((t) => [t.type, Buffer.from(t.value).toString('hex')]),
        }),
      )
    }),
    { trust: ['loopback'] },
  )
  closeAfterTest(() => closeServer(server))
  return listen(server)
}

async function udpServer(framing: Framing): Promise<dgram.Socket> {
  const server = withProxyProtocol(await bindUdp(), { trust: ['loopback'], framing })
  server.on('message', (msg, rinfo) =>
    server.send(`${msg} from ${rinfo.address}:${rinfo.port}`, rinfo.port, rinfo.address),
  )
  closeAfterTest(() => closeUdp(server))
  return server
}

/** `go-peer send-tcp`: one connection to 127.0.0.1:`port` with a v`version` header from `src` to `dst`, payload "hi". */
function sendTcp(port: number, version: 1 | 2, src: string, dst: string, ...flags: string[]) {
  const to = ['-addr', `127.0.0.1:${port}`, '-version', String(version)]
  return runGo(['send-tcp', ...to, '-src', src, '-dst', dst, ...flags, '-payload', 'hi'])
}

describePeer('go-proxyproto 0.4.2 as a real peer', ['go'], () => {
  beforeAll(async () => {
    assertBuilt()
    await goPeer()
  }, 180_000)

  it.each([1, 2] as const)(
    'its v%i header over TCP reaches a withProxyProtocol server as the client',
    async (version) => {
      const port = await reportServer()
      const r = await sendTcp(port, version, '203.0.113.7:51234', '192.0.2.1:443')
      expect(r.stderr).toBe('')
      expect(JSON.parse(r.stdout)).toMatchObject({ remoteAddress: '203.0.113.7', remotePort: 51234, version })
    },
  )

  it('its v2 TLVs (authority, a custom type) and an IPv6 client are read as sent', async () => {
    const port = await reportServer()
    const authority = `0x02=${Buffer.from('example.com').toString('hex')}`
    const r = await sendTcp(
      port,
      2,
      '[2001:db8::7]:40000',
      '[2001:db8::1]:443',
      '-tlv',
      authority,
      '-tlv',
      '0xE5=0102',
    )
    expect(JSON.parse(r.stdout)).toEqual({
      remoteAddress: '2001:db8::7',
      remotePort: 40000,
      version: 2,
      authority: 'example.com',
      unknown: [[0xe5, '0102']],
    })
  })

  it.each(['v1', 'v2'])(
    'receives the header `proxyproto relay --send %s` writes, and the bytes after it',
    async (send) => {
      const go = await goReceiver()
      closeAfterTest(async () => go.kill())
      const relay = startRelayTo(
        go.port,
        '--send',
        send,
        ...(send === 'v2' ? ['--tlv', 'authority=example.com', '--crc32c'] : []),
      )
      const port = await relay.port()
      const client = await connect(port, CLIENT_ADDRESS)
      // Read now: once the socket has closed (the peer may close first), localPort is undefined.
      const localPort = client.localPort
      client.end('hello')
      client.resume()
      const seen = await go.received
      expect(seen).toMatchObject({
        version: send === 'v1' ? 1 : 2,
        command: 'PROXY',
        transport: 'TCPv4',
        source: `${CLIENT_ADDRESS}:${localPort}`,
        destination: `127.0.0.1:${port}`,
        rest: 'hello',
      })
      if (send === 'v2')
        expect(seen.tlvs).toEqual(
          expect.arrayContaining([{ type: 2, hex: Buffer.from('example.com').toString('hex') }]),
        )
    },
  )

  /** A header's two ends, `[address, port]` each. */
  const ends = (source: [string, number], destination: [string, number]) => ({
    source: { address: source[0], port: source[1] },
    destination: { address: destination[0], port: destination[1] },
  })
  const encoded: Array<[string, HeaderInput, Record<string, unknown>]> = [
    [
      'v1 TCP4',
      { version: 1, family: 'IPv4', ...ends(['1.2.3.4', 5], ['5.6.7.8', 80]) },
      { version: 1, transport: 'TCPv4', source: '1.2.3.4:5', destination: '5.6.7.8:80' },
    ],
    [
      'v1 TCP6',
      { version: 1, family: 'IPv6', ...ends(['2001:db8::1', 5], ['::1', 80]) },
      { version: 1, transport: 'TCPv6', source: '[2001:db8::1]:5', destination: '[::1]:80' },
    ],
    [
      'v2 TCP4 with TLVs',
      {
        version: 2,
        family: 'IPv4',
        ...ends(['10.0.0.1', 1], ['10.0.0.2', 2]),
        tlvs: [tlv.authority('a.example'), tlv.uniqueId(Buffer.from('id'))],
      },
      {
        version: 2,
        transport: 'TCPv4',
        source: '10.0.0.1:1',
        tlvs: [
          { type: 2, hex: Buffer.from('a.example').toString('hex') },
          { type: 5, hex: '6964' },
        ],
      },
    ],
    [
      'v2 UDP6 (DGRAM)',
      { version: 2, family: 'IPv6', transport: 'DGRAM', ...ends(['2001:db8::7', 53], ['2001:db8::1', 5353]) },
      { version: 2, transport: 'UDPv6', source: '[2001:db8::7]:53', destination: '[2001:db8::1]:5353' },
    ],
    [
      'v2 UDP4 (DGRAM)',
      { version: 2, family: 'IPv4', transport: 'DGRAM', ...ends(['192.0.2.7', 53], ['192.0.2.1', 5353]) },
      { version: 2, transport: 'UDPv4', source: '192.0.2.7:53' },
    ],
    ['v2 LOCAL', { version: 2, command: 'LOCAL' }, { version: 2, command: 'LOCAL', transport: 'UNSPEC' }],
  ]
  it.each(encoded)('parses what encode() writes: %s', async (_name, input, expected) => {
    const bytes = Buffer.concat([encode(input), Buffer.from('rest')])
    const r = await runGo(['parse'], bytes.toString('hex'))
    const parsed = JSON.parse(r.stdout)
    expect(parsed.error).toBeUndefined()
    expect(parsed).toMatchObject({ command: 'PROXY', ...expected, rest: 'rest' })
  })

  it('parses a v2 header with a CRC32C that encode() computed', async () => {
    const bytes = encode(
      { version: 2, family: 'IPv4', ...ends(['1.2.3.4', 5], ['5.6.7.8', 6]) },
      { crc32c: true },
    )
    const parsed = JSON.parse((await runGo(['parse'], Buffer.from(bytes).toString('hex'))).stdout)
    expect(parsed.tlvs).toEqual([{ type: 3, hex: expect.stringMatching(/^[0-9a-f]{8}$/) }])
  })

  it.each([
    ['v2', false, '203.0.113.9:4000'],
    ['v2-first', true, '203.0.113.9:4000'],
    ['v2', false, '[2001:db8::9]:4000'],
  ] as const)(
    'its DGRAM headers (framing %s) reach a withProxyProtocol dgram socket, and the replies come back (%s, %s)',
    async (framing, first, src) => {
      const server = await udpServer(framing)
      const delivered = collect(server)
      const dst = src.startsWith('[') ? '[2001:db8::1]:53' : '192.0.2.1:53'
      const r = await runGo([
        'send-udp',
        '-addr',
        `127.0.0.1:${portOf(server)}`,
        '-src',
        src,
        '-dst',
        dst,
        '-payload',
        'ping',
        '-count',
        '3',
        ...(first ? ['-first'] : []),
      ])
      expect(r.stderr).toBe('')
      const client = src.startsWith('[')
        ? { address: '2001:db8::9', port: 4000 }
        : { address: '203.0.113.9', port: 4000 }
      expect(r.stdout.trim().split('\n')).toEqual(
        [0, 1, 2].map((i) => `ping ${i} from ${client.address}:${client.port}`),
      )
      expect(delivered.map((d) => d.rinfo.address)).toEqual([client.address, client.address, client.address])
      const stats = proxyProtocolStats(server)!
      expect(stats.accepted).toEqual(first ? { v2: 1, spp: 0, flow: 2 } : { v2: 3, spp: 0, flow: 0 })
      expect(stats.replies.routed).toBe(3)
    },
  )
})
