/**
 * TLV decoders (spec §2.2.1–§2.2.7 and the cloud vendors' custom TLVs) and the `tlv.*` builders.
 * TLV values are hostile: lengths and UTF-8 are validated, SSL sub-TLVs are read without recursion.
 */
import {
  ErrorCodes,
  SslClient,
  SslSubType,
  TlvType,
  decodeAlpn,
  decodeAuthority,
  decodeAwsVpceId,
  decodeAzureLinkId,
  decodeCrc32c,
  decodeGcpPscConnectionId,
  decodeNetns,
  decodeSsl,
  decodeTlvs,
  decodeUniqueId,
  encode,
  tlv,
} from '@proxyproto/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ascii, concat, expectComplete, expectError, hex, toHex } from './helpers.js'

const utf8 = (s: string) => new TextEncoder().encode(s)
const invalid = ErrorCodes.TLV_INVALID

describe('decodeAlpn', () => {
  it('decodes the protocol name', () => {
    expect(decodeAlpn(hex('6832'))).toBe('h2')
    expect(decodeAlpn(ascii('http/1.1'))).toBe('http/1.1')
    expect(decodeAlpn(new Uint8Array(0))).toBe('')
  })

  it('keeps a leading byte order mark as part of the value', () => {
    expect(decodeAlpn(hex('efbbbf 6832'))).toBe('\ufeffh2')
    expect(decodeAuthority(hex('efbbbf 61'))).toBe('\ufeffa')
  })

  it('rejects a value that is not valid UTF-8', () => {
    expectError(() => decodeAlpn(hex('68ff')), invalid)
    expectError(() => decodeAlpn(hex('c3')), invalid) // truncated sequence
    expectError(() => decodeAlpn(hex('eda080')), invalid) // UTF-16 surrogate
  })
})

describe('decodeAuthority', () => {
  it('decodes an ASCII or UTF-8 host name', () => {
    expect(decodeAuthority(ascii('example.com'))).toBe('example.com')
    expect(decodeAuthority(utf8('bücher.example'))).toBe('bücher.example')
  })

  it('accepts 255 bytes and rejects 256', () => {
    expect(decodeAuthority(ascii('a'.repeat(255)))).toHaveLength(255)
    expectError(() => decodeAuthority(ascii('a'.repeat(256))), invalid)
  })

  it('rejects a value that is not valid UTF-8 (Envoy CVE-2024-23324)', () => {
    expectError(() => decodeAuthority(concat(ascii('example.com'), hex('ff'))), invalid)
    expectError(() => decodeAuthority(hex('c0af')), invalid) // overlong '/'
  })
})

describe('decodeCrc32c', () => {
  it('decodes the 32-bit big-endian checksum as an unsigned number', () => {
    expect(decodeCrc32c(hex('e8d6892d'))).toBe(0xe8d6892d)
    expect(decodeCrc32c(hex('ffffffff'))).toBe(0xffffffff)
    expect(decodeCrc32c(hex('00000001'))).toBe(1)
  })

  it('rejects a value that is not 4 bytes', () => {
    for (const v of ['', '00', '000000', '0000000000']) expectError(() => decodeCrc32c(hex(v)), invalid)
  })
})

describe('decodeUniqueId', () => {
  it('returns the same bytes (a view, no copy) for 0 to 128 bytes', () => {
    for (const n of [0, 1, 128]) {
      const v = new Uint8Array(n).fill(7)
      expect(decodeUniqueId(v)).toBe(v)
    }
  })

  it('rejects more than 128 bytes', () => {
    expectError(() => decodeUniqueId(new Uint8Array(129)), invalid)
  })
})

describe('decodeNetns', () => {
  it('decodes a US-ASCII namespace name', () => {
    expect(decodeNetns(ascii('/var/run/netns/example'))).toBe('/var/run/netns/example')
  })

  it('rejects non-ASCII and control bytes', () => {
    expectError(() => decodeNetns(utf8('nétns')), invalid)
    expectError(() => decodeNetns(ascii('ns\x00')), invalid)
    expectError(() => decodeNetns(ascii('ns\n')), invalid)
    expectError(() => decodeNetns(hex('7f')), invalid)
  })
})

/** An SSL TLV value: client byte, verify (uint32 BE), sub-TLVs given as hex. */
const sslValue = (client: number, verify: number, subs = '') =>
  hex(client.toString(16).padStart(2, '0'), verify.toString(16).padStart(8, '0'), subs)
const sub = (type: number, value: Uint8Array) =>
  toHex(Uint8Array.of(type, value.length >> 8, value.length & 0xff)) + toHex(value)

describe('decodeSsl', () => {
  it('decodes the client bits', () => {
    for (let client = 0; client < 8; client++) {
      const info = decodeSsl(sslValue(client, 0))
      expect(info.client).toBe(client)
      expect(info.ssl).toBe((client & SslClient.SSL) !== 0)
      expect(info.certInConnection).toBe((client & SslClient.CERT_CONN) !== 0)
      expect(info.certInSession).toBe((client & SslClient.CERT_SESS) !== 0)
    }
    expect(decodeSsl(sslValue(0xff, 0)).client).toBe(0xff)
  })

  it('reports verified only when a client certificate was presented and verify is 0', () => {
    const { SSL, CERT_CONN, CERT_SESS } = SslClient
    expect(decodeSsl(sslValue(SSL | CERT_CONN, 0))).toMatchObject({ verify: 0, verified: true })
    expect(decodeSsl(sslValue(SSL | CERT_SESS, 0))).toMatchObject({ verify: 0, verified: true })
    expect(decodeSsl(sslValue(SSL | CERT_CONN, 1))).toMatchObject({ verify: 1, verified: false })
    // HAProxy sends verify 0 when no certificate was presented: that is not a verified certificate
    expect(decodeSsl(sslValue(SSL, 0))).toMatchObject({ verify: 0, verified: false })
    expect(decodeSsl(sslValue(0, 0))).toMatchObject({ verify: 0, verified: false })
  })

  it('returns verify as an unsigned 32-bit number', () => {
    const info = decodeSsl(sslValue(SslClient.SSL | SslClient.CERT_CONN, 0xffffffff))
    expect(info).toMatchObject({ verify: 0xffffffff, verified: false })
  })

  it('decodes the sub-TLVs 0x21-0x28, the client certificate as raw bytes', () => {
    const cert = hex('3082 0122 300d 0609 2a86 4886 f70d 0101 0105 0003 8201 0f00')
    const value = sslValue(
      SslClient.SSL | SslClient.CERT_CONN,
      0,
      sub(SslSubType.VERSION, ascii('TLSv1.3')) +
        sub(SslSubType.CN, utf8('Jürgen Example')) +
        sub(SslSubType.CIPHER, ascii('TLS_AES_128_GCM_SHA256')) +
        sub(SslSubType.SIG_ALG, ascii('RSA-SHA256')) +
        sub(SslSubType.KEY_ALG, ascii('RSA2048')) +
        sub(SslSubType.GROUP, ascii('X25519')) +
        sub(SslSubType.SIG_SCHEME, ascii('rsa_pss_rsae_sha256')) +
        sub(SslSubType.CLIENT_CERT, cert),
    )
    const info = decodeSsl(value)
    expect(info).toMatchObject({
      ssl: true,
      certInConnection: true,
      certInSession: false,
      verified: true,
      version: 'TLSv1.3',
      cn: 'Jürgen Example',
      cipher: 'TLS_AES_128_GCM_SHA256',
      sigAlg: 'RSA-SHA256',
      keyAlg: 'RSA2048',
      group: 'X25519',
      sigScheme: 'rsa_pss_rsae_sha256',
    })
    expect(toHex(info.clientCert!)).toBe(toHex(cert))
    expect(info.clientCert!.buffer).toBe(value.buffer) // a view
    expect(info.tlvs.map((t) => t.type)).toEqual([0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28])
  })

  it('keeps unknown sub-TLVs in wire order', () => {
    const info = decodeSsl(
      sslValue(1, 0, `${sub(0x99, hex('0102'))}${sub(0x21, ascii('TLSv1.2'))}${sub(0x20, hex(''))}`),
    )
    expect(info.tlvs.map((t) => [t.type, toHex(t.value)])).toEqual([
      [0x99, '0102'],
      [0x21, toHex(ascii('TLSv1.2'))],
      [0x20, ''],
    ])
    expect(info.version).toBe('TLSv1.2')
  })

  it('rejects a CN that is not valid UTF-8', () => {
    expectError(() => decodeSsl(sslValue(1, 0, sub(SslSubType.CN, hex('41ff42')))), invalid)
  })

  it('rejects non-ASCII in the US-ASCII sub-TLVs', () => {
    for (const type of [0x21, 0x23, 0x24, 0x25, 0x26, 0x27]) {
      expectError(() => decodeSsl(sslValue(1, 0, sub(type, utf8('TLSv1.3é')))), invalid)
    }
  })

  it('rejects a value shorter than the 5-byte client and verify fields', () => {
    for (const v of ['', '01', '0100000000'.slice(0, 8)]) expectError(() => decodeSsl(hex(v)), invalid)
  })

  it('rejects a truncated sub-TLV', () => {
    expectError(() => decodeSsl(sslValue(1, 0, '21')), invalid) // 1 byte of sub-TLV header
    expectError(() => decodeSsl(sslValue(1, 0, '2100')), invalid) // 2 bytes of sub-TLV header
    expectError(() => decodeSsl(sslValue(1, 0, '21 0005 544c53')), invalid) // value runs past the end
    expectError(() => decodeSsl(sslValue(1, 0, `${sub(0x21, ascii('TLSv1.3'))} 22 ffff`)), invalid)
  })

  it('reads deeply nested SSL-in-SSL sub-TLVs without recursing (Netty CVE-2022-41881)', () => {
    // 8000 levels of 0x20 TLVs nested inside one another, the shape that overflowed Netty's stack
    let inner: Uint8Array = new Uint8Array(0)
    for (let i = 0; i < 8000; i++) {
      const len = 5 + inner.length
      const next = new Uint8Array(3 + len)
      next.set([0x20, len >> 8, len & 0xff, 0x01, 0, 0, 0, 0])
      next.set(inner, 8)
      inner = next
    }
    expect(inner.length).toBeLessThan(65536)
    const info = decodeSsl(inner.subarray(3))
    expect(info.tlvs).toHaveLength(1)
    expect(info.tlvs[0]!.type).toBe(0x20)
    // and decodeTlvs on a header carrying it
    expect(decodeTlvs([{ type: 0x20, value: inner.subarray(3) }]).ssl?.tlvs).toHaveLength(1)
  })

  it('reads tens of thousands of repeated sub-TLVs in one flat pass', () => {
    const n = 21_000
    const value = new Uint8Array(5 + 3 * n)
    value[0] = 1
    for (let i = 0; i < n; i++) value[5 + 3 * i] = 0x20
    const info = decodeSsl(value)
    expect(info.tlvs).toHaveLength(n)
  })
})

describe('decodeAwsVpceId', () => {
  it('decodes subtype 0x01 as the VPC endpoint id', () => {
    expect(decodeAwsVpceId(hex('01 7670 6365 2d30 3864 3262 6631 3566 6163 3530 3031 6339'))).toBe(
      'vpce-08d2bf15fac5001c9',
    )
  })

  it('rejects another subtype, an empty id and non-ASCII bytes', () => {
    expectError(() => decodeAwsVpceId(concat(hex('02'), ascii('vpce-1'))), invalid)
    expectError(() => decodeAwsVpceId(hex('01')), invalid)
    expectError(() => decodeAwsVpceId(hex('')), invalid)
    expectError(() => decodeAwsVpceId(concat(hex('01'), utf8('vpce-é'))), invalid)
  })
})

describe('decodeAzureLinkId', () => {
  it('decodes the LinkID as uint32 little-endian after subtype 0x01', () => {
    expect(decodeAzureLinkId(hex('01 78563412'))).toBe(0x12345678)
    expect(decodeAzureLinkId(hex('01 01000000'))).toBe(1)
    expect(decodeAzureLinkId(hex('01 ffffffff'))).toBe(0xffffffff)
  })

  it('rejects any length other than exactly 5 bytes and any other subtype', () => {
    for (const v of ['01', '01 785634', '01 78563412 00', '', '02 78563412']) {
      expectError(() => decodeAzureLinkId(hex(v)), invalid)
    }
  })
})

describe('decodeGcpPscConnectionId', () => {
  it('decodes 8 bytes big-endian as a bigint', () => {
    expect(decodeGcpPscConnectionId(hex('0123456789abcdef'))).toBe(0x0123456789abcdefn)
    expect(decodeGcpPscConnectionId(hex('ffffffffffffffff'))).toBe(0xffffffffffffffffn)
    expect(decodeGcpPscConnectionId(hex('0000000000000001'))).toBe(1n)
  })

  it('rejects any length other than 8 bytes', () => {
    for (const v of ['', '01', '01234567890abc', '0123456789abcdef01']) {
      expectError(() => decodeGcpPscConnectionId(hex(v)), invalid)
    }
  })
})

describe('decodeTlvs', () => {
  it('decodes every known type, drops NOOP and keeps the unknown ones in order', () => {
    const d = decodeTlvs([
      { type: 0x01, value: ascii('h2') },
      { type: 0xf0, value: hex('aa') },
      { type: 0x02, value: ascii('example.com') },
      { type: 0x03, value: hex('e8d6892d') },
      { type: 0x04, value: hex('000000') },
      { type: 0x05, value: hex('0102') },
      { type: 0x20, value: sslValue(1, 0, sub(0x21, ascii('TLSv1.3'))) },
      { type: 0x30, value: ascii('ns1') },
      { type: 0xe0, value: hex('0000000000000102') },
      { type: 0xea, value: concat(hex('01'), ascii('vpce-0abc')) },
      { type: 0xee, value: hex('01 02000000') },
      { type: 0x00, value: hex('') },
    ])
    expect(d).toMatchObject({
      alpn: 'h2',
      authority: 'example.com',
      crc32c: 0xe8d6892d,
      netns: 'ns1',
      gcpPscConnectionId: 0x102n,
      awsVpceId: 'vpce-0abc',
      azureLinkId: 2,
    })
    expect(toHex(d.uniqueId!)).toBe('0102')
    expect(d.ssl?.version).toBe('TLSv1.3')
    expect(d.unknown.map((t) => t.type)).toEqual([0xf0, 0x00])
  })

  it('keeps the first TLV when a type appears twice', () => {
    const d = decodeTlvs([
      { type: 0x01, value: ascii('h2') },
      { type: 0x01, value: ascii('http/1.1') },
    ])
    expect(d.alpn).toBe('h2')
  })

  it('checks every copy of a repeated TLV, not only the first one it keeps, and lists a bad one in invalid', () => {
    const d = decodeTlvs([{ type: 0x01, value: ascii('h2') }, { type: 0x01, value: hex('ff') }])
    expect(d.alpn).toBe('h2')
    expect(d.invalid.map((i) => [i.type, toHex(i.value), i.error.code])).toEqual([[0x01, 'ff', invalid]])
    const c = decodeTlvs([{ type: 0x03, value: hex('00000000') }, { type: 0x03, value: hex('00') }])
    expect(c.crc32c).toBe(0)
    expect(c.invalid).toHaveLength(1)
  })

  it('lets a bad first copy decide: the field stays absent even when a later copy is good', () => {
    const d = decodeTlvs([{ type: 0x02, value: hex('fffe') }, { type: 0x02, value: ascii('example.com') }])
    expect(d.authority).toBeUndefined()
    expect(d.invalid).toHaveLength(1)
  })

  it('keeps the first SSL sub-TLV of a type, as decodeTlvs does, and validates the others', () => {
    const two = sslValue(1, 0, sub(0x21, ascii('A')) + sub(0x21, ascii('B')))
    expect(decodeSsl(two).version).toBe('A')
    expect(decodeSsl(two).tlvs).toHaveLength(2)
    expectError(() => decodeSsl(sslValue(1, 0, sub(0x21, ascii('A')) + sub(0x21, hex('ff')))), invalid)
  })

  it('puts AWS and Azure TLVs with another subtype among the unknown', () => {
    const aws = { type: 0xea, value: hex('02 aa') }
    const azure = { type: 0xee, value: hex('02 01000000') }
    const d = decodeTlvs([aws, azure])
    expect(d.awsVpceId).toBeUndefined()
    expect(d.azureLinkId).toBeUndefined()
    expect(d.unknown).toEqual([aws, azure])
  })

  it('never throws on a malformed known TLV: lists it in invalid with ERR_PROXY_TLV_INVALID and leaves its field absent', () => {
    for (const [type, value, field] of [
      [0x02, hex('ff'), 'authority'],
      [0x05, new Uint8Array(129), 'uniqueId'],
      [0xe0, hex('00'), 'gcpPscConnectionId'],
      [0xee, hex('01 00'), 'azureLinkId'],
      [0x20, hex('01'), 'ssl'],
    ] as const) {
      const d = decodeTlvs([{ type, value }])
      expect(d).not.toHaveProperty(field)
      expect(d.invalid).toHaveLength(1)
      expect(d.invalid[0]).toMatchObject({ type, value })
      expect(d.invalid[0]!.error.code).toBe(invalid)
    }
  })

  it('returns an empty result for no TLVs', () => {
    expect(decodeTlvs([])).toEqual({ unknown: [], invalid: [] })
  })
})

describe('tlv builders', () => {
  it('build TLVs that the decoders read back', () => {
    expect(tlv.alpn('h2')).toEqual({ type: TlvType.ALPN, value: ascii('h2') })
    expect(decodeAlpn(tlv.alpn('http/1.1').value)).toBe('http/1.1')
    expect(decodeAuthority(tlv.authority('bücher.example').value)).toBe('bücher.example')
    expect(tlv.authority('x').type).toBe(TlvType.AUTHORITY)
    expect(decodeUniqueId(tlv.uniqueId('abc').value)).toEqual(ascii('abc'))
    expect(tlv.uniqueId(hex('0102')).type).toBe(TlvType.UNIQUE_ID)
    expect(decodeNetns(tlv.netns('blue').value)).toBe('blue')
    expect(tlv.netns('blue').type).toBe(TlvType.NETNS)
    expect(tlv.awsVpceId('vpce-08d2bf15fac5001c9')).toEqual({
      type: TlvType.AWS,
      value: hex('01 7670 6365 2d30 3864 3262 6631 3566 6163 3530 3031 6339'),
    })
    expect(tlv.azureLinkId(0x12345678)).toEqual({ type: TlvType.AZURE, value: hex('01 78563412') })
    expect(tlv.gcpPscConnectionId(0x0123456789abcdefn)).toEqual({
      type: TlvType.GCP,
      value: hex('0123456789abcdef'),
    })
  })

  it('round-trip the boundary values of the numeric ids', () => {
    for (const id of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff])
      expect(decodeAzureLinkId(tlv.azureLinkId(id).value)).toBe(id)
    for (const id of [0n, 1n, 0xffffffffffffffffn])
      expect(decodeGcpPscConnectionId(tlv.gcpPscConnectionId(id).value)).toBe(id)
  })

  it('round-trip random values through the decoders', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40, unit: 'grapheme' }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }),
        fc.uint8Array({ maxLength: 128 }),
        (s, azure, gcp, uid) => {
          expect(decodeAlpn(tlv.alpn(s).value)).toBe(s)
          expect(decodeAzureLinkId(tlv.azureLinkId(azure).value)).toBe(azure)
          expect(decodeGcpPscConnectionId(tlv.gcpPscConnectionId(gcp).value)).toBe(gcp)
          expect(decodeUniqueId(tlv.uniqueId(uid).value)).toEqual(uid)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('build an SSL TLV that decodeSsl reads back', () => {
    const cert = hex('30820122')
    const t = tlv.ssl({
      client: SslClient.SSL | SslClient.CERT_SESS,
      verify: 0x01020304,
      tlvs: [
        { type: SslSubType.VERSION, value: ascii('TLSv1.3') },
        { type: SslSubType.CN, value: utf8('ä.example') },
        { type: SslSubType.CLIENT_CERT, value: cert },
      ],
    })
    expect(t.type).toBe(TlvType.SSL)
    expect(toHex(t.value.subarray(0, 5))).toBe('0501020304')
    expect(decodeSsl(t.value)).toMatchObject({
      ssl: true,
      certInConnection: false,
      certInSession: true,
      verify: 0x01020304,
      verified: false,
      version: 'TLSv1.3',
      cn: 'ä.example',
      clientCert: cert,
    })
    expect(decodeSsl(tlv.ssl({ client: 0 }).value)).toMatchObject({
      client: 0,
      verify: 0,
      verified: false,
      tlvs: [],
    })
  })

  it('reject out-of-range values with ERR_PROXY_ENCODE_INVALID', () => {
    expectError(() => tlv.uniqueId(new Uint8Array(129)), ErrorCodes.ENCODE_INVALID)
    expectError(() => tlv.uniqueId('x'.repeat(129)), ErrorCodes.ENCODE_INVALID)
    for (const id of [-1, 0x100000000, 1.5, Number.NaN])
      expectError(() => tlv.azureLinkId(id), ErrorCodes.ENCODE_INVALID)
    for (const id of [-1n, 0x10000000000000000n])
      expectError(() => tlv.gcpPscConnectionId(id), ErrorCodes.ENCODE_INVALID)
  })

  it.each([
    ['an SSL verify of 2**32, which would wrap to 0 and read as verified', () => tlv.ssl({ client: 3, verify: 2 ** 32 })],
    ['a negative SSL verify', () => tlv.ssl({ client: 1, verify: -1 })],
    ['an SSL client of 300', () => tlv.ssl({ client: 300 })],
    ['an SSL sub-TLV type of 0x121', () => tlv.ssl({ client: 1, tlvs: [{ type: 0x121, value: ascii('x') }] })],
    ['an SSL sub-TLV that is null', () => tlv.ssl({ client: 1, tlvs: [null as never] })],
    ['an SSL version that is not ASCII', () => tlv.ssl({ client: 1, tlvs: [{ type: SslSubType.VERSION, value: utf8('é') }] })],
    ['an AWS VPC endpoint id that is not ASCII', () => tlv.awsVpceId('vpce-é')],
    ['an empty AWS VPC endpoint id', () => tlv.awsVpceId('')],
    ['a NETNS name that is not ASCII', () => tlv.netns('é')],
    ['an AUTHORITY of 256 bytes', () => tlv.authority('a'.repeat(256))],
    ['an ALPN that is not a string', () => tlv.alpn(2 as never)],
    ['a GCP id given as a number', () => tlv.gcpPscConnectionId(1 as never)],
    ['a null unique id', () => tlv.uniqueId(null as never)],
  ])('reject %s with ERR_PROXY_ENCODE_INVALID', (_what, build) => {
    expectError(build, ErrorCodes.ENCODE_INVALID)
  })

  it('carry through encode and parse into decodeTlvs', () => {
    const h = encode({
      version: 2,
      family: 'IPv4',
      source: { address: '10.0.0.1', port: 1 },
      destination: { address: '10.0.0.2', port: 2 },
      tlvs: [
        tlv.alpn('h2'),
        tlv.authority('example.com'),
        tlv.uniqueId('req-1'),
        tlv.netns('ns'),
        tlv.awsVpceId('vpce-1'),
        tlv.azureLinkId(42),
        tlv.gcpPscConnectionId(7n),
        tlv.ssl({ client: 1, tlvs: [{ type: SslSubType.VERSION, value: ascii('TLSv1.3') }] }),
      ],
    })
    const d = decodeTlvs(expectComplete(h).header.tlvs)
    expect(d).toMatchObject({
      alpn: 'h2',
      authority: 'example.com',
      netns: 'ns',
      awsVpceId: 'vpce-1',
      azureLinkId: 42,
      gcpPscConnectionId: 7n,
      ssl: { ssl: true, version: 'TLSv1.3' },
      unknown: [],
    })
    expect(d.uniqueId).toEqual(ascii('req-1'))
  })
})
