/**
 * Typed decoders for the TLVs of spec §2.2.1–§2.2.7 and the cloud vendors' custom-range TLVs.
 * TLV values are hostile input: each decoder checks lengths and UTF-8 and throws ERR_PROXY_TLV_INVALID;
 * the SSL sub-TLVs are read by a flat loop, never by recursion (CVE-2022-41881).
 */
import { SslClient, SslSubType, TlvType } from './constants.js'
import { ErrorCodes, fail } from './errors.js'
import { ParsedSslSubTlv } from './tlv-json.js'
import type { Tlv } from './types.js'

// ignoreBOM: a leading U+FEFF is part of the value; dropping it would let two values compare equal.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

function text(value: Uint8Array, what: string, asciiOnly = false): string {
  if (asciiOnly) {
    for (let i = 0; i < value.length; i++) {
      if (value[i]! > 0x7e || value[i]! < 0x20) fail(ErrorCodes.TLV_INVALID, `${what} must be printable US-ASCII`, i)
    }
  }
  try {
    return utf8.decode(value)
  } catch {
    return fail(ErrorCodes.TLV_INVALID, `${what} is not valid UTF-8`)
  }
}

/** PP2_TYPE_ALPN (0x01): the negotiated protocol, e.g. "h2". */
export function decodeAlpn(value: Uint8Array): string {
  return text(value, 'ALPN TLV')
}

/** PP2_TYPE_AUTHORITY (0x02): host name (TLS SNI), UTF-8. */
export function decodeAuthority(value: Uint8Array): string {
  if (value.length > 255) fail(ErrorCodes.TLV_INVALID, 'AUTHORITY TLV is longer than a host name can be')
  return text(value, 'AUTHORITY TLV')
}

/** PP2_TYPE_CRC32C (0x03): the 32-bit checksum as sent. */
export function decodeCrc32c(value: Uint8Array): number {
  if (value.length !== 4) fail(ErrorCodes.TLV_INVALID, 'CRC32C TLV must be 4 bytes')
  return ((value[0]! << 24) | (value[1]! << 16) | (value[2]! << 8) | value[3]!) >>> 0
}

/** PP2_TYPE_UNIQUE_ID (0x05): opaque bytes, up to 128 (§2.2.5). */
export function decodeUniqueId(value: Uint8Array): Uint8Array {
  if (value.length > 128) fail(ErrorCodes.TLV_INVALID, 'UNIQUE_ID TLV is longer than 128 bytes')
  return value
}

/** PP2_TYPE_NETNS (0x30): the namespace name, US-ASCII. */
export function decodeNetns(value: Uint8Array): string {
  return text(value, 'NETNS TLV', true)
}

export interface SslInfo {
  /** PP2_CLIENT_SSL: the client connected over TLS. */
  ssl: boolean
  /** PP2_CLIENT_CERT_CONN: a client certificate was presented on this connection. */
  certInConnection: boolean
  /** PP2_CLIENT_CERT_SESS: a client certificate was presented on this TLS session. */
  certInSession: boolean
  /** Raw `client` bit field. */
  client: number
  /** Raw verify result: per spec 0 when a client certificate was presented and verified. */
  verify: number
  /**
   * A client certificate was presented (CERT_CONN or CERT_SESS) and verify is 0. HAProxy also sends
   * verify 0 when no certificate was presented at all, so verify alone does not prove one was checked.
   */
  verified: boolean
  version?: string
  cn?: string
  cipher?: string
  sigAlg?: string
  keyAlg?: string
  group?: string
  sigScheme?: string
  /** DER bytes of the client certificate (0x28), a view. */
  clientCert?: Uint8Array
  /** Sub-TLVs in wire order, unknown ones included. */
  tlvs: Tlv[]
}

const SSL_TEXT: Record<number, keyof SslInfo> = {
  [SslSubType.VERSION]: 'version',
  [SslSubType.CN]: 'cn',
  [SslSubType.CIPHER]: 'cipher',
  [SslSubType.SIG_ALG]: 'sigAlg',
  [SslSubType.KEY_ALG]: 'keyAlg',
  [SslSubType.GROUP]: 'group',
  [SslSubType.SIG_SCHEME]: 'sigScheme',
}

/** PP2_TYPE_SSL (0x20): client bits, verify result and the sub-TLVs 0x21–0x28 (§2.2.6). */
export function decodeSsl(value: Uint8Array): SslInfo {
  if (value.length < 5) fail(ErrorCodes.TLV_INVALID, 'SSL TLV must be at least 5 bytes')
  const client = value[0]!
  const verify = ((value[1]! << 24) | (value[2]! << 16) | (value[3]! << 8) | value[4]!) >>> 0
  const info: SslInfo = {
    ssl: (client & SslClient.SSL) !== 0,
    certInConnection: (client & SslClient.CERT_CONN) !== 0,
    certInSession: (client & SslClient.CERT_SESS) !== 0,
    client,
    verify,
    verified: verify === 0 && (client & (SslClient.CERT_CONN | SslClient.CERT_SESS)) !== 0,
    tlvs: [],
  }
  let p = 5
  while (p < value.length) {
    if (value.length - p < 3) fail(ErrorCodes.TLV_INVALID, 'SSL sub-TLV header runs past the end of the SSL TLV', p)
    const type = value[p]!
    const len = (value[p + 1]! << 8) | value[p + 2]!
    if (p + 3 + len > value.length) fail(ErrorCodes.TLV_INVALID, `SSL sub-TLV 0x${type.toString(16)} runs past the end of the SSL TLV`, p)
    const v = value.subarray(p + 3, p + 3 + len)
    info.tlvs.push(new ParsedSslSubTlv(type, v))
    const key = SSL_TEXT[type]
    // The CN is UTF-8 (§2.2.6); the other names are US-ASCII. Every copy is validated; the first one
    // wins, as in decodeTlvs.
    if (key) {
      const decoded = text(v, `SSL sub-TLV 0x${type.toString(16)}`, type !== SslSubType.CN)
      ;(info as unknown as Record<string, string>)[key] ??= decoded
    } else if (type === SslSubType.CLIENT_CERT) info.clientCert ??= v
    p += 3 + len
  }
  return info
}

/** AWS (0xEA) subtype 0x01: the VPC endpoint id of a PrivateLink connection, e.g. "vpce-08d2bf15fac5001c9". */
export function decodeAwsVpceId(value: Uint8Array): string {
  if (value.length < 2 || value[0] !== 0x01) fail(ErrorCodes.TLV_INVALID, 'AWS TLV is not a VPC endpoint id (subtype 0x01)')
  return text(value.subarray(1), 'AWS VPC endpoint id', true)
}

/** Azure (0xEE) subtype 0x01: the Private Link LinkID, uint32 little-endian, exactly 5 bytes. */
export function decodeAzureLinkId(value: Uint8Array): number {
  if (value.length !== 5 || value[0] !== 0x01) fail(ErrorCodes.TLV_INVALID, 'Azure TLV must be 5 bytes: subtype 0x01 + LinkID')
  return (value[1]! | (value[2]! << 8) | (value[3]! << 16) | (value[4]! << 24)) >>> 0
}

/** GCP (0xE0): the Private Service Connect connection id, uint64 big-endian, exactly 8 bytes. */
export function decodeGcpPscConnectionId(value: Uint8Array): bigint {
  if (value.length !== 8) fail(ErrorCodes.TLV_INVALID, 'GCP PSC TLV must be 8 bytes')
  let id = 0n
  for (let i = 0; i < 8; i++) id = (id << 8n) | BigInt(value[i]!)
  return id
}

export interface DecodedTlvs {
  alpn?: string
  authority?: string
  crc32c?: number
  uniqueId?: Uint8Array
  ssl?: SslInfo
  netns?: string
  awsVpceId?: string
  azureLinkId?: number
  gcpPscConnectionId?: bigint
  /** TLVs with no decoder here (NOOP is dropped), in wire order. */
  unknown: Tlv[]
}

/**
 * Decodes every known TLV of a header. When a type appears twice the first one wins, and every copy is
 * validated (a bad second copy must not slip through because the first one was good).
 * Throws ERR_PROXY_TLV_INVALID on a value that does not match its type's format.
 */
const first = <T>(had: T | undefined, next: T): T => (had === undefined ? next : had)

export function decodeTlvs(tlvs: readonly Tlv[]): DecodedTlvs {
  const out: DecodedTlvs = { unknown: [] }
  for (const tlv of tlvs) {
    const v = tlv.value
    switch (tlv.type) {
      case TlvType.ALPN:
        out.alpn = first(out.alpn, decodeAlpn(v))
        break
      case TlvType.AUTHORITY:
        out.authority = first(out.authority, decodeAuthority(v))
        break
      case TlvType.CRC32C:
        out.crc32c = first(out.crc32c, decodeCrc32c(v))
        break
      case TlvType.NOOP:
        break
      case TlvType.UNIQUE_ID:
        out.uniqueId = first(out.uniqueId, decodeUniqueId(v))
        break
      case TlvType.SSL:
        out.ssl = first(out.ssl, decodeSsl(v))
        break
      case TlvType.NETNS:
        out.netns = first(out.netns, decodeNetns(v))
        break
      case TlvType.AWS:
        if (v[0] === 0x01) out.awsVpceId = first(out.awsVpceId, decodeAwsVpceId(v))
        else out.unknown.push(tlv)
        break
      case TlvType.AZURE:
        if (v[0] === 0x01) out.azureLinkId = first(out.azureLinkId, decodeAzureLinkId(v))
        else out.unknown.push(tlv)
        break
      case TlvType.GCP:
        out.gcpPscConnectionId = first(out.gcpPscConnectionId, decodeGcpPscConnectionId(v))
        break
      default:
        out.unknown.push(tlv)
    }
  }
  return out
}
