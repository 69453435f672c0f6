/** Encoder for v1 (spec §2.1) and v2 (spec §2.2) headers. Every input is validated before a byte is written. */
import { formatIPv6, writeIPv4Text, writeIPv6Text } from './address.js'
import { MAX_HEADER_SIZE_LIMIT, TlvType, V2_HEADER_LENGTH, V2_SIGNATURE } from './constants.js'
import { crc32c } from './crc32c.js'
import { decodeAlpn, decodeAuthority, decodeAwsVpceId, decodeNetns, decodeSsl, decodeUniqueId } from './tlv.js'
import { ErrorCodes, fail } from './errors.js'
import type { EncodeOptions, Endpoint, Family, InetAddress, Tlv, Transport } from './types.js'

export interface HeaderInput {
  version: 1 | 2
  command?: 'PROXY' | 'LOCAL'
  family?: Family
  transport?: Transport
  source?: Endpoint
  destination?: Endpoint
  tlvs?: readonly Tlv[]
}

const invalid = (message: string): never => fail(ErrorCodes.ENCODE_INVALID, message)

function port(value: unknown, which: string): number {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 65535) invalid(`${which} port must be an integer 0-65535`)
  return value as number
}

function addressOf(e: Endpoint | undefined, family: 'IPv4' | 'IPv6', which: string): string {
  const a = e as InetAddress | undefined
  if (!a || typeof a.address !== 'string') return invalid(`${which} address is required for ${family}`)
  return a.address
}

function badAddress(address: string, family: string, which: string): never {
  return invalid(`${which} address ${JSON.stringify(address)} is not a valid ${family} address`)
}

/**
 * Validates an endpoint and writes its address bytes at out[at]; returns its port. Addresses are parsed
 * straight into the output: no intermediate arrays (encode runs once per relayed connection).
 */
function writeInet(e: Endpoint | undefined, family: 'IPv4' | 'IPv6', which: string, out: Uint8Array, at: number): number {
  const address = addressOf(e, family, which)
  const ok = family === 'IPv4' ? writeIPv4Text(address, out, at) : writeIPv6Text(address, out, at)
  if (!ok) badAddress(address, family, which)
  return port((e as InetAddress).port, which)
}

const scratch16 = new Uint8Array(16)

/**
 * v1 writes addresses as text, in Node's canonical form. A strict dotted quad is its own canonical form;
 * IPv6 text is parsed and formatted again (`2001:0DB8::0001` → `2001:db8::1`).
 */
function v1Address(e: Endpoint | undefined, family: 'IPv4' | 'IPv6', which: string): string {
  const address = addressOf(e, family, which)
  if (family === 'IPv4') {
    if (!writeIPv4Text(address, scratch16, 0)) badAddress(address, family, which)
    return address
  }
  if (!writeIPv6Text(address, scratch16, 0)) badAddress(address, family, which)
  return formatIPv6(scratch16, 0)
}

const UNKNOWN_LINE = Uint8Array.of(0x50, 0x52, 0x4f, 0x58, 0x59, 0x20, 0x55, 0x4e, 0x4b, 0x4e, 0x4f, 0x57, 0x4e, 0x0d, 0x0a)
const PREFIX_TCP4 = Uint8Array.of(0x50, 0x52, 0x4f, 0x58, 0x59, 0x20, 0x54, 0x43, 0x50, 0x34, 0x20) // "PROXY TCP4 "
const PREFIX_TCP6 = Uint8Array.of(0x50, 0x52, 0x4f, 0x58, 0x59, 0x20, 0x54, 0x43, 0x50, 0x36, 0x20) // "PROXY TCP6 "

const digitCount = (n: number): number => (n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : 5)

/** Writes the ASCII text at out[at]; returns the position after it. */
function putText(out: Uint8Array, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i)
  return at + text.length
}

/** Writes n (0-65535) in decimal at out[at], `digits` long; returns the position after it. */
function putDecimal(out: Uint8Array, at: number, n: number, digits: number): number {
  for (let i = at + digits - 1; i >= at; i--) {
    out[i] = 0x30 + (n % 10)
    n = (n / 10) | 0
  }
  return at + digits
}

function encodeV1(h: HeaderInput, options: EncodeOptions): Uint8Array {
  if (h.tlvs && h.tlvs.length > 0) invalid('v1 headers cannot carry TLVs')
  if (options.crc32c || options.padTo) invalid('crc32c and padTo apply to v2 headers only')
  const family = h.family ?? 'UNSPEC'
  if (h.command === 'LOCAL' || family === 'UNSPEC') return UNKNOWN_LINE.slice()
  if (family !== 'IPv4' && family !== 'IPv6') return invalid(`v1 cannot carry the ${family} family`)
  if (h.transport !== undefined && h.transport !== 'STREAM') invalid('v1 carries TCP (STREAM) only')
  const src = v1Address(h.source, family, 'source')
  const dst = v1Address(h.destination, family, 'destination')
  const sport = port((h.source as InetAddress).port, 'source')
  const dport = port((h.destination as InetAddress).port, 'destination')
  // "PROXY TCP4 " src SP dst SP sport SP dport CRLF, written byte by byte: no intermediate string.
  const sd = digitCount(sport)
  const dd = digitCount(dport)
  const out = new Uint8Array(11 + src.length + 1 + dst.length + 1 + sd + 1 + dd + 2)
  out.set(family === 'IPv4' ? PREFIX_TCP4 : PREFIX_TCP6, 0)
  let p = putText(out, 11, src)
  out[p++] = 0x20
  p = putText(out, p, dst)
  out[p++] = 0x20
  p = putDecimal(out, p, sport, sd)
  out[p++] = 0x20
  p = putDecimal(out, p, dport, dd)
  out[p] = 0x0d
  out[p + 1] = 0x0a
  return out
}

const ADDRESS_LENGTH = [0, 12, 36, 216]
// The family and transport nibbles (§2.2), -1 for anything else. Comparisons, not a table lookup with
// Object.hasOwn: encode runs once per relayed connection, and the lookup was a visible part of it (measured).
const familyNibble = (f: unknown): number => (f === 'IPv4' ? 1 : f === 'IPv6' ? 2 : f === 'UNSPEC' ? 0 : f === 'UNIX' ? 3 : -1)
const transportNibble = (t: unknown): number => (t === 'STREAM' ? 1 : t === 'DGRAM' ? 2 : t === 'UNSPEC' ? 0 : -1)

function unixPath(e: Endpoint | undefined, which: string): Uint8Array {
  const path = (e as { path?: unknown } | undefined)?.path
  if (typeof path !== 'string') return invalid(`${which} path is required for UNIX`)
  const bytes = new TextEncoder().encode(path)
  if (bytes.length > 108 || bytes.includes(0)) invalid(`${which} path must be at most 108 bytes without NUL`)
  return bytes
}

function checkTlv(t: Tlv, what: string): void {
  if (t === null || typeof t !== 'object') invalid(`${what} must be an object { type, value }`)
  if (!isUint(t.type, 255)) invalid(`${what} type must be an integer 0-255`)
  if (!(t.value instanceof Uint8Array) || t.value.length > 65535) invalid(`${what} value must be a Uint8Array of at most 65535 bytes`)
}

/** Writes a TLV's type and length at out[p]; returns where its value goes. */
function putTlvHead(out: Uint8Array, p: number, type: number, length: number): number {
  out[p] = type
  out[p + 1] = length >> 8
  out[p + 2] = length & 0xff
  return p + 3
}

function encodeV2(h: HeaderInput, options: EncodeOptions): Uint8Array {
  const local = h.command === 'LOCAL'
  const family = local ? 'UNSPEC' : (h.family ?? 'UNSPEC')
  const transport = local ? 'UNSPEC' : (h.transport ?? (family === 'UNSPEC' ? 'UNSPEC' : 'STREAM'))
  const familyBits = familyNibble(family)
  const transportBits = transportNibble(transport)
  if (familyBits < 0) invalid('family must be one of UNSPEC, IPv4, IPv6, UNIX')
  if (transportBits < 0) invalid('transport must be one of UNSPEC, STREAM, DGRAM')
  if ((family === 'UNSPEC') !== (transport === 'UNSPEC')) invalid('UNSPEC family goes with UNSPEC transport only (fam byte 0x00)')

  const tlvs = h.tlvs ?? []
  if (!Array.isArray(tlvs)) invalid('tlvs must be an array')
  let tlvLength = 0
  for (const t of tlvs) {
    checkTlv(t, 'TLV')
    // The checksum is computed here, over the finished header: a caller's own CRC32C TLV would be wrong
    // (or a second one) and the parser would refuse the header.
    if (t.type === TlvType.CRC32C) invalid('pass { crc32c: true } instead of a CRC32C TLV (0x03)')
    tlvLength += 3 + t.value.length
  }
  const addrLength = ADDRESS_LENGTH[familyBits]!
  let total = V2_HEADER_LENGTH + addrLength + tlvLength + (options.crc32c ? 7 : 0)
  let pad = 0
  if (options.padTo !== undefined) {
    if (!Number.isInteger(options.padTo) || options.padTo < 0) invalid('padTo must be a non-negative integer')
    if (options.padTo > total) pad = Math.max(3, options.padTo - total)
  }
  total += pad
  if (total > MAX_HEADER_SIZE_LIMIT) invalid(`header would be ${total} bytes; v2 allows at most ${MAX_HEADER_SIZE_LIMIT}`)

  const out = new Uint8Array(total)
  for (let i = 0; i < 12; i++) out[i] = V2_SIGNATURE[i]!
  out[12] = 0x20 | (local ? 0 : 1)
  out[13] = (familyBits << 4) | transportBits
  out[14] = (total - V2_HEADER_LENGTH) >> 8
  out[15] = (total - V2_HEADER_LENGTH) & 0xff
  let p = V2_HEADER_LENGTH
  if (family === 'IPv4' || family === 'IPv6') {
    const size = family === 'IPv4' ? 4 : 16
    const sport = writeInet(h.source, family, 'source', out, p)
    const dport = writeInet(h.destination, family, 'destination', out, p + size)
    p += 2 * size
    out[p++] = sport >> 8
    out[p++] = sport & 0xff
    out[p++] = dport >> 8
    out[p++] = dport & 0xff
  } else if (family === 'UNIX') {
    out.set(unixPath(h.source, 'source'), p)
    out.set(unixPath(h.destination, 'destination'), p + 108)
    p += 216
  }
  for (const t of tlvs) {
    p = putTlvHead(out, p, t.type, t.value.length)
    out.set(t.value, p)
    p += t.value.length
  }
  if (pad) p = putTlvHead(out, p, TlvType.NOOP, pad - 3) + pad - 3 // zeros
  if (options.crc32c) {
    const at = putTlvHead(out, p, TlvType.CRC32C, 4) // zeros while checksumming, then filled in (§2.2.3)
    const c = crc32c(out)
    out[at] = c >>> 24
    out[at + 1] = (c >>> 16) & 0xff
    out[at + 2] = (c >>> 8) & 0xff
    out[at + 3] = c & 0xff
  }
  return out
}

/** Encodes a header. v2 TLVs are written in the caller's order, then NOOP padding, then the CRC32C. */
export function encode(header: HeaderInput, options: EncodeOptions = {}): Uint8Array {
  if (header === null || typeof header !== 'object') return invalid('header must be an object')
  if (options === null || typeof options !== 'object') return invalid('encode options must be an object')
  if (header.command !== undefined && header.command !== 'PROXY' && header.command !== 'LOCAL') invalid('command must be PROXY or LOCAL')
  if (header.version === 1) return encodeV1(header, options)
  if (header.version === 2) return encodeV2(header, options)
  return invalid('version must be 1 or 2')
}

const enc = new TextEncoder()

/**
 * A builder's TLV, checked by the decoder that will read it: what a builder makes always decodes, and a
 * value it cannot make (a 300-byte host name, a non-ASCII endpoint id) is refused here, not by the peer.
 */
function checked(type: number, value: Uint8Array, decode: (value: Uint8Array) => unknown): Tlv {
  try {
    decode(value)
  } catch (err) {
    invalid(`TLV 0x${type.toString(16).padStart(2, '0')}: ${(err as Error).message}`)
  }
  return { type, value }
}

function utf8Of(value: unknown, what: string): Uint8Array {
  if (typeof value !== 'string') return invalid(`${what} must be a string`)
  return enc.encode(value)
}

const isUint = (n: unknown, max: number): n is number => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= max

/** Builders for the TLVs users commonly send. Each validates its input and throws ERR_PROXY_ENCODE_INVALID. */
export const tlv = {
  alpn: (protocol: string): Tlv => checked(TlvType.ALPN, utf8Of(protocol, 'ALPN'), decodeAlpn),
  authority: (host: string): Tlv => checked(TlvType.AUTHORITY, utf8Of(host, 'AUTHORITY'), decodeAuthority),
  uniqueId: (id: Uint8Array | string): Tlv => {
    const value = typeof id === 'string' ? enc.encode(id) : id
    if (!(value instanceof Uint8Array)) return invalid('UNIQUE_ID must be a string or a Uint8Array')
    return checked(TlvType.UNIQUE_ID, value, decodeUniqueId)
  },
  netns: (name: string): Tlv => checked(TlvType.NETNS, utf8Of(name, 'NETNS'), decodeNetns),
  awsVpceId: (id: string): Tlv => {
    const text = utf8Of(id, 'AWS VPC endpoint id')
    const value = new Uint8Array(1 + text.length)
    value[0] = 0x01
    value.set(text, 1)
    return checked(TlvType.AWS, value, decodeAwsVpceId)
  },
  azureLinkId: (id: number): Tlv => {
    if (!isUint(id, 0xffffffff)) invalid('Azure LinkID must be a uint32')
    return { type: TlvType.AZURE, value: Uint8Array.of(0x01, id & 0xff, (id >>> 8) & 0xff, (id >>> 16) & 0xff, id >>> 24) }
  },
  gcpPscConnectionId: (id: bigint): Tlv => {
    if (typeof id !== 'bigint' || id < 0n || id > 0xffffffffffffffffn) invalid('GCP PSC connection id must be a uint64 bigint')
    const value = new Uint8Array(8)
    for (let i = 7, v = id; i >= 0; i--, v >>= 8n) value[i] = Number(v & 0xffn)
    return { type: TlvType.GCP, value }
  },
  ssl: (info: { client: number; verify?: number; tlvs?: readonly Tlv[] }): Tlv => {
    if (info === null || typeof info !== 'object') return invalid('SSL info must be an object')
    const verify = info.verify ?? 0
    // Out-of-range values must not wrap: a verify of 2**32 written as 0 would read as "verified".
    if (!isUint(info.client, 0xff)) invalid('SSL client must be an integer 0-255')
    if (!isUint(verify, 0xffffffff)) invalid('SSL verify must be a uint32')
    const subs = info.tlvs ?? []
    if (!Array.isArray(subs)) return invalid('SSL sub-TLVs must be an array')
    let length = 5
    for (const t of subs) {
      checkTlv(t, 'SSL sub-TLV')
      length += 3 + t.value.length
    }
    if (length > 65535) invalid('SSL TLV would be longer than 65535 bytes')
    const value = new Uint8Array(length)
    value.set([info.client, verify >>> 24, (verify >>> 16) & 0xff, (verify >>> 8) & 0xff, verify & 0xff])
    let p = 5
    for (const t of subs) {
      p = putTlvHead(value, p, t.type, t.value.length)
      value.set(t.value, p)
      p += t.value.length
    }
    return checked(TlvType.SSL, value, decodeSsl)
  },
}
