/**
 * Simple Proxy Protocol (Cloudflare Spectrum's UDP header): the 38-byte layout of
 * https://developers.cloudflare.com/spectrum/reference/simple-proxy-protocol-header/ , byte for byte.
 */
import {
  encodeSpp,
  ErrorCodes,
  parseSpp,
  ProxyProtocolError,
  SPP_HEADER_LENGTH,
  SPP_MAGIC,
} from '@proxyproto/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

// client 203.0.113.7:51234 (IPv4-mapped), proxy 198.51.100.1:5353, then the payload "hi".
const V4 = hex(`
  56ec
  00000000000000000000ffff cb007107
  00000000000000000000ffff c6336401
  c822 14e9
  6869`)
// client 2001:db8::7:40000, proxy 2001:db8::1:53
const V6 = hex(`
  56ec
  20010db8000000000000000000000007
  20010db8000000000000000000000001
  9c40 0035`)

function thrown(f: () => unknown): ProxyProtocolError {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(ProxyProtocolError)
    return e as ProxyProtocolError
  }
  throw new Error('did not throw')
}

describe('parseSpp', () => {
  it('reads an IPv4 client and proxy, given IPv4-mapped, as plain IPv4, and says the header is 38 bytes', () => {
    const r = parseSpp(V4)
    expect(r).toEqual({
      status: 'complete',
      length: 38,
      header: {
        version: 'spp',
        command: 'PROXY',
        family: 'IPv4',
        transport: 'DGRAM',
        source: { address: '203.0.113.7', port: 51234, family: 'IPv4' },
        destination: { address: '198.51.100.1', port: 5353, family: 'IPv4' },
      },
    })
    expect(Buffer.from(V4.subarray(SPP_HEADER_LENGTH)).toString()).toBe('hi')
  })

  it('reads IPv6 addresses in the form Node gives remoteAddress', () => {
    const r = parseSpp(V6)
    expect(r.status).toBe('complete')
    if (r.status !== 'complete') return
    expect(r.header.source).toEqual({ address: '2001:db8::7', port: 40000, family: 'IPv6' })
    expect(r.header.destination).toEqual({ address: '2001:db8::1', port: 53, family: 'IPv6' })
  })

  it('calls a datagram without the magic absent, even one starting with 0x56', () => {
    expect(parseSpp(Buffer.from('hello'))).toEqual({ status: 'absent' })
    expect(parseSpp(hex('56'))).toEqual({ status: 'absent' })
    expect(parseSpp(hex('56ed'))).toEqual({ status: 'absent' })
    expect(parseSpp(new Uint8Array(0))).toEqual({ status: 'absent' })
  })

  it('refuses the magic followed by fewer than 36 bytes with ERR_PROXY_SPP_TRUNCATED (a datagram is whole)', () => {
    const e = thrown(() => parseSpp(V6.subarray(0, 37)))
    expect(e.code).toBe(ErrorCodes.SPP_TRUNCATED)
    expect(e.offset).toBe(37)
    expect(thrown(() => parseSpp(hex('56ec'))).code).toBe(ErrorCodes.SPP_TRUNCATED)
  })

  it('refuses input that is not bytes with ERR_PROXY_INVALID_INPUT', () => {
    expect(thrown(() => parseSpp('56ec' as unknown as Uint8Array)).code).toBe(ErrorCodes.INVALID_INPUT)
  })
})

describe('encodeSpp', () => {
  it('writes the header parseSpp reads, byte for byte', () => {
    const out = encodeSpp({ address: '203.0.113.7', port: 51234 }, { address: '198.51.100.1', port: 5353 })
    expect(Buffer.from(out).toString('hex')).toBe(V4.subarray(0, 38).toString('hex'))
    const out6 = encodeSpp(
      { address: '2001:db8::7', port: 40000 },
      { address: '2001:0db8:0:0:0:0:0:1', port: 53 },
    )
    expect(Buffer.from(out6).toString('hex')).toBe(V6.toString('hex'))
    expect((out[0]! << 8) | out[1]!).toBe(SPP_MAGIC)
  })

  it('mixes families: an IPv4 client behind an IPv6 proxy address', () => {
    const r = parseSpp(encodeSpp({ address: '192.0.2.9', port: 1 }, { address: '2001:db8::1', port: 2 }))
    expect(r.status === 'complete' && r.header.source).toEqual({
      address: '192.0.2.9',
      port: 1,
      family: 'IPv4',
    })
    expect(r.status === 'complete' && r.header.destination).toEqual({
      address: '2001:db8::1',
      port: 2,
      family: 'IPv6',
    })
  })

  it.each([
    [{ address: 'example.com', port: 1 }, /client address/],
    [{ address: '1.2.3.4', port: 65536 }, /client port/],
    [{ address: '1.2.3.4', port: -1 }, /client port/],
    [{ address: '1.2.3.4', port: 1.5 }, /client port/],
    [null, /client must be/],
  ])('refuses a bad client %j with ERR_PROXY_ENCODE_INVALID naming it', (client, message) => {
    const e = thrown(() =>
      encodeSpp(client as { address: string; port: number }, { address: '::1', port: 1 }),
    )
    expect(e.code).toBe(ErrorCodes.ENCODE_INVALID)
    expect(e.message).toMatch(message)
  })
})

describe('SPP under hostile input', () => {
  it('any bytes: parseSpp returns or throws a ProxyProtocolError, and a complete header is 38 bytes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 80 }),
          fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.concat([hex('56ec'), b])),
        ),
        (bytes) => {
          try {
            const r = parseSpp(bytes)
            if (r.status === 'complete') {
              expect(bytes.length).toBeGreaterThanOrEqual(38)
              expect(r.length).toBe(38)
            } else expect(bytes[0] === 0x56 && bytes[1] === 0xec).toBe(false)
          } catch (e) {
            expect(e).toBeInstanceOf(ProxyProtocolError)
            expect((e as ProxyProtocolError).code).toBe(ErrorCodes.SPP_TRUNCATED)
          }
        },
      ),
      { numRuns: 500 },
    )
  })

  it('encode then parse gives back the addresses, in canonical form, and the payload after 38 bytes', () => {
    const endpoint = fc.record({
      address: fc.oneof(fc.ipV4(), fc.ipV6()),
      port: fc.integer({ min: 0, max: 65535 }),
    })
    fc.assert(
      fc.property(endpoint, endpoint, fc.uint8Array({ maxLength: 40 }), (client, proxy, payload) => {
        const datagram = Buffer.concat([encodeSpp(client, proxy), payload])
        const r = parseSpp(datagram)
        expect(r.status).toBe('complete')
        if (r.status !== 'complete') return
        // Parsing again what encodeSpp writes from the parsed form is a fixed point.
        expect(Buffer.from(encodeSpp(r.header.source, r.header.destination))).toEqual(
          datagram.subarray(0, 38),
        )
        expect(r.header.source.port).toBe(client.port)
        expect(datagram.subarray(r.length)).toEqual(Buffer.from(payload))
      }),
      { numRuns: 300 },
    )
  })
})
