/** CRC32C (Castagnoli), spec §2.2.3, checked against published vectors and a bitwise reference. */
import { crc32c } from '@proxyproto/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ascii, hex } from './helpers.js'

/** Bit-at-a-time reference (reflected polynomial 0x82F63B78), independent of the table code. */
function reference(bytes: Uint8Array): number {
  let c = 0xffffffff
  for (const b of bytes) {
    c ^= b
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
  }
  return (c ^ 0xffffffff) >>> 0
}

describe('crc32c', () => {
  it('gives the check value 0xe3069283 for "123456789"', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283)
  })

  it('matches the RFC 3720 B.4 vectors', () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa)
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43)
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e)
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c)
    // iSCSI Read (10) command PDU
    expect(
      crc32c(
        hex(
          '01c00000 00000000 00000000 00000000 14000000 00000400 00000014 00000018',
          '28000000 00000000 02000000 00000000',
        ),
      ),
    ).toBe(0xd9963a56)
  })

  it('returns 0 for no bytes and an unsigned 32-bit number otherwise', () => {
    expect(crc32c(new Uint8Array(0))).toBe(0)
    const c = crc32c(ascii('123456789')) // 0xe3069283, high bit set
    expect(c).toBeGreaterThan(0x7fffffff)
    expect(Number.isInteger(c)).toBe(true)
  })

  it('checksums only bytes[start..end)', () => {
    const b = ascii('xx123456789yyy')
    expect(crc32c(b, 2, 11)).toBe(0xe3069283)
    expect(crc32c(b.subarray(2, 11))).toBe(0xe3069283)
    expect(crc32c(b, 5, 5)).toBe(0)
  })

  it('chains: checksumming in pieces equals checksumming at once, for every split point', () => {
    const b = ascii('The quick brown fox jumps over the lazy dog')
    const whole = crc32c(b)
    for (let k = 0; k <= b.length; k++) {
      expect(crc32c(b, k, b.length, crc32c(b, 0, k))).toBe(whole)
    }
    // three pieces
    expect(crc32c(b, 20, b.length, crc32c(b, 7, 20, crc32c(b, 0, 7)))).toBe(whole)
  })

  it('agrees with a bitwise reference on random data of every alignment', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(8), fc.nat(8), (b, s, e) => {
        const start = Math.min(s, b.length)
        const end = Math.max(start, b.length - e)
        expect(crc32c(b, start, end)).toBe(reference(b.subarray(start, end)))
      }),
      { numRuns: 1000 },
    )
  })

  it('chains random splits of random data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(), (b, r) => {
        const k = b.length === 0 ? 0 : r % (b.length + 1)
        expect(crc32c(b, k, b.length, crc32c(b, 0, k))).toBe(reference(b))
      }),
      { numRuns: 500 },
    )
  })
})
