/**
 * The TLV policy (docs/security.md, "TLVs are hostile input"): structurally invalid spec TLVs make the
 * header invalid at parse time; well-formed values that cannot be decoded are exposed by decodeTlvs
 * without throwing, and never hide the other TLVs.
 */
import { ErrorCodes, type Tlv, decodeTlvs, parse } from '@proxyproto/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { expectComplete, expectError, hex, toHex, u16, v2hex } from './helpers.js'

const ADDRESSES = 'cb007107 c0000201 c822 01bb' // 203.0.113.7:51234 -> 192.0.2.1:443
const tlvHex = (type: number, value: string): string => {
  const v = value.replace(/\s+/g, '')
  return `${type.toString(16).padStart(2, '0')}${u16(v.length / 2)}${v}`
}
const header = (...tlvs: string[]): Uint8Array => hex(v2hex('21', '11', ADDRESSES + tlvs.join('')))

describe('structurally invalid spec TLVs are refused at parse time', () => {
  it.each([
    ['an SSL TLV of 2 bytes (§2.2.6: client + verify are 5)', tlvHex(0x20, '0100')],
    ['an SSL TLV of 4 bytes', tlvHex(0x20, '01000000')],
    ['an SSL sub-TLV header cut short', tlvHex(0x20, '0100000000 2100')],
    ['an SSL sub-TLV whose length runs past the SSL TLV', tlvHex(0x20, '0100000000 210005 544c53')],
    ['a UNIQUE_ID of 129 bytes (§2.2.5: at most 128)', tlvHex(0x05, '00'.repeat(129))],
  ])('%s: ERR_PROXY_TLV_INVALID', (_name, bad) => {
    expectError(() => parse(header(tlvHex(0x02, '6578616d706c652e636f6d'), bad)), ErrorCodes.TLV_INVALID)
  })

  it('accepts the limits themselves: a bare 5-byte SSL TLV, sub-TLVs that end exactly, a 128-byte UNIQUE_ID', () => {
    const h = expectComplete(
      header(
        tlvHex(0x20, '0100000000'),
        tlvHex(0x20, '0100000000 210003 544c53'),
        tlvHex(0x05, '00'.repeat(128)),
      ),
    ).header
    expect(h.tlvs.map((t) => t.type)).toEqual([0x20, 0x20, 0x05])
  })
})

describe('decodeTlvs exposes well-formed but unusable values without throwing', () => {
  const alongside = [
    { type: 0x02, value: hex('6578616d706c652e636f6d') }, // AUTHORITY example.com
    { type: 0xea, value: hex('01 767063652d30616263') }, // AWS vpce-0abc
  ]
  it.each([
    ['non-UTF-8 AUTHORITY (a client SNI of ff fe + .example)', 0x02, 'fffe2e6578616d706c65', 'authority'],
    ['non-UTF-8 ALPN', 0x01, '68ff', 'alpn'],
    ['non-ASCII NETNS', 0x30, '6e73c3a9', 'netns'],
    ['a short AWS VPC endpoint value', 0xea, '01', 'awsVpceId'],
    ['an AWS endpoint id with a control byte', 0xea, '01 76700a', 'awsVpceId'],
    ['a short Azure LinkID', 0xee, '01 0203', 'azureLinkId'],
    ['a short GCP PSC id', 0xe0, '0001', 'gcpPscConnectionId'],
    ['an AUTHORITY longer than a host name', 0x02, '61'.repeat(256), 'authority'],
  ])('%s: raw kept, field absent, listed in invalid, other TLVs decoded', (_name, type, value, field) => {
    // The bad value comes first, so it would hide the others if decoding stopped at it.
    const bad: Tlv = { type, value: hex(value) }
    const d = decodeTlvs([bad, ...alongside.filter((t) => t.type !== type)])
    expect(d).not.toHaveProperty(field)
    expect(d.invalid).toHaveLength(1)
    expect(d.invalid[0]!.type).toBe(type)
    expect(toHex(d.invalid[0]!.value)).toBe(value.replace(/\s+/g, ''))
    expect(d.invalid[0]!.error.code).toBe(ErrorCodes.TLV_INVALID)
    expect(d.invalid[0]!.error.message).toMatch(/./)
    if (type !== 0x02) expect(d.authority).toBe('example.com')
    if (type !== 0xea) expect(d.awsVpceId).toBe('vpce-0abc')
  })

  it('keeps the SSL TLV when one text sub-TLV cannot be decoded: that field alone is absent', () => {
    // SSL: client=1, verify=0, VERSION "TLSv1.3", CN ff fe (not UTF-8), CIPHER "X"
    const value = hex('01 00000000', '210007 544c5376312e33', '220002 fffe', '230001 58')
    const d = decodeTlvs([{ type: 0x20, value }])
    expect(d.ssl).toMatchObject({ ssl: true, version: 'TLSv1.3', cipher: 'X' })
    expect(d.ssl).not.toHaveProperty('cn')
    expect(d.ssl!.tlvs).toHaveLength(3)
    expect(d.invalid.map((i) => [i.type, i.subType, toHex(i.value)])).toEqual([[0x20, 0x22, 'fffe']])
  })

  it('lets the first copy of an SSL sub-TLV decide: a good CN after a bad one does not stand in for it', () => {
    const d = decodeTlvs([{ type: 0x20, value: hex('01 00000000', '220002 fffe', '220001 41') }])
    expect(d.ssl).not.toHaveProperty('cn')
    expect(d.invalid).toHaveLength(1)
  })

  it('never throws, whatever the TLVs (known types with random values)', () => {
    const known = [0x01, 0x02, 0x03, 0x04, 0x05, 0x20, 0x30, 0xe0, 0xea, 0xee]
    const anyTlv = fc.record({
      type: fc.oneof(fc.constantFrom(...known), fc.integer({ min: 0, max: 255 })),
      value: fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        // SSL-shaped: a 5-byte fixed part and random sub-TLVs
        fc
          .array(
            fc.record({ t: fc.integer({ min: 0x21, max: 0x28 }), v: fc.uint8Array({ maxLength: 20 }) }),
            { maxLength: 4 },
          )
          .map((subs) => hex('01 00000000', ...subs.map((s) => tlvHex(s.t, toHex(s.v))))),
      ),
    })
    fc.assert(
      fc.property(fc.array(anyTlv, { maxLength: 8 }), (tlvs) => {
        const d = decodeTlvs(tlvs)
        // Every known, non-NOOP TLV is accounted for: decoded (first copy), a later copy, or invalid.
        for (const bad of d.invalid) expect(bad.error.code).toBe(ErrorCodes.TLV_INVALID)
      }),
      { numRuns: 2000 },
    )
  })
})
