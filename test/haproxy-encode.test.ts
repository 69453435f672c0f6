/**
 * Headers produced by encode are accepted by a real HAProxy.
 *
 *   raw client socket (127.0.0.23) --encode()+payload--> HAProxy :P1 accept-proxy
 *       --send-proxy-v2--> node:net server :P2, which reads HAProxy's header with parse().
 *
 * HAProxy re-encodes the addresses it accepted, so the backend seeing our source/destination
 * proves HAProxy understood our header; the payload must follow it byte for byte.
 */
import net from 'node:net'
import {
  decodeAuthority,
  encode,
  type HeaderInput,
  type InetAddress,
  type ProxyHeader,
  parse,
  TlvType,
  tlv,
} from '@proxyproto/core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  describePeer,
  freePort,
  haproxyGlobal,
  type PeerProcess,
  startHaproxy,
} from './helpers/peers.js'
import { CLIENT_ADDRESS, connect, listen, untilClosed } from './helpers/sockets.js'


interface Received {
  header: ProxyHeader
  /** Bytes after the header. */
  payload: Buffer
}

/** A backend that parses the header HAProxy sends, then collects the bytes that follow it. */
class Backend {
  readonly server = net.createServer((socket) => this.accept(socket))
  connections = 0
  private waiters = new Map<
    string,
    { expected: number; resolve: (r: Received) => void; reject: (e: Error) => void }
  >()
  private sockets = new Set<net.Socket>()

  private accept(socket: net.Socket): void {
    this.connections++
    this.sockets.add(socket)
    socket.on('close', () => this.sockets.delete(socket))
    socket.on('error', () => {})
    let buf = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      const r = parse(buf)
      if (r.status === 'incomplete') return
      if (r.status === 'absent') {
        for (const w of this.waiters.values())
          w.reject(new Error(`backend got no PROXY header: ${buf.toString('latin1')}`))
        socket.destroy()
        return
      }
      // The first line of every payload names the case, so each test finds its own connection.
      const payload = buf.subarray(r.length)
      const nl = payload.indexOf(0x0a)
      if (nl < 0) return
      const w = this.waiters.get(payload.subarray(0, nl).toString('latin1'))
      if (w && payload.length >= w.expected) {
        w.resolve({ header: r.header, payload: Buffer.from(payload) })
        socket.end()
      }
    })
  }

  /** Resolves with the header and payload of the connection whose payload starts with `tag\n`. */
  expect(tag: string, payloadLength: number, timeoutMs = 5000): Promise<Received> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(tag)
        reject(new Error(`backend received no complete connection for ${tag} within ${timeoutMs} ms`))
      }, timeoutMs)
      const done =
        <T>(f: (v: T) => void) =>
        (v: T) => {
          clearTimeout(timer)
          this.waiters.delete(tag)
          f(v)
        }
      this.waiters.set(tag, { expected: payloadLength, resolve: done(resolve), reject: done(reject) })
    })
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    return new Promise((r) => this.server.close(() => r()))
  }
}

/** `tag\n`, every byte value, and a second PROXY line that must arrive as plain data. */
function payloadFor(tag: string): Buffer {
  return Buffer.concat([
    Buffer.from(`${tag}\n`, 'latin1'),
    Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
    Buffer.from('PROXY TCP4 6.6.6.6 7.7.7.7 666 777\r\nGET / HTTP/1.1\r\n\r\n', 'latin1'),
  ])
}

describePeer('HAProxy accepts encoded headers', ['haproxy'], () => {
  let haproxy: PeerProcess | undefined
  let backend: Backend
  let plainPort = 0
  let tlvPort = 0

  beforeAll(async () => {
    backend = new Backend()
    const backendPort = await listen(backend.server)
    plainPort = await freePort()
    tlvPort = await freePort()
    haproxy = await startHaproxy(`${haproxyGlobal()}
frontend fe_plain
  bind 127.0.0.1:${plainPort} accept-proxy
  default_backend be_plain

backend be_plain
  server s1 127.0.0.1:${backendPort} send-proxy-v2

# Same path, but HAProxy also forwards the AUTHORITY and UNIQUE_ID it received and adds its own CRC32C.
frontend fe_tlv
  bind 127.0.0.1:${tlvPort} accept-proxy
  unique-id-format %[fc_pp_unique_id]
  default_backend be_tlv

backend be_tlv
  server s1 127.0.0.1:${backendPort} send-proxy-v2 proxy-v2-options authority,unique-id,crc32c
`)
  })

  afterAll(async () => {
    await haproxy?.stop()
    await backend?.close()
  })

  /** Sends encode(input)+payload through HAProxy; returns what the backend got and the client socket. */
  async function roundTrip(tag: string, bytes: Uint8Array, port = plainPort) {
    const payload = payloadFor(tag)
    const received = backend.expect(tag, payload.length)
    const client = await connect(port, CLIENT_ADDRESS)
    try {
      client.on('error', () => {})
      client.write(Buffer.concat([bytes, payload]))
      const r = await received
      expect(r.payload.equals(payload), 'payload after the header arrives byte for byte').toBe(true)
      expect(r.header.version).toBe(2)
      expect(r.header.command).toBe('PROXY')
      expect(r.header.transport).toBe('STREAM')
      return { ...r, client: { address: client.localAddress!, port: client.localPort! } }
    } finally {
      client.destroy()
    }
  }

  const v4 = {
    family: 'IPv4',
    source: { address: '203.0.113.7', port: 51234 },
    destination: { address: '198.51.100.20', port: 443 },
  } as const
  const v6 = {
    family: 'IPv6',
    source: { address: '2001:db8:0:0:0:0:0:17', port: 40000 },
    destination: { address: '2001:db8:85a3::8a2e:370:7334', port: 8443 },
  } as const
  // How Node (and parse) print them.
  const v6Canonical = {
    source: { address: '2001:db8::17', port: 40000 },
    destination: { address: '2001:db8:85a3::8a2e:370:7334', port: 8443 },
  }

  it('v1 TCP4', async () => {
    const r = await roundTrip('v1-tcp4', encode({ version: 1, ...v4 }))
    expect(r.header.family).toBe('IPv4')
    expect(r.header.source).toEqual(v4.source)
    expect(r.header.destination).toEqual(v4.destination)
  })

  it('v1 TCP6', async () => {
    const r = await roundTrip('v1-tcp6', encode({ version: 1, ...v6 }))
    expect(r.header.family).toBe('IPv6')
    expect(r.header.source).toEqual(v6Canonical.source)
    expect(r.header.destination).toEqual(v6Canonical.destination)
  })

  it('v1 UNKNOWN: HAProxy falls back to the real connection addresses', async () => {
    const bytes = encode({ version: 1, family: 'UNSPEC' })
    expect(Buffer.from(bytes).toString('latin1')).toBe('PROXY UNKNOWN\r\n')
    const r = await roundTrip('v1-unknown', bytes)
    expect(r.header.family).toBe('IPv4')
    expect(r.header.source).toEqual({ address: CLIENT_ADDRESS, port: r.client.port })
    expect(r.header.destination).toEqual({ address: '127.0.0.1', port: plainPort })
  })

  it('v2 TCP4', async () => {
    const r = await roundTrip('v2-tcp4', encode({ version: 2, command: 'PROXY', ...v4 }))
    expect(r.header.family).toBe('IPv4')
    expect(r.header.source).toEqual(v4.source)
    expect(r.header.destination).toEqual(v4.destination)
  })

  it('v2 TCP6', async () => {
    const r = await roundTrip('v2-tcp6', encode({ version: 2, command: 'PROXY', ...v6 }))
    expect(r.header.family).toBe('IPv6')
    expect(r.header.source).toEqual(v6Canonical.source)
    expect(r.header.destination).toEqual(v6Canonical.destination)
  })

  const tlvHeader: HeaderInput = {
    version: 2,
    command: 'PROXY',
    ...v4,
    tlvs: [tlv.authority('api.example.com'), tlv.uniqueId('req-4f2a9c')],
  }

  it('v2 TCP4 with AUTHORITY, UNIQUE_ID and CRC32C', async () => {
    const bytes = encode(tlvHeader, { crc32c: true })
    const r = await roundTrip('v2-tlv-crc', bytes)
    expect(r.header.family).toBe('IPv4')
    expect(r.header.source).toEqual(v4.source)
    expect(r.header.destination).toEqual(v4.destination)
  })

  it('v2 TLVs and CRC32C: HAProxy forwards the AUTHORITY and UNIQUE_ID it accepted', async () => {
    const r = await roundTrip('v2-tlv-forward', encode(tlvHeader, { crc32c: true }), tlvPort)
    expect(r.header.source).toEqual(v4.source)
    expect(r.header.destination).toEqual(v4.destination)
    // parse() verified HAProxy's own CRC32C (verifyChecksum defaults to true).
    const types = r.header.tlvs.map((t) => t.type)
    expect(types).toContain(TlvType.CRC32C)
    const authority = r.header.tlvs.find((t) => t.type === TlvType.AUTHORITY)
    const uniqueId = r.header.tlvs.find((t) => t.type === TlvType.UNIQUE_ID)
    expect(authority && decodeAuthority(authority.value)).toBe('api.example.com')
    expect(uniqueId && Buffer.from(uniqueId.value).toString('latin1')).toBe('req-4f2a9c')
  })

  it('v2 LOCAL: HAProxy uses the real connection addresses', async () => {
    // Addresses in a LOCAL header must be ignored; encode drops them, and HAProxy must not invent any.
    const r = await roundTrip('v2-local', encode({ version: 2, command: 'LOCAL' }))
    expect(r.header.family).toBe('IPv4')
    expect(r.header.source).toEqual({ address: CLIENT_ADDRESS, port: r.client.port })
    expect(r.header.destination).toEqual({ address: '127.0.0.1', port: plainPort })
    expect((r.header.source as InetAddress).address).not.toBe(v4.source.address)
  })

  it('v2 with a wrong CRC32C is rejected: connection closed, backend receives nothing', async () => {
    const bytes = encode(tlvHeader, { crc32c: true })
    // Control: the untouched bytes pass (proves the rejection below is about the checksum).
    expect(parse(bytes).status).toBe('complete')
    bytes[bytes.length - 1]! ^= 0x01 // the CRC32C TLV is last: flip a bit of the checksum
    expect(() => parse(bytes)).toThrow()

    const before = backend.connections
    const client = await connect(plainPort, CLIENT_ADDRESS)
    const gone = untilClosed(client, 5000)
    client.write(Buffer.concat([bytes, payloadFor('v2-bad-crc')]))
    expect((await gone).data.length).toBe(0) // closed (untilClosed rejects if still open), nothing echoed
    // A control connection after it reaches the backend: had the bad one been forwarded, it would have
    // been counted first.
    await roundTrip('v2-after-bad-crc', encode({ version: 2, ...v4 }))
    expect(backend.connections).toBe(before + 1)
  })
})
