/** Shared helpers for the @proxyproto/core tests (not a test file itself). */
import {
  type ErrorCode,
  type ParseOptions,
  type ProxyHeader,
  ProxyProtocolError,
  parse,
} from '@proxyproto/core'
import { expect } from 'vitest'

/** v2 signature, spec §2.2, as hex. */
export const SIG = '0d0a0d0a000d0a515549540a'

/** Hex string (whitespace ignored) to bytes. */
export function hex(...parts: string[]): Uint8Array {
  const s = parts.join('').replace(/\s+/g, '')
  if (s.length % 2 !== 0 || /[^0-9a-fA-F]/.test(s)) throw new Error(`bad hex fixture: ${s}`)
  const out = new Uint8Array(s.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(s.slice(i * 2, i * 2 + 2), 16)
  return out
}

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
}

/** Latin-1 string to bytes (one byte per char code). */
export function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0))
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let p = 0
  for (const part of parts) {
    out.set(part, p)
    p += part.length
  }
  return out
}

/** Hex of a 16-bit big-endian number. */
export function u16(n: number): string {
  return n.toString(16).padStart(4, '0')
}

/** A v2 header as hex: signature, ver/cmd, fam, computed length, body. */
export function v2hex(verCmd: string, fam: string, body: string): string {
  const b = body.replace(/\s+/g, '')
  return `${SIG}${verCmd}${fam}${u16(b.length / 2)}${b}`
}

/** Runs fn, expects a ProxyProtocolError with the given code, returns it. */
export function expectError(fn: () => unknown, code: ErrorCode): ProxyProtocolError {
  let thrown: unknown
  try {
    fn()
  } catch (e) {
    thrown = e
  }
  expect(thrown, `expected ${code} to be thrown`).toBeInstanceOf(ProxyProtocolError)
  expect((thrown as ProxyProtocolError).code).toBe(code)
  return thrown as ProxyProtocolError
}

/** parse() must throw `code` with a numeric offset (every parse error carries one). */
export function expectParseError(
  input: Uint8Array,
  code: ErrorCode,
  options?: ParseOptions,
): ProxyProtocolError {
  const err = expectError(() => parse(input, options), code)
  expect(typeof err.offset).toBe('number')
  expect(err.offset).toBeGreaterThanOrEqual(0)
  expect(err.offset).toBeLessThanOrEqual(input.length)
  return err
}

/** parse() must return 'complete'; returns header and length. */
export function expectComplete(
  input: Uint8Array,
  options?: ParseOptions,
): { header: ProxyHeader; length: number } {
  const r = parse(input, options)
  if (r.status !== 'complete') throw new Error(`expected complete, got ${r.status}`)
  return { header: r.header, length: r.length }
}

/** Every strict prefix of `input[0..length)` (the empty one included) parses as 'incomplete'. */
export function expectPrefixesIncomplete(input: Uint8Array, length: number, options?: ParseOptions): void {
  for (let i = 0; i < length; i++) {
    const r = parse(input.subarray(0, i), options)
    expect(r.status, `prefix of ${i} bytes`).toBe('incomplete')
  }
}

/**
 * A real AWS NLB PROXY v2 header (TCP over IPv4, 172.31.7.113:51442 -> 172.31.10.31:80) with, in wire order,
 * a CRC32C TLV, the 0xEA VPC endpoint TLV (subtype 0x01, "vpce-08d2bf15fac5001c9") and a 36-byte NOOP.
 * Bytes as captured in Erlang ranch's ranch_proxy_header parse_v2_regression_test; the checksum is AWS's own.
 */
export const AWS_NLB_HEX = [
  SIG,
  '21 11 0054', // v2 PROXY, TCP over IPv4, 84 bytes follow
  'ac1f0771 ac1f0a1f c8f2 0050', // 172.31.7.113 172.31.10.31 51442 80
  '03 0004 e8d6892d', // PP2_TYPE_CRC32C
  'ea 0017 01 7670 6365 2d30 3864 3262 6631 3566 6163 3530 3031 6339', // 0xEA, 0x01 "vpce-08d2bf15fac5001c9"
  `04 0024 ${'00'.repeat(36)}`, // PP2_TYPE_NOOP
].join('')
