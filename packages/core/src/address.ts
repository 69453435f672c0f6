/**
 * IPv4/IPv6 text <-> bytes, without node:net so the core runs in any runtime.
 * Output matches Node's `socket.remoteAddress` formatting (libuv inet_ntop6, RFC 5952 style):
 * lower-case hex, the longest run of two or more zero groups compressed (first one on a tie),
 * `::a.b.c.d` and `::ffff:a.b.c.d` for IPv4-compatible and IPv4-mapped addresses.
 */

const DOT = 0x2e
const COLON = 0x3a

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  const l = c | 0x20
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10
  return -1
}

/**
 * Strict dotted quad: four decimal octets 0–255, no leading zeros, no sign, nothing else.
 * Writes the 4 bytes to out[at..at+4) and returns true, or returns false.
 */
export function parseIPv4Bytes(b: ArrayLike<number>, s: number, e: number, out?: Uint8Array, at = 0): boolean {
  let octet = 0
  let digits = 0
  let parts = 0
  for (let i = s; i < e; i++) {
    const c = b[i]!
    if (c === DOT) {
      if (digits === 0 || parts === 3) return false
      if (out) out[at + parts] = octet
      parts++
      octet = 0
      digits = 0
    } else {
      const d = c - 0x30
      if (d < 0 || d > 9) return false
      if (digits > 0 && octet === 0) return false // leading zero
      octet = octet * 10 + d
      if (octet > 255) return false
      digits++
    }
  }
  if (digits === 0 || parts !== 3) return false
  if (out) out[at + 3] = octet
  return true
}

// Scratch space for parseIPv6Bytes: parsing is synchronous, so one set serves every call.
const words = new Uint16Array(8)
const quad = new Uint8Array(4)

/** RFC 4291 §2.2 text forms, with an optional trailing dotted quad; no zone ids. Writes 16 bytes at out[at]. */
export function parseIPv6Bytes(b: ArrayLike<number>, s: number, e: number, out: Uint8Array, at = 0): boolean {
  let n = 0
  let gap = -1
  let p = s
  if (e - s < 2) return false
  if (b[p] === COLON) {
    if (b[p + 1] !== COLON) return false
    gap = 0
    p += 2
  }
  while (p < e) {
    const start = p
    let value = 0
    let digits = 0
    while (p < e && digits < 5) {
      const v = hexValue(b[p]!)
      if (v < 0) break
      value = (value << 4) | v
      digits++
      p++
    }
    if (p < e && b[p] === DOT) {
      // embedded IPv4 takes the last 32 bits
      if (n > 6) return false
      if (!parseIPv4Bytes(b, start, e, quad)) return false
      words[n++] = (quad[0]! << 8) | quad[1]!
      words[n++] = (quad[2]! << 8) | quad[3]!
      p = e
      break
    }
    if (digits === 0 || digits > 4 || n === 8) return false
    words[n++] = value
    if (p === e) break
    if (b[p] !== COLON) return false
    p++
    if (p === e) return false // a single trailing colon
    if (b[p] === COLON) {
      if (gap !== -1) return false
      gap = n
      p++
    }
  }
  if (gap === -1) {
    if (n !== 8) return false
  } else {
    if (n > 7) return false
    const tail = n - gap
    for (let i = 0; i < tail; i++) words[7 - i] = words[n - 1 - i]!
    for (let i = gap; i < 8 - tail; i++) words[i] = 0
  }
  for (let i = 0; i < 8; i++) {
    out[at + i * 2] = words[i]! >> 8
    out[at + i * 2 + 1] = words[i]! & 0xff
  }
  return true
}

/** b[s..e) is one IPv4 octet: 1-3 decimal digits, no leading zero, at most 255. */
function isDecimalOctet(b: ArrayLike<number>, s: number, e: number): boolean {
  if (e - s > 3 || (e - s > 1 && b[s] === 0x30)) return false
  let v = 0
  for (let i = s; i < e; i++) {
    const d = b[i]! - 0x30
    if (d < 0 || d > 9) return false
    v = v * 10 + d
  }
  return v <= 255
}

/**
 * Can b[s..e) still be completed into text that parseIPv6Bytes accepts? For streaming: a v1 TCP6 field cut
 * short by the end of the input is an error at once when no byte that may follow could make it valid.
 * At most 8 groups of 1-4 hex digits, or 7 with one '::'; an embedded dotted quad takes the last two.
 */
export function isIPv6Prefix(b: ArrayLike<number>, s: number, e: number): boolean {
  let groups = 0 // groups ended by a ':'
  let digits = 0 // hex digits of the group being read
  let colons = 0 // ':' just read in a row
  let gap = false
  let dots = -1 // -1 until an embedded dotted quad starts, then its dots so far
  let octet = 0
  let octetDigits = 0
  for (let i = s; i < e; i++) {
    const c = b[i]!
    if (dots >= 0) {
      if (c === DOT) {
        if (octetDigits === 0 || dots === 3) return false
        dots++
        octet = 0
        octetDigits = 0
        continue
      }
      const d = c - 0x30
      if (d < 0 || d > 9 || (octetDigits > 0 && octet === 0)) return false
      octet = octet * 10 + d
      if (octet > 255) return false
      octetDigits++
      continue
    }
    if (c === COLON) {
      if (colons === 0) {
        if (i !== s) {
          groups++
          digits = 0
          if (groups >= (gap ? 7 : 8)) return false // no room for the group this colon promises
        }
        colons = 1
      } else if (colons === 1) {
        if (gap || groups > 7) return false
        gap = true
        colons = 2
      } else return false // ':::'
      continue
    }
    if (c === DOT) {
      // The group read so far was the first octet of a dotted quad, which needs the last 32 bits.
      if (digits === 0 || (gap ? groups > 5 : groups !== 6)) return false
      if (!isDecimalOctet(b, i - digits, i)) return false
      dots = 1
      octet = 0
      octetDigits = 0
      continue
    }
    if (hexValue(c) < 0) return false
    if (colons === 1 && i === s + 1) return false // a leading ':' must be '::'
    colons = 0
    digits++
    if (digits > 4) return false
  }
  return true
}

/**
 * A strict dotted quad given as a string (what encode receives), parsed straight into out[at..at+4)
 * without an intermediate array. The same rules as parseIPv4Bytes.
 */
export function writeIPv4Text(text: string, out: Uint8Array, at: number): boolean {
  const e = text.length
  if (e < 7 || e > 15) return false
  let octet = 0
  let digits = 0
  let parts = 0
  for (let i = 0; i < e; i++) {
    const c = text.charCodeAt(i)
    if (c === DOT) {
      if (digits === 0 || parts === 3) return false
      out[at + parts++] = octet
      octet = 0
      digits = 0
    } else {
      const d = c - 0x30
      if (d < 0 || d > 9 || (digits > 0 && octet === 0)) return false
      octet = octet * 10 + d
      if (octet > 255) return false
      digits++
    }
  }
  if (digits === 0 || parts !== 3) return false
  out[at + 3] = octet
  return true
}

/** An IPv6 address string parsed into out[at..at+16), or false. */
export function writeIPv6Text(text: string, out: Uint8Array, at: number): boolean {
  const codes = asciiCodes(text)
  return codes !== undefined && parseIPv6Bytes(codes, 0, codes.length, out, at)
}

// Lookup tables for the formatters (hot in parse): "0"…"255" and "0."…"255." for IPv4, and byte hex,
// bare ("0"…"ff") and zero-padded ("00"…"ff"), for IPv6. Number#toString(16) was the hottest line of
// v2 IPv6 parsing; the template literal with four number conversions that of v2 IPv4.
const OCTET: string[] = []
const OCTET_DOT: string[] = []
const HEX: string[] = []
const HEX2: string[] = []
for (let i = 0; i < 256; i++) {
  OCTET.push(String(i))
  OCTET_DOT.push(`${i}.`)
  HEX.push(i.toString(16))
  HEX2.push(i.toString(16).padStart(2, '0'))
}

export function formatIPv4(b: Uint8Array, at: number): string {
  return OCTET_DOT[b[at]!]! + OCTET_DOT[b[at + 1]!]! + OCTET_DOT[b[at + 2]!]! + OCTET[b[at + 3]!]!
}

export function formatIPv6(b: Uint8Array, at: number): string {
  const w0 = (b[at]! << 8) | b[at + 1]!
  // Find the longest run of zero words (length >= 2; the first wins a tie), as libuv does.
  let bestBase = -1
  let bestLen = 0
  let curBase = -1
  let curLen = 0
  for (let i = 0; i < 8; i++) {
    const w = i === 0 ? w0 : (b[at + i * 2]! << 8) | b[at + i * 2 + 1]!
    if (w === 0) {
      if (curBase === -1) {
        curBase = i
        curLen = 1
      } else curLen++
    } else if (curBase !== -1) {
      if (curLen > bestLen) {
        bestBase = curBase
        bestLen = curLen
      }
      curBase = -1
    }
  }
  if (curBase !== -1 && curLen > bestLen) {
    bestBase = curBase
    bestLen = curLen
  }
  if (bestLen < 2) bestBase = -1
  let out = ''
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':'
      continue
    }
    if (i !== 0) out += ':'
    const w5 = (b[at + 10]! << 8) | b[at + 11]!
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w5 === 0xffff))) {
      return `${out}${b[at + 12]}.${b[at + 13]}.${b[at + 14]}.${b[at + 15]}`
    }
    const hi = b[at + i * 2]!
    const lo = b[at + i * 2 + 1]!
    out += hi === 0 ? HEX[lo]! : HEX[hi]! + HEX2[lo]!
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ':'
  return out
}

function asciiCodes(text: string): number[] | undefined {
  const codes: number[] = new Array(text.length)
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c > 0x7e) return undefined
    codes[i] = c
  }
  return codes
}

/** Parses an IPv4 address string into 4 bytes, or returns undefined. */
export function ipv4ToBytes(text: string): Uint8Array | undefined {
  const out = new Uint8Array(4)
  return writeIPv4Text(text, out, 0) ? out : undefined
}

/** Parses an IPv6 address string into 16 bytes, or returns undefined. */
export function ipv6ToBytes(text: string): Uint8Array | undefined {
  const out = new Uint8Array(16)
  return writeIPv6Text(text, out, 0) ? out : undefined
}

/** The canonical (Node `remoteAddress`) form of an IPv4 or IPv6 address string, or undefined. */
export function canonicalAddress(text: string): { address: string; family: 'IPv4' | 'IPv6' } | undefined {
  const v4 = ipv4ToBytes(text)
  if (v4) return { address: formatIPv4(v4, 0), family: 'IPv4' }
  const v6 = ipv6ToBytes(text)
  if (v6) return { address: formatIPv6(v6, 0), family: 'IPv6' }
  return undefined
}
