/**
 * PROXY protocol v1 (spec §2.1): "PROXY" SP ("TCP4" | "TCP6") SP src SP dst SP sport SP dport CRLF,
 * or "PROXY UNKNOWN" [SP anything] CRLF, at most 107 bytes.
 * Fields are walked byte by byte, so a prefix that can never become a header fails at once.
 */
import { formatIPv6, isIPv6Prefix, parseIPv6Bytes } from './address.js'
import { V1_MAX_LENGTH } from './constants.js'
import { ErrorCodes, fail } from './errors.js'
import type { Family, ParseResult, ProxyHeader } from './types.js'

const SP = 0x20
const CR = 0x0d
const LF = 0x0a
const START = 6 // after "PROXY "
const INCOMPLETE: ParseResult = Object.freeze({ status: 'incomplete' }) as ParseResult

const TCP4 = [0x54, 0x43, 0x50, 0x34, SP]
const TCP6 = [0x54, 0x43, 0x50, 0x36, SP]
const UNKNOWN = [0x55, 0x4e, 0x4b, 0x4e, 0x4f, 0x57, 0x4e]

const scratch = new Uint8Array(16)

export function parseV1(b: Uint8Array, maxHeaderSize: number = V1_MAX_LENGTH): ParseResult {
  const n = b.length
  // v1 is never longer than 107 bytes (§2.1); a smaller maxHeaderSize caps it further.
  const cap = maxHeaderSize < V1_MAX_LENGTH ? maxHeaderSize : V1_MAX_LENGTH
  const limit = n < cap ? n : cap
  // Native search (memchr for a Buffer) instead of a byte loop; an LF past the 107-byte limit does not count.
  const lf = b.indexOf(LF, START)
  if (lf !== -1 && lf < limit) {
    if (b[lf - 1] !== CR) fail(ErrorCodes.V1_SYNTAX, 'PROXY v1 line must end with CRLF', lf)
    const header = walk(b, lf - 1, true)!
    return { status: 'complete', header, length: lf + 1 }
  }
  // No LF yet: validate what is there. After a trailing CR only LF may come, so the fields before it
  // must already form a whole line.
  if (b[limit - 1] === CR) walk(b, limit - 1, true)
  else walk(b, limit, false)
  if (n >= cap) {
    if (cap === V1_MAX_LENGTH) fail(ErrorCodes.V1_TOO_LONG, 'PROXY v1 line has no CRLF within 107 bytes', 106)
    fail(ErrorCodes.HEADER_TOO_LARGE, `PROXY v1 line has no CRLF within maxHeaderSize ${cap} bytes`, cap - 1)
  }
  return INCOMPLETE
}

function matches(b: Uint8Array, p: number, end: number, word: number[]): boolean {
  const k = Math.min(end - p, word.length)
  for (let i = 0; i < k; i++) if (b[p + i] !== word[i]) return false
  return true
}

/**
 * Validates b[START..end). With `complete`, end is the CR of the CRLF and a header is returned;
 * otherwise the last field may be cut short and undefined is returned unless something is wrong.
 */
function walk(b: Uint8Array, end: number, complete: boolean): ProxyHeader | undefined {
  let p = START
  let family: Family
  if (matches(b, p, end, UNKNOWN)) {
    if (end - p < UNKNOWN.length) {
      if (complete) fail(ErrorCodes.V1_BAD_PROTOCOL, 'PROXY v1 protocol must be TCP4, TCP6 or UNKNOWN', p)
      return undefined
    }
    p += UNKNOWN.length
    // Short form "PROXY UNKNOWN", or long form with anything up to the CRLF (the receiver ignores it).
    if (p < end && b[p] !== SP) fail(ErrorCodes.V1_BAD_PROTOCOL, 'PROXY v1 protocol must be TCP4, TCP6 or UNKNOWN', START)
    return complete ? unknownHeader() : undefined
  }
  if (matches(b, p, end, TCP4)) family = 'IPv4'
  else if (matches(b, p, end, TCP6)) family = 'IPv6'
  else fail(ErrorCodes.V1_BAD_PROTOCOL, 'PROXY v1 protocol must be TCP4, TCP6 or UNKNOWN', p)
  if (end - p < TCP4.length) {
    if (complete) fail(ErrorCodes.V1_SYNTAX, 'PROXY v1 line ends before the addresses', end)
    return undefined
  }
  p += TCP4.length

  const v4 = family === 'IPv4'
  let src = ''
  let dst = ''
  let sport = 0
  for (let field = 0; field < 4; field++) {
    const s = p
    if (v4 && field < 2) {
      // One pass: the dotted quad is validated while its end is looked for.
      p = scanIPv4(b, s, end, complete)
      if (p === end && !complete) return undefined
    } else {
      while (p < end && b[p] !== SP) p++
      if (p === end && !complete) {
        checkPartialField(b, s, p, field, v4)
        return undefined
      }
    }
    if (field < 2) {
      // A strict dotted quad is already in canonical form: its text is the address.
      const address = v4 ? ascii(b, s, p) : ipv6(b, s, p)
      if (field === 0) src = address
      else dst = address
    } else {
      const port = parsePort(b, s, p)
      if (field === 2) sport = port
      else {
        if (p !== end) fail(ErrorCodes.V1_SYNTAX, 'PROXY v1 line has data after the destination port', p)
        return {
          version: 1,
          command: 'PROXY',
          family,
          transport: 'STREAM',
          source: { address: src, port: sport },
          destination: { address: dst, port },
          tlvs: [],
        }
      }
    }
    if (p === end) fail(ErrorCodes.V1_SYNTAX, 'PROXY v1 line ends before all fields', p)
    p++ // the single SP; an empty next field fails its own check
  }
  return undefined
}

function unknownHeader(): ProxyHeader {
  return { version: 1, command: 'PROXY', family: 'UNSPEC', transport: 'UNSPEC', tlvs: [] }
}

/**
 * A TCP4 address field from s: a strict dotted quad (four octets 0-255, no leading zeros) that ends at SP or
 * at `end`. Returns where it ends. At the `end` of an incomplete line only the prefix is checked.
 */
function scanIPv4(b: Uint8Array, s: number, end: number, complete: boolean): number {
  let octet = 0
  let digits = 0
  let dots = 0
  let p = s
  for (; p < end; p++) {
    const c = b[p]!
    if (c === SP) break
    if (c === 0x2e && digits > 0 && dots < 3) {
      dots++
      octet = 0
      digits = 0
      continue
    }
    const d = c - 0x30
    if (d < 0 || d > 9 || (digits > 0 && octet === 0) || octet * 10 + d > 255) badIPv4(s)
    octet = octet * 10 + d
    digits++
  }
  if ((p < end || complete) && (digits === 0 || dots !== 3)) badIPv4(s)
  return p
}

function badIPv4(s: number): never {
  return fail(ErrorCodes.V1_BAD_ADDRESS, 'PROXY v1 TCP4 address is not a valid IPv4 address', s)
}

/**
 * b[s..e) as a string, for a validated dotted quad (7-15 ASCII bytes). Fixed-arity String.fromCharCode
 * is several times faster than a template literal, a concatenation loop or fromCharCode.apply.
 */
function ascii(b: Uint8Array, s: number, e: number): string {
  const f = String.fromCharCode
  switch (e - s) {
    case 7:
      return f(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!)
    case 8:
      return f(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!)
    case 9:
      return f(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!)
    case 10:
      return f(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!)
    case 11:
      return f(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!)
    case 12:
      return f(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!)
    case 13:
    case 14:
    case 15:
      // Two fixed-arity halves: 7 bytes, then 6-8.
      return f(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!) + ascii(b, s + 7, e)
    case 6:
      return f(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!)
    default: {
      let out = ''
      for (let i = s; i < e; i++) out += f(b[i]!)
      return out
    }
  }
}

function ipv6(b: Uint8Array, s: number, e: number): string {
  if (!parseIPv6Bytes(b, s, e, scratch)) fail(ErrorCodes.V1_BAD_ADDRESS, 'PROXY v1 TCP6 address is not a valid IPv6 address', s)
  return formatIPv6(scratch, 0)
}

/** Decimal 0–65535: digits only, no sign, no leading zero. */
function parsePort(b: Uint8Array, s: number, e: number): number {
  const len = e - s
  if (len === 0 || len > 5 || (len > 1 && b[s] === 0x30)) fail(ErrorCodes.V1_BAD_PORT, 'PROXY v1 port must be 0-65535 without leading zeros', s)
  let port = 0
  for (let i = s; i < e; i++) {
    const d = b[i]! - 0x30
    if (d < 0 || d > 9) fail(ErrorCodes.V1_BAD_PORT, 'PROXY v1 port must be decimal digits', i)
    port = port * 10 + d
  }
  if (port > 65535) fail(ErrorCodes.V1_BAD_PORT, 'PROXY v1 port must be 0-65535', s)
  return port
}

/** A field cut short by the end of the input: can more bytes still make it valid? */
function checkPartialField(b: Uint8Array, s: number, e: number, field: number, v4: boolean): void {
  if (field >= 2) {
    if (e - s > 5 || (e - s > 1 && b[s] === 0x30)) fail(ErrorCodes.V1_BAD_PORT, 'PROXY v1 port must be 0-65535 without leading zeros', s)
    let port = 0
    for (let i = s; i < e; i++) {
      const c = b[i]!
      if (c < 0x30 || c > 0x39) fail(ErrorCodes.V1_BAD_PORT, 'PROXY v1 port must be decimal digits', i)
      port = port * 10 + (c - 0x30)
    }
    // More digits only make it larger: a partial port above 65535 can never become valid.
    if (port > 65535) fail(ErrorCodes.V1_BAD_PORT, 'PROXY v1 port must be 0-65535', s)
    return
  }
  if (v4) {
    // A dotted-quad prefix: at most 4 octets, each 0-255 without a leading zero.
    let octet = 0
    let digits = 0
    let dots = 0
    for (let i = s; i < e; i++) {
      const c = b[i]!
      if (c === 0x2e && digits > 0 && dots < 3) {
        dots++
        octet = 0
        digits = 0
        continue
      }
      const d = c - 0x30
      if (d < 0 || d > 9 || (digits > 0 && octet === 0) || octet * 10 + d > 255) {
        fail(ErrorCodes.V1_BAD_ADDRESS, 'PROXY v1 TCP4 address is not a valid IPv4 address', s)
      }
      octet = octet * 10 + d
      digits++
    }
    return
  }
  // IPv6 text is at most 45 characters, and must still be completable into an address.
  if (e - s > 45) fail(ErrorCodes.V1_BAD_ADDRESS, 'PROXY v1 address is too long', s)
  if (!isIPv6Prefix(b, s, e)) fail(ErrorCodes.V1_BAD_ADDRESS, 'PROXY v1 TCP6 address can never become a valid IPv6 address', s)
}
