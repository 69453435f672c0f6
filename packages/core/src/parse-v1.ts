/**
 * PROXY protocol v1 (spec §2.1): "PROXY" SP ("TCP4" | "TCP6") SP src SP dst SP sport SP dport CRLF,
 * or "PROXY UNKNOWN" [SP anything] CRLF, at most 107 bytes.
 *
 * One forward scan: each field is read by its own scanner (scanIPv4 and scanIPv6 in address.ts,
 * scanPort here), which also validates a field cut short by the end of the input, so a prefix that can
 * never become a header fails at once and a whole line is read exactly once. The line end is found by
 * the scan itself, not searched for first.
 */
import { IPV6_CANONICAL, destinationIPv4, ipv4High, ipv4Low, ipv4Prefix, ipv4Text, ipv6Form, ipv6Prefix, ipv6Text, isIPv6Prefix, latin1, scanIPv4, scanIPv6 } from './address.js'
import { V1_MAX_LENGTH } from './constants.js'
import { type ErrorCode, ErrorCodes, fail } from './errors.js'
import type { ParseResult } from './types.js'

const SP = 0x20
const CR = 0x0d
const LF = 0x0a
const START = 6 // after "PROXY "
/** The longest IPv6 text: 8 groups written out in full with a dotted quad, `ffff:…:ffff:255.255.255.255`. */
const IPV6_MAX_TEXT = 45
const INCOMPLETE: ParseResult = Object.freeze({ status: 'incomplete' }) as ParseResult

const BAD_PROTOCOL = 'PROXY v1 protocol must be TCP4, TCP6 or UNKNOWN'
const BAD_IPV4 = 'PROXY v1 TCP4 address is not a valid IPv4 address'
const BAD_IPV6 = 'PROXY v1 TCP6 address is not a valid IPv6 address'
const BAD_PORT = 'PROXY v1 port must be 0-65535 in decimal without leading zeros'
const SHORT_LINE = 'PROXY v1 line ends before all fields'

/** `b` starts with "PROXY" (5 bytes; parse() checked them). */
export function parseV1(b: Uint8Array, maxHeaderSize: number = V1_MAX_LENGTH): ParseResult {
  const n = b.length
  // v1 is never longer than 107 bytes (§2.1); a smaller maxHeaderSize caps it further.
  const cap = Math.min(maxHeaderSize, V1_MAX_LENGTH)
  const limit = Math.min(n, cap)
  if (limit <= 5) return more(n, cap)
  // §2.1: the five bytes "PROXY" identify v1 and exactly one space follows them. Anything else after
  // "PROXY" (a tab, "PROXYTCP4", a CRLF) is a malformed header, not application data.
  if (b[5] !== 0x20) bad(b, limit, ErrorCodes.V1_SYNTAX, 'PROXY v1 "PROXY" must be followed by a single space', 5)

  // "TCP4 " or "TCP6 ": the common case, whole, checked at fixed offsets.
  let v6: boolean
  if (limit > 10 && b[6] === 0x54 && b[7] === 0x43 && b[8] === 0x50 && b[10] === 0x20 && (b[9] === 0x34 || b[9] === 0x36)) {
    v6 = b[9] === 0x36
  } else if (limit > 14 && b[6] === 0x55 && b[13] === 0x0d && b[14] === 0x0a && b[7] === 0x4e && b[8] === 0x4b && b[9] === 0x4e && b[10] === 0x4f && b[11] === 0x57 && b[12] === 0x4e) {
    return unknownHeader(15) // "PROXY UNKNOWN" CRLF, whole: what HAProxy sends for a health check or LOCAL
  } else return protocolWord(b, n, cap, limit)

  // Character codes are literals on this path (SP 0x20, CR 0x0d, LF 0x0a): a module-level constant is bundled
  // as a mutable module variable that optimized code loads and checks at every use.

  // Addresses, then ports. Each scan stops at the first byte that cannot belong to its field; the common
  // case (a whole field, then SP) is tested inline and everything else (a cut-short field, a bad byte) is
  // judged by a cold function that returns INCOMPLETE or throws.
  let p: number
  let src: string
  if (v6) {
    p = scanIPv6(b, 11, limit, false)
    if (p < 0 || p === limit || b[p] !== 0x20) return ipv6Cut(b, 11, limit, p, n, cap)
    src = ipv6Form === IPV6_CANONICAL ? latin1(b, 11, p) : ipv6Text()
  } else {
    p = scanIPv4(b, 11, limit)
    if (p < 0 || p === limit || b[p] !== 0x20) return ipv4Cut(b, 11, limit, p, n, cap)
    src = ipv4Text(ipv4High, ipv4Low) // the quad scanIPv4 just accepted
  }
  const d = p + 1
  let dst: string
  if (v6) {
    p = sameIPv6Destination(b, d, limit)
    if (p !== -1) dst = lastIPv6Text
    else {
      p = scanIPv6(b, d, limit, false)
      if (p < 0 || p === limit || b[p] !== 0x20) return ipv6Cut(b, d, limit, p, n, cap)
      if (ipv6Form === IPV6_CANONICAL) {
        dst = latin1(b, d, p)
        lastIPv6Text = dst
        lastIPv6Bytes = undefined
      } else dst = ipv6Text()
    }
  } else {
    // Scanned, then its text kept by its two halves: cheaper than comparing the field with the last text.
    p = scanIPv4(b, d, limit)
    if (p < 0 || p === limit || b[p] !== 0x20) return ipv4Cut(b, d, limit, p, n, cap)
    dst = destinationIPv4(ipv4High, ipv4Low)
  }

  let s = p + 1
  let r = scanPort(b, s, limit)
  p = s + (r & 7)
  if (p === limit || b[p] !== 0x20) return portCut(b, s, p, limit, n, cap, SP)
  const sport = r >> 3
  s = p + 1
  r = scanPort(b, s, limit)
  p = s + (r & 7)
  if (p + 1 >= limit || b[p] !== 0x0d || b[p + 1] !== 0x0a) return portCut(b, s, p, limit, n, cap, CR)
  return {
    status: 'complete',
    header: {
      version: 1,
      command: 'PROXY',
      family: v6 ? 'IPv6' : 'IPv4',
      transport: 'STREAM',
      source: { address: src, port: sport },
      destination: { address: dst, port: r >> 3 },
      tlvs: [],
    },
    length: p + 2,
  }
}

// A balancer's own address, the destination of every connection it forwards, is the same each time. A TCP6
// destination's text is kept when it is the field's own bytes (already Node's form), and a field with the same
// bytes, followed by SP, is taken without being scanned again (a string is immutable, so no result given out
// can change). Once the same destination comes twice in a row its bytes are kept too, and compared 4 to a
// turn of the loop (callgrind: a turn costs ~25 instructions, a byte in a straight line ~4, a string's
// character more): copying them for every new destination would cost more than it saves.
let lastIPv6Text = ''
let lastIPv6Bytes: Uint8Array | undefined // lastIPv6Text's bytes, once it has come twice in a row
const ipv6Bytes = new Uint8Array(IPV6_MAX_TEXT)

/** Where the TCP6 destination field from d ends when it is the last one kept, seen again; else -1. */
function sameIPv6Destination(b: Uint8Array, d: number, limit: number): number {
  const text = lastIPv6Text
  const k = text.length
  const e = d + k
  if (k === 0 || e >= limit || b[e] !== 0x20) return -1
  // From the end: two destinations of one balancer (one per zone, say) differ last in their last groups.
  const last = lastIPv6Bytes
  if (last !== undefined) {
    let i = k
    for (; i >= 4; i -= 4) {
      const j = d + i
      if (b[j - 1] !== last[i - 1] || b[j - 2] !== last[i - 2] || b[j - 3] !== last[i - 3] || b[j - 4] !== last[i - 4]) return -1
    }
    for (; i > 0; i--) if (b[d + i - 1] !== last[i - 1]) return -1
    return e
  }
  for (let i = k - 1; i >= 0; i--) if (b[d + i] !== text.charCodeAt(i)) return -1
  // The second time in a row: keep the bytes, 4 a turn, then the rest one by one (a read past the end of the
  // input would make optimized code bail out).
  const keep = ipv6Bytes
  let i = 0
  for (; i + 4 <= k; i += 4) {
    keep[i] = b[d + i]!
    keep[i + 1] = b[d + i + 1]!
    keep[i + 2] = b[d + i + 2]!
    keep[i + 3] = b[d + i + 3]!
  }
  for (; i < k; i++) keep[i] = b[d + i]!
  lastIPv6Bytes = keep
  return e
}

/**
 * A port field from s stopped at b[p] (or at `limit`) and is not followed by what must follow it: SP after
 * the source port, CRLF after the destination port. Returns INCOMPLETE when the input ran out, else throws.
 */
function portCut(b: Uint8Array, s: number, p: number, limit: number, n: number, cap: number, next: number): ParseResult {
  if (p === limit) return more(n, cap)
  if (next === SP) return fieldEnd(b, p, limit, ErrorCodes.V1_BAD_PORT, BAD_PORT, s)
  if (b[p] !== CR) {
    if (b[p] === SP) bad(b, limit, ErrorCodes.V1_SYNTAX, 'PROXY v1 line has data after the destination port', p)
    bad(b, limit, ErrorCodes.V1_BAD_PORT, BAD_PORT, s)
  }
  if (p + 1 === limit) return more(n, cap)
  // A CR followed by anything but LF is a bad byte in the port field.
  return bad(b, limit, ErrorCodes.V1_BAD_PORT, BAD_PORT, s)
}

/** The input ran out before the line ended: wait for more, unless the line is already too long. */
function more(n: number, cap: number): ParseResult {
  if (n >= cap) {
    if (cap === V1_MAX_LENGTH) fail(ErrorCodes.V1_TOO_LONG, 'PROXY v1 line has no CRLF within 107 bytes', 106)
    fail(ErrorCodes.HEADER_TOO_LARGE, `PROXY v1 line has no CRLF within maxHeaderSize ${cap} bytes`, cap - 1)
  }
  return INCOMPLETE
}

/**
 * Throws `code`, unless the line (within `limit`) ends in a bare LF: a line that does not end with CRLF
 * is reported as that, wherever its other faults are.
 */
function bad(b: Uint8Array, limit: number, code: ErrorCode, message: string, at: number): never {
  for (let i = START - 1; i < limit; i++) {
    if (b[i] === LF) {
      if (b[i - 1] !== CR) fail(ErrorCodes.V1_SYNTAX, 'PROXY v1 line must end with CRLF', i)
      break
    }
  }
  return fail(code, message, at)
}

/**
 * A field ended at b[p], which is not the SP that must follow it. A CR that ends the line (LF next, or
 * the last byte so far: only LF may follow it) means fields are missing; any other byte is a bad byte
 * in the field that started at `s`.
 */
function fieldEnd(b: Uint8Array, p: number, limit: number, code: ErrorCode, message: string, s: number): never {
  if (b[p] === CR && (p + 1 === limit || b[p + 1] === LF)) bad(b, limit, ErrorCodes.V1_SYNTAX, SHORT_LINE, p)
  return bad(b, limit, code, message, s)
}

/** The protocol word when it is not a whole "TCP4 "/"TCP6 ": UNKNOWN, a prefix of a word, or an error. */
function protocolWord(b: Uint8Array, n: number, cap: number, limit: number): ParseResult {
  const unknown = b[START] === 0x55
  const word = unknown ? UNKNOWN : b[9] === 0x36 ? TCP6 : TCP4
  let p = START
  for (let i = 0; i < word.length; i++, p++) {
    if (p === limit) return more(n, cap)
    if (b[p] === word[i]) continue
    // "TCP4" then the end of the line: the addresses are missing.
    if (!unknown && i === 4) fieldEnd(b, p, limit, ErrorCodes.V1_BAD_PROTOCOL, BAD_PROTOCOL, START)
    bad(b, limit, ErrorCodes.V1_BAD_PROTOCOL, BAD_PROTOCOL, START)
  }
  // A whole "TCP4 "/"TCP6 " never gets here (parseV1 takes it); only UNKNOWN does.
  if (!unknown) return more(n, cap)
  // "PROXY UNKNOWN" CRLF, or the long form "PROXY UNKNOWN" SP anything CRLF (the receiver ignores the rest).
  if (p === limit) return more(n, cap)
  if (b[p] === SP) {
    for (p++; p < limit; p++) {
      if (b[p] !== LF) continue
      if (b[p - 1] !== CR) fail(ErrorCodes.V1_SYNTAX, 'PROXY v1 line must end with CRLF', p)
      return unknownHeader(p + 1)
    }
    return more(n, cap)
  }
  if (b[p] !== CR) bad(b, limit, ErrorCodes.V1_BAD_PROTOCOL, BAD_PROTOCOL, START)
  if (p + 1 === limit) return more(n, cap)
  if (b[p + 1] !== LF) bad(b, limit, ErrorCodes.V1_BAD_PROTOCOL, BAD_PROTOCOL, START)
  return unknownHeader(p + 2)
}

const TCP4 = [0x54, 0x43, 0x50, 0x34, SP]
const TCP6 = [0x54, 0x43, 0x50, 0x36, SP]
const UNKNOWN = [0x55, 0x4e, 0x4b, 0x4e, 0x4f, 0x57, 0x4e]

function unknownHeader(length: number): ParseResult {
  return { status: 'complete', header: { version: 1, command: 'PROXY', family: 'UNSPEC', transport: 'UNSPEC', tlvs: [] }, length }
}

/**
 * A TCP4 address field from s, where scanIPv4 returned r, is not a whole quad followed by SP. Returns
 * INCOMPLETE when the input ended inside a valid start of one, else throws.
 */
function ipv4Cut(b: Uint8Array, s: number, limit: number, r: number, n: number, cap: number): ParseResult {
  if (r === ipv4Prefix(limit) || r === limit) return more(n, cap) // a valid start of a quad, cut short by the end of the input
  if (r < 0) bad(b, limit, ErrorCodes.V1_BAD_ADDRESS, BAD_IPV4, s)
  return fieldEnd(b, r, limit, ErrorCodes.V1_BAD_ADDRESS, BAD_IPV4, s)
}

/**
 * A TCP6 address field from s, where scanIPv6 returned r, is not a whole address followed by SP. Returns
 * INCOMPLETE when the input ended inside a valid start of one (isIPv6Prefix: the scan only knows it broke
 * no rule yet), else throws.
 */
function ipv6Cut(b: Uint8Array, s: number, limit: number, r: number, n: number, cap: number): ParseResult {
  if (r === ipv6Prefix(limit) || r === limit) {
    // Cut short: can more bytes still make it an address?
    if (limit - s > IPV6_MAX_TEXT || !isIPv6Prefix(b, s, limit)) bad(b, limit, ErrorCodes.V1_BAD_ADDRESS, BAD_IPV6, s)
    return more(n, cap)
  }
  if (r < 0) bad(b, limit, ErrorCodes.V1_BAD_ADDRESS, BAD_IPV6, s)
  return fieldEnd(b, r, limit, ErrorCodes.V1_BAD_ADDRESS, BAD_IPV6, s)
}

/**
 * A port from s: decimal 0–65535, digits only, no sign, no leading zero. Stops at the first non-digit or
 * `limit` and returns (port << 3) | digits. A field cut short by `limit` is checked as far as it goes: more
 * digits only make it larger, so an overlong or leading-zero prefix fails at once. Its up to five digits
 * are read by code written out, not by a loop over bytes (see scanIPv4: ~25 instructions a turn of a loop,
 * ~4 a byte in a straight line).
 */
function scanPort(b: Uint8Array, s: number, limit: number): number {
  let p = s
  if (p === limit) return 0
  let d = b[p]! - 0x30
  if (d >>> 0 > 9) bad(b, limit, ErrorCodes.V1_BAD_PORT, BAD_PORT, s) // an empty field
  let port = d
  if (++p === limit) return (port << 3) | 1
  d = b[p]! - 0x30
  if (d >>> 0 > 9) return (port << 3) | 1
  if (port === 0) bad(b, limit, ErrorCodes.V1_BAD_PORT, BAD_PORT, s) // a leading zero
  port = port * 10 + d
  if (++p === limit) return (port << 3) | 2
  d = b[p]! - 0x30
  if (d >>> 0 > 9) return (port << 3) | 2
  port = port * 10 + d
  if (++p === limit) return (port << 3) | 3
  d = b[p]! - 0x30
  if (d >>> 0 > 9) return (port << 3) | 3
  port = port * 10 + d
  if (++p === limit) return (port << 3) | 4
  d = b[p]! - 0x30
  if (d >>> 0 > 9) return (port << 3) | 4
  port = port * 10 + d
  // Five digits: above 65535, or followed by a sixth, is too large.
  if (port > 65535 || (++p < limit && (b[p]! - 0x30) >>> 0 <= 9)) bad(b, limit, ErrorCodes.V1_BAD_PORT, BAD_PORT, s)
  return (port << 3) | 5
}
