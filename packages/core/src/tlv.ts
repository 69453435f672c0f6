/**
 * Typed decoders for the TLVs of spec §2.2.1–§2.2.7 and the cloud vendors' custom-range TLVs.
 * TLV values are hostile input, and many come from the client through the balancer (SNI, ALPN, the
 * certificate CN). The policy, per TLV:
 * - structurally invalid spec TLVs make the whole header invalid, at parse time (checkSpecTlv below):
 *   an SSL TLV shorter than its 5-byte fixed part or whose sub-TLVs do not tile it (§2.2.6), a
 *   UNIQUE_ID over 128 bytes (§2.2.5; HAProxy refuses it too), a CRC32C that is not 4 bytes (§2.2.3);
 * - well-formed values that cannot be decoded (non-UTF-8 AUTHORITY or ALPN from a client's SNI,
 *   non-ASCII NETNS, cloud values of the wrong length) are exposed by decodeTlvs without throwing: the
 *   raw TLV stays in header.tlvs, the decoded field is absent, and `invalid` says which and why;
 * - the single-type decode* functions throw ERR_PROXY_TLV_INVALID, for callers who asked for one value.
 * The SSL sub-TLVs are read by a flat loop, never by recursion (CVE-2022-41881).
 */
import { SslClient, SslSubType, TlvType } from './constants.js'
import { ErrorCodes, fail, ProxyProtocolError } from './errors.js'
import { ParsedSslSubTlv } from './tlv-json.js'
import type { Tlv } from './types.js'

/**
 * @internal Called by the v2 parser for each TLV (value at b[at, at + len)): throws ERR_PROXY_TLV_INVALID
 * when a spec TLV breaks its structure, so such a header is refused like any other malformed one.
 */
export function checkSpecTlv(b: Uint8Array, type: number, at: number, len: number): void {
  if (type === TlvType.UNIQUE_ID) {
    // §2.2.5: the unique id is at most 128 bytes.
    if (len > 128) fail(ErrorCodes.TLV_INVALID, `PROXY v2 UNIQUE_ID TLV is ${len} bytes, more than the 128 the spec allows`, at - 3)
  } else if (type === TlvType.SSL) {
    // §2.2.6: struct pp2_tlv_ssl { uint8_t client; uint32_t verify; struct pp2_tlv sub_tlv[0]; }
    if (len < 5) fail(ErrorCodes.TLV_INVALID, 'PROXY v2 SSL TLV is shorter than its 5-byte client and verify fields', at - 3)
    const end = at + len
    let p = at + 5
    while (p < end) {
      if (end - p < 3) fail(ErrorCodes.TLV_INVALID, 'PROXY v2 SSL sub-TLV header runs past the end of the SSL TLV', p)
      p += 3 + ((b[p + 1]! << 8) | b[p + 2]!)
      if (p > end) fail(ErrorCodes.TLV_INVALID, 'PROXY v2 SSL sub-TLV runs past the end of the SSL TLV', p)
    }
  }
}

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
  return readSsl(value, undefined)
}

/**
 * With `problems`, a text sub-TLV that cannot be decoded is listed there and its field left absent;
 * without, it throws. A broken structure always throws.
 */
function readSsl(value: Uint8Array, problems: InvalidTlv[] | undefined): SslInfo {
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
  const seen = new Set<number>()
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
    // decides the field, as in decodeTlvs (a later good copy does not stand in for a bad first one).
    if (key) {
      let decoded: string | undefined
      try {
        decoded = text(v, `SSL sub-TLV 0x${type.toString(16)}`, type !== SslSubType.CN)
      } catch (err) {
        if (problems === undefined || !(err instanceof ProxyProtocolError)) throw err
        problems.push({ type: TlvType.SSL, subType: type, value: v, error: err })
      }
      if (!seen.has(type)) {
        seen.add(type)
        if (decoded !== undefined) (info as unknown as Record<string, string>)[key] = decoded
      }
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

/** A TLV (or SSL sub-TLV) that decodeTlvs could not decode: its raw bytes and why. */
export interface InvalidTlv {
  /** The TLV type (0x20 for an SSL sub-TLV). */
  type: number
  /** The SSL sub-TLV type, when the problem is inside the SSL TLV. */
  subType?: number
  /** The raw value, a view into the parsed input. */
  value: Uint8Array
  /** ERR_PROXY_TLV_INVALID, saying what is wrong; `offset` is relative to `value`. */
  error: ProxyProtocolError
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
  /**
   * Known TLVs whose value could not be decoded (non-UTF-8 AUTHORITY, a GCP value of the wrong length,
   * an SSL CN that is not UTF-8...), in wire order. Their decoded field is absent; nothing else is hidden.
   */
  invalid: InvalidTlv[]
}

type Decoder = (value: Uint8Array) => unknown
type Field = Exclude<keyof DecodedTlvs, 'unknown' | 'invalid'>

const DECODERS: Partial<Record<number, [Field, Decoder]>> = {
  [TlvType.ALPN]: ['alpn', decodeAlpn],
  [TlvType.AUTHORITY]: ['authority', decodeAuthority],
  [TlvType.CRC32C]: ['crc32c', decodeCrc32c],
  [TlvType.UNIQUE_ID]: ['uniqueId', decodeUniqueId],
  [TlvType.NETNS]: ['netns', decodeNetns],
  [TlvType.GCP]: ['gcpPscConnectionId', decodeGcpPscConnectionId],
}

/**
 * Decodes every known TLV of a header. Never throws because of a value: one that cannot be decoded is
 * listed in `invalid`, its field left absent, and every other TLV is still decoded. When a type appears
 * twice the first copy decides its field (a bad first copy leaves it absent); every copy is checked.
 */
export function decodeTlvs(tlvs: readonly Tlv[]): DecodedTlvs {
  const out: DecodedTlvs = { unknown: [], invalid: [] }
  const seen = new Set<number>()
  for (const tlv of tlvs) {
    const v = tlv.value
    const type = tlv.type
    let field: Field
    let decode: Decoder
    switch (type) {
      case TlvType.NOOP:
        continue
      case TlvType.SSL:
        field = 'ssl'
        decode = (value) => readSsl(value, out.invalid)
        break
      case TlvType.AWS:
        if (v[0] !== 0x01) {
          out.unknown.push(tlv)
          continue
        }
        field = 'awsVpceId'
        decode = decodeAwsVpceId
        break
      case TlvType.AZURE:
        if (v[0] !== 0x01) {
          out.unknown.push(tlv)
          continue
        }
        field = 'azureLinkId'
        decode = decodeAzureLinkId
        break
      default: {
        const known = DECODERS[type]
        if (known === undefined) {
          out.unknown.push(tlv)
          continue
        }
        ;[field, decode] = known
      }
    }
    const firstCopy = !seen.has(type)
    seen.add(type)
    let decoded: unknown
    try {
      decoded = decode(v)
    } catch (err) {
      out.invalid.push({ type, value: v, error: asTlvError(err) })
      continue
    }
    if (firstCopy) (out as unknown as Record<string, unknown>)[field] = decoded
  }
  return out
}

// The decoders only throw ProxyProtocolErrors; anything else is wrapped rather than let out.
function asTlvError(err: unknown): ProxyProtocolError {
  return err instanceof ProxyProtocolError ? err : new ProxyProtocolError(ErrorCodes.TLV_INVALID, String(err), { cause: err })
}
