/** Encoder for v1 (spec §2.1) and v2 (spec §2.2) headers. Every input is validated before a byte is written. */
import { formatIPv6, writeIPv4Text, writeIPv6Text } from './address.js'
import { MAX_HEADER_SIZE_LIMIT, TlvType, V2_HEADER_LENGTH, V2_SIGNATURE } from './constants.js'
import { crc32c } from './crc32c.js'
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
const FAMILY_NIBBLE: Record<Family, number> = { UNSPEC: 0, IPv4: 1, IPv6: 2, UNIX: 3 }
const TRANSPORT_NIBBLE: Record<Transport, number> = { UNSPEC: 0, STREAM: 1, DGRAM: 2 }

function unixPath(e: Endpoint | undefined, which: string): Uint8Array {
  const path = (e as { path?: unknown } | undefined)?.path
  if (typeof path !== 'string') return invalid(`${which} path is required for UNIX`)
  const bytes = new TextEncoder().encode(path)
  if (bytes.length > 108 || bytes.includes(0)) invalid(`${which} path must be at most 108 bytes without NUL`)
  return bytes
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
  if (!Object.hasOwn(FAMILY_NIBBLE, family)) invalid(`family must be one of ${Object.keys(FAMILY_NIBBLE).join(', ')}`)
  if (!Object.hasOwn(TRANSPORT_NIBBLE, transport)) invalid(`transport must be one of ${Object.keys(TRANSPORT_NIBBLE).join(', ')}`)
  if ((family === 'UNSPEC') !== (transport === 'UNSPEC')) invalid('UNSPEC family goes with UNSPEC transport only (fam byte 0x00)')

  const tlvs = h.tlvs ?? []
  let tlvLength = 0
  for (const t of tlvs) {
    if (!Number.isInteger(t.type) || t.type < 0 || t.type > 255) invalid('TLV type must be an integer 0-255')
    if (!(t.value instanceof Uint8Array) || t.value.length > 65535) invalid('TLV value must be a Uint8Array of at most 65535 bytes')
    tlvLength += 3 + t.value.length
  }
  const addrLength = ADDRESS_LENGTH[FAMILY_NIBBLE[family]]!
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
  out[13] = (FAMILY_NIBBLE[family] << 4) | TRANSPORT_NIBBLE[transport]
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
  if (header.command !== undefined && header.command !== 'PROXY' && header.command !== 'LOCAL') invalid('command must be PROXY or LOCAL')
  if (header.version === 1) return encodeV1(header, options)
  if (header.version === 2) return encodeV2(header, options)
  return invalid('version must be 1 or 2')
}

const enc = new TextEncoder()

/** Builders for the TLVs users commonly send. */
export const tlv = {
  alpn: (protocol: string): Tlv => ({ type: TlvType.ALPN, value: enc.encode(protocol) }),
  authority: (host: string): Tlv => ({ type: TlvType.AUTHORITY, value: enc.encode(host) }),
  uniqueId: (id: Uint8Array | string): Tlv => {
    const value = typeof id === 'string' ? enc.encode(id) : id
    if (value.length > 128) invalid('UNIQUE_ID is at most 128 bytes')
    return { type: TlvType.UNIQUE_ID, value }
  },
  netns: (name: string): Tlv => ({ type: TlvType.NETNS, value: enc.encode(name) }),
  awsVpceId: (id: string): Tlv => ({ type: TlvType.AWS, value: Uint8Array.of(0x01, ...enc.encode(id)) }),
  azureLinkId: (id: number): Tlv => {
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) invalid('Azure LinkID must be a uint32')
    return { type: TlvType.AZURE, value: Uint8Array.of(0x01, id & 0xff, (id >>> 8) & 0xff, (id >>> 16) & 0xff, id >>> 24) }
  },
  gcpPscConnectionId: (id: bigint): Tlv => {
    if (id < 0n || id > 0xffffffffffffffffn) invalid('GCP PSC connection id must be a uint64')
    const value = new Uint8Array(8)
    for (let i = 7, v = id; i >= 0; i--, v >>= 8n) value[i] = Number(v & 0xffn)
    return { type: TlvType.GCP, value }
  },
  ssl: (info: { client: number; verify?: number; tlvs?: readonly Tlv[] }): Tlv => {
    const subs = info.tlvs ?? []
    const value = new Uint8Array(5 + subs.reduce((n, t) => n + 3 + t.value.length, 0))
    const verify = info.verify ?? 0
    value.set([info.client & 0xff, verify >>> 24, (verify >>> 16) & 0xff, (verify >>> 8) & 0xff, verify & 0xff])
    let p = 5
    for (const t of subs) {
      value.set([t.type, t.value.length >> 8, t.value.length & 0xff], p)
      value.set(t.value, p + 3)
      p += 3 + t.value.length
    }
    return { type: TlvType.SSL, value }
  },
}
