/** encode(): v1 text lines (spec §2.1) and v2 binary headers (spec §2.2), checked byte for byte. */
import {
  ErrorCodes,
  type HeaderInput,
  TlvType,
  crc32c,
  decodeCrc32c,
  encode,
  parse,
  tlv,
} from '@proxyproto/core'
import { describe, expect, it } from 'vitest'
import { SIG, ascii, expectComplete, expectError, hex, toHex, v2hex } from './helpers.js'

const text = (b: Uint8Array) => String.fromCharCode(...b)

const v4 = {
  source: { address: '192.168.0.1', port: 56324 },
  destination: { address: '192.168.0.11', port: 443 },
}
const v6 = {
  source: { address: '2001:db8::1', port: 56324 },
  destination: { address: '2001:db8::2', port: 443 },
}
const unix = { source: { path: '/var/run/src.sock' }, destination: { path: '/var/run/dest.sock' } }

describe('encode v1', () => {
  it('encodes TCP4 (as Netty CodecHaProxyTest expects)', () => {
    expect(text(encode({ version: 1, family: 'IPv4', ...v4 }))).toBe(
      'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n',
    )
  })

  it('encodes TCP6', () => {
    expect(text(encode({ version: 1, family: 'IPv6', transport: 'STREAM', ...v6 }))).toBe(
      'PROXY TCP6 2001:db8::1 2001:db8::2 56324 443\r\n',
    )
  })

  it('writes canonical addresses whatever text form the caller used', () => {
    const out = encode({
      version: 1,
      family: 'IPv6',
      source: { address: '2001:0DB8:0000:0000:0000:0000:0000:0001', port: 1 },
      destination: { address: '::FFFF:7F00:1', port: 2 },
    })
    expect(text(out)).toBe('PROXY TCP6 2001:db8::1 ::ffff:127.0.0.1 1 2\r\n')
  })

  it('encodes UNKNOWN for the UNSPEC family, for no family and for LOCAL', () => {
    expect(text(encode({ version: 1, family: 'UNSPEC' }))).toBe('PROXY UNKNOWN\r\n')
    expect(text(encode({ version: 1 }))).toBe('PROXY UNKNOWN\r\n')
    expect(text(encode({ version: 1, command: 'LOCAL', family: 'IPv4', ...v4 }))).toBe('PROXY UNKNOWN\r\n')
  })

  it('writes the 104-byte longest TCP6 line, within the 107-byte limit', () => {
    const f = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'
    const out = encode({
      version: 1,
      family: 'IPv6',
      source: { address: f, port: 65535 },
      destination: { address: f, port: 65535 },
    })
    expect(out.length).toBe(104)
    expect(expectComplete(out).length).toBe(104)
  })

  it('produces lines that parse back to the same header', () => {
    for (const h of [
      { version: 1, family: 'IPv4', ...v4 },
      { version: 1, family: 'IPv6', ...v6 },
    ] as const) {
      expect(expectComplete(encode(h)).header).toEqual({
        ...h,
        command: 'PROXY',
        transport: 'STREAM',
        tlvs: [],
      })
    }
  })
})

describe('encode v2', () => {
  it('encodes TCP over IPv4 byte for byte', () => {
    expect(toHex(encode({ version: 2, family: 'IPv4', ...v4 }))).toBe(
      hexOf(v2hex('21', '11', 'c0a80001 c0a8000b dc04 01bb')),
    )
  })

  it('encodes every family and transport, and each parses back', () => {
    const cases = [
      ['IPv4', 'STREAM', '11', v4, 28],
      ['IPv4', 'DGRAM', '12', v4, 28],
      ['IPv6', 'STREAM', '21', v6, 52],
      ['IPv6', 'DGRAM', '22', v6, 52],
      ['UNIX', 'STREAM', '31', unix, 232],
      ['UNIX', 'DGRAM', '32', unix, 232],
    ] as const
    for (const [family, transport, fam, addrs, size] of cases) {
      const out = encode({ version: 2, family, transport, ...addrs })
      expect(out.length).toBe(size)
      expect(toHex(out.subarray(0, 16))).toBe(`${SIG}21${fam}${(size - 16).toString(16).padStart(4, '0')}`)
      expect(expectComplete(out).header).toEqual({
        version: 2,
        command: 'PROXY',
        family,
        transport,
        ...addrs,
        tlvs: [],
      })
    }
  })

  it('encodes TCP over IPv6 addresses as 16 raw bytes', () => {
    const out = encode({ version: 2, family: 'IPv6', ...v6 })
    expect(toHex(out.subarray(16))).toBe(
      '20010db8000000000000000000000001' + '20010db8000000000000000000000002' + 'dc04' + '01bb',
    )
  })

  it('pads UNIX paths with NULs to 108 bytes, and accepts a 108-byte path', () => {
    const out = encode({ version: 2, family: 'UNIX', ...unix })
    expect(toHex(out.subarray(16, 16 + 108))).toBe(toHex(ascii('/var/run/src.sock')) + '00'.repeat(108 - 17))
    const long = `/${'x'.repeat(107)}`
    const full = encode({ version: 2, family: 'UNIX', source: { path: long }, destination: { path: '' } })
    expect(expectComplete(full).header.source).toEqual({ path: long })
  })

  it('defaults the transport to STREAM for IPv4, IPv6 and UNIX', () => {
    expect(encode({ version: 2, family: 'IPv4', ...v4 })[13]).toBe(0x11)
    expect(encode({ version: 2, family: 'IPv6', ...v6 })[13]).toBe(0x21)
    expect(encode({ version: 2, family: 'UNIX', ...unix })[13]).toBe(0x31)
  })

  it('encodes PROXY with the UNSPEC family as fam byte 0x00 and no address block', () => {
    expect(toHex(encode({ version: 2, family: 'UNSPEC' }))).toBe(`${SIG}2100${'0000'}`)
    expect(toHex(encode({ version: 2 }))).toBe(`${SIG}21000000`)
  })

  it('encodes LOCAL as a 16-byte header, ignoring family and addresses', () => {
    expect(toHex(encode({ version: 2, command: 'LOCAL' }))).toBe(`${SIG}20000000`)
    expect(toHex(encode({ version: 2, command: 'LOCAL', family: 'IPv4', ...v4 }))).toBe(`${SIG}20000000`)
    expect(expectComplete(encode({ version: 2, command: 'LOCAL' })).header.command).toBe('LOCAL')
  })

  it('writes TLVs in the caller order', () => {
    const out = encode({
      version: 2,
      family: 'IPv4',
      ...v4,
      tlvs: [tlv.authority('example.com'), { type: 0xff, value: hex('beef') }, tlv.alpn('h2')],
    })
    expect(toHex(out.subarray(28))).toBe(`02000b${toHex(ascii('example.com'))}ff0002beef0100026832`)
    expect(expectComplete(out).header.tlvs.map((t) => t.type)).toEqual([0x02, 0xff, 0x01])
  })

  it('writes an empty TLV value', () => {
    const out = encode({
      version: 2,
      family: 'IPv4',
      ...v4,
      tlvs: [{ type: 0xf0, value: new Uint8Array(0) }],
    })
    expect(toHex(out.subarray(28))).toBe('f00000')
  })
})

describe('encode v2 padTo', () => {
  it('pads with a NOOP TLV to exactly padTo bytes', () => {
    const out = encode({ version: 2, family: 'IPv4', ...v4, tlvs: [tlv.alpn('h2')] }, { padTo: 100 })
    expect(out.length).toBe(100)
    const { header, length } = expectComplete(out)
    expect(length).toBe(100)
    expect(header.tlvs.map((t) => t.type)).toEqual([TlvType.ALPN, TlvType.NOOP])
    expect(header.tlvs[1]!.value).toEqual(new Uint8Array(100 - 28 - 5 - 3))
  })

  it('does not pad a header already at or above padTo', () => {
    expect(encode({ version: 2, family: 'IPv4', ...v4 }, { padTo: 28 }).length).toBe(28)
    expect(encode({ version: 2, family: 'IPv4', ...v4 }, { padTo: 10 }).length).toBe(28)
    expect(encode({ version: 2, family: 'IPv4', ...v4 }, { padTo: 0 }).length).toBe(28)
  })

  it('pads with at least an empty 3-byte NOOP when padTo is 1 or 2 bytes over', () => {
    expect(encode({ version: 2, family: 'IPv4', ...v4 }, { padTo: 29 }).length).toBe(31)
    expect(encode({ version: 2, family: 'IPv4', ...v4 }, { padTo: 30 }).length).toBe(31)
    expect(encode({ version: 2, family: 'IPv4', ...v4 }, { padTo: 31 }).length).toBe(31)
  })

  it('pads a LOCAL header too', () => {
    const out = encode({ version: 2, command: 'LOCAL' }, { padTo: 64 })
    expect(out.length).toBe(64)
    expect(expectComplete(out).length).toBe(64)
  })
})

describe('encode v2 crc32c', () => {
  it('appends a CRC32C TLV that the parser verifies', () => {
    const out = encode({ version: 2, family: 'IPv6', ...v6, tlvs: [tlv.alpn('h2')] }, { crc32c: true })
    expect(out.length).toBe(52 + 5 + 7)
    const { header } = expectComplete(out)
    expect(header.tlvs.map((t) => t.type)).toEqual([TlvType.ALPN, TlvType.CRC32C])
    // the checksum is over the whole header with the checksum field as zeros (§2.2.3)
    const zeroed = out.slice()
    zeroed.fill(0, out.length - 4)
    expect(decodeCrc32c(header.tlvs[1]!.value)).toBe(crc32c(zeroed))
  })

  it('puts the CRC32C after the NOOP padding, still verified', () => {
    const out = encode({ version: 2, family: 'IPv4', ...v4 }, { crc32c: true, padTo: 80 })
    expect(out.length).toBe(80)
    const { header } = expectComplete(out)
    expect(header.tlvs.map((t) => t.type)).toEqual([TlvType.NOOP, TlvType.CRC32C])
    const bad = out.slice()
    bad[20]! ^= 0x80
    expect(() => parse(bad)).toThrow(expect.objectContaining({ code: ErrorCodes.CRC32C_MISMATCH }))
  })

  it('checksums UNIX and LOCAL headers too, over the whole header with the checksum field as zeros', () => {
    const unixOut = encode({ version: 2, family: 'UNIX', transport: 'DGRAM', ...unix }, { crc32c: true })
    const localOut = encode({ version: 2, command: 'LOCAL' }, { crc32c: true })
    expect(expectComplete(unixOut).length).toBe(239)
    expect(expectComplete(localOut).length).toBe(23)
    // The parser skips a LOCAL block (§2.2), so check the sum here: CRC32C TLV last, value = crc of the rest.
    for (const out of [unixOut, localOut]) {
      expect(toHex(out.subarray(out.length - 7, out.length - 4))).toBe('030004')
      const zeroed = out.slice()
      zeroed.fill(0, out.length - 4)
      const sum = crc32c(zeroed)
      expect(toHex(out.subarray(out.length - 4))).toBe(sum.toString(16).padStart(8, '0'))
    }
  })
})

describe('encode validation', () => {
  const good = { version: 2, family: 'IPv4', ...v4 } as const

  it.each([
    ['a null header', null],
    ['a string header', 'PROXY'],
    ['version 3', { ...good, version: 3 }],
    ['no version', { family: 'IPv4', ...v4 }],
    ['an unknown command', { ...good, command: 'PING' }],
    ['an unknown family', { ...good, family: 'IPX' }],
    ['an unknown transport', { ...good, transport: 'SEQPACKET' }],
    ['a family inherited from Object.prototype', { ...good, family: 'toString' }],
    ['a transport inherited from Object.prototype', { ...good, transport: 'constructor' }],
    ['UNSPEC family with STREAM transport', { version: 2, family: 'UNSPEC', transport: 'STREAM' }],
    ['IPv4 family with UNSPEC transport', { ...good, transport: 'UNSPEC' }],
    ['a missing source', { version: 2, family: 'IPv4', destination: v4.destination }],
    ['a null destination', { ...good, destination: null }],
    ['an IPv6 address for IPv4', { ...good, source: { address: '::1', port: 1 } }],
    ['an IPv4 address for IPv6', { version: 2, family: 'IPv6', ...v4 }],
    [
      'an address with a zone id',
      { version: 2, family: 'IPv6', ...v6, source: { address: 'fe80::1%eth0', port: 1 } },
    ],
    ['a host name', { ...good, source: { address: 'localhost', port: 1 } }],
    ['a numeric address', { ...good, source: { address: 0x7f000001, port: 1 } }],
    ['port 65536', { ...good, source: { address: '1.2.3.4', port: 65536 } }],
    ['port -1', { ...good, source: { address: '1.2.3.4', port: -1 } }],
    ['port 1.5', { ...good, source: { address: '1.2.3.4', port: 1.5 } }],
    ['port "80"', { ...good, source: { address: '1.2.3.4', port: '80' } }],
    ['a missing port', { ...good, source: { address: '1.2.3.4' } }],
    [
      'a UNIX path of 109 bytes',
      { version: 2, family: 'UNIX', source: { path: 'x'.repeat(109) }, destination: { path: '' } },
    ],
    [
      'a UNIX path of 108 bytes in UTF-8',
      { version: 2, family: 'UNIX', source: { path: 'é'.repeat(55) }, destination: { path: '' } },
    ],
    [
      'a UNIX path with a NUL',
      { version: 2, family: 'UNIX', source: { path: 'a\0b' }, destination: { path: '' } },
    ],
    ['a missing UNIX path', { version: 2, family: 'UNIX', source: {}, destination: { path: '' } }],
    ['a TLV type of 256', { ...good, tlvs: [{ type: 256, value: new Uint8Array(0) }] }],
    ['a CRC32C TLV of its own (the parser would refuse the header)', { ...good, tlvs: [{ type: 3, value: new Uint8Array(4) }] }],
    ['a null TLV', { ...good, tlvs: [null] }],
    ['tlvs that are not an array', { ...good, tlvs: { type: 1, value: new Uint8Array(0) } }],
    ['a negative TLV type', { ...good, tlvs: [{ type: -1, value: new Uint8Array(0) }] }],
    ['a TLV value that is not a Uint8Array', { ...good, tlvs: [{ type: 1, value: 'h2' }] }],
    ['a TLV value of 65536 bytes', { ...good, tlvs: [{ type: 1, value: new Uint8Array(65536) }] }],
    [
      'TLVs adding up past 65535 bytes',
      {
        ...good,
        tlvs: [
          { type: 1, value: new Uint8Array(40000) },
          { type: 2, value: new Uint8Array(40000) },
        ],
      },
    ],
    ['v1 with the UNIX family', { version: 1, family: 'UNIX', ...unix }],
    ['v1 with DGRAM', { version: 1, family: 'IPv4', transport: 'DGRAM', ...v4 }],
    ['v1 with TLVs', { version: 1, family: 'IPv4', ...v4, tlvs: [tlv.alpn('h2')] }],
    [
      'v1 with an invalid address',
      { version: 1, family: 'IPv4', ...v4, source: { address: '1.2.3.256', port: 1 } },
    ],
    [
      'v1 with an invalid port',
      { version: 1, family: 'IPv6', ...v6, destination: { address: '::1', port: 70000 } },
    ],
  ])('rejects %s with ERR_PROXY_ENCODE_INVALID', (_what, header) => {
    expectError(() => encode(header as HeaderInput), ErrorCodes.ENCODE_INVALID)
  })

  it('rejects invalid options with ERR_PROXY_ENCODE_INVALID', () => {
    expectError(() => encode(good, null as never), ErrorCodes.ENCODE_INVALID)
    expectError(() => encode(good, 'crc32c' as never), ErrorCodes.ENCODE_INVALID)
    expectError(() => encode(good, { padTo: -1 }), ErrorCodes.ENCODE_INVALID)
    expectError(() => encode(good, { padTo: 1.5 }), ErrorCodes.ENCODE_INVALID)
    expectError(() => encode(good, { padTo: 70000 }), ErrorCodes.ENCODE_INVALID)
    expectError(
      () => encode({ version: 1, family: 'IPv4', ...v4 }, { crc32c: true }),
      ErrorCodes.ENCODE_INVALID,
    )
    expectError(
      () => encode({ version: 1, family: 'IPv4', ...v4 }, { padTo: 200 }),
      ErrorCodes.ENCODE_INVALID,
    )
  })

  it('accepts a header of exactly the 65551-byte maximum', () => {
    const out = encode({ ...good, tlvs: [{ type: 0xff, value: new Uint8Array(65535 - 12 - 3) }] })
    expect(out.length).toBe(65551)
    expect(expectComplete(out, { maxHeaderSize: 65551 }).length).toBe(65551)
    expectError(
      () => encode({ ...good, tlvs: [{ type: 0xff, value: new Uint8Array(65535 - 12 - 2) }] }),
      ErrorCodes.ENCODE_INVALID,
    )
  })

  it('reports encode errors without an offset', () => {
    const err = expectError(() => encode({ ...good, family: 'IPX' as 'IPv4' }), ErrorCodes.ENCODE_INVALID)
    expect(err.offset).toBeUndefined()
  })
})

function hexOf(h: string): string {
  return toHex(hex(h))
}
