/**
 * `--tlv NAME=VALUE`, shared by `relay` and `encode`.
 *
 *   authority=example.com   alpn=h2   unique-id=abc | unique-id=hex:0a0b   netns=blue
 *   aws-vpce=vpce-08d2bf15fac5001c9   azure-link-id=12345   gcp-psc=1234567890
 *   0xE5=hex:0102 | 229=some-text     (any type by number; text is sent as UTF-8)
 */
import { type Tlv, TlvType, tlv } from '@proxyproto/core'
import { UsageError } from './errors.js'

export const TLV_FLAG_HELP = `TLVs (--tlv NAME=VALUE, repeatable; v2 only):
  authority=HOST        PP2_TYPE_AUTHORITY (0x02), e.g. the TLS SNI
  alpn=PROTO            PP2_TYPE_ALPN (0x01), e.g. h2
  unique-id=ID          PP2_TYPE_UNIQUE_ID (0x05), text or hex:BYTES, at most 128 bytes
  netns=NAME            PP2_TYPE_NETNS (0x30)
  aws-vpce=ID           AWS PrivateLink VPC endpoint id (0xEA, subtype 0x01)
  azure-link-id=N       Azure Private Link LinkID (0xEE, uint32)
  gcp-psc=N             GCP Private Service Connect connection id (0xE0, uint64)
  TYPE=VALUE            any type as a number (0xE5, 229): VALUE is hex:BYTES or UTF-8 text
The CRC32C TLV is added with --crc32c, never by --tlv.`

const utf8 = new TextEncoder()

function hexBytes(text: string, flag: string): Uint8Array {
  const clean = text.replace(/[\s:]/g, '')
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) {
    throw new UsageError(`${flag}: ${JSON.stringify(text)} is not an even number of hex digits`)
  }
  return Uint8Array.from(Buffer.from(clean, 'hex'))
}

function bytes(value: string, flag: string): Uint8Array {
  return value.startsWith('hex:') ? hexBytes(value.slice(4), flag) : utf8.encode(value)
}

function integer(value: string, flag: string, max: bigint): bigint {
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(value) || BigInt(value) > max) {
    throw new UsageError(`${flag}: ${JSON.stringify(value)} is not an integer from 0 to ${max}`)
  }
  return BigInt(value)
}

const NAMED: Record<string, (value: string, flag: string) => Tlv> = {
  authority: (v) => tlv.authority(v),
  alpn: (v) => tlv.alpn(v),
  'unique-id': (v, flag) => tlv.uniqueId(bytes(v, flag)),
  netns: (v) => tlv.netns(v),
  'aws-vpce': (v) => tlv.awsVpceId(v),
  'azure-link-id': (v, flag) => tlv.azureLinkId(Number(integer(v, flag, 0xffffffffn))),
  'gcp-psc': (v, flag) => tlv.gcpPscConnectionId(integer(v, flag, 0xffffffffffffffffn)),
}

/** Parses one `--tlv NAME=VALUE` into a TLV. Throws UsageError naming the flag. */
export function parseTlvFlag(text: string): Tlv {
  const flag = `--tlv ${text}`
  const eq = text.indexOf('=')
  if (eq <= 0) throw new UsageError(`${flag}: expected NAME=VALUE (see --help for the names)`)
  const name = text.slice(0, eq).toLowerCase()
  const value = text.slice(eq + 1)
  const named = NAMED[name]
  if (named) {
    const result = named(value, flag)
    if (result.value.length > 65535) throw new UsageError(`${flag}: a TLV value is at most 65535 bytes`)
    return result
  }
  if (!/^(0x[0-9a-f]{1,2}|\d{1,3})$/.test(name) || Number(name) > 255) {
    throw new UsageError(
      `${flag}: unknown TLV ${JSON.stringify(name)}; use ${Object.keys(NAMED).join(', ')} or a type number 0-255`,
    )
  }
  const type = Number(name)
  if (type === TlvType.CRC32C)
    throw new UsageError(`${flag}: add the CRC32C TLV with --crc32c; it is computed over the header`)
  const raw = bytes(value, flag)
  if (raw.length > 65535) throw new UsageError(`${flag}: a TLV value is at most 65535 bytes`)
  return { type, value: raw }
}

/** The type each `--tlv` name stands for, plus the TLVs a relay may forward but `--tlv` does not build. */
const TYPE_OF: Record<string, number> = {
  authority: TlvType.AUTHORITY,
  alpn: TlvType.ALPN,
  'unique-id': TlvType.UNIQUE_ID,
  netns: TlvType.NETNS,
  'aws-vpce': TlvType.AWS,
  'azure-link-id': TlvType.AZURE,
  'gcp-psc': TlvType.GCP,
  ssl: TlvType.SSL,
  noop: TlvType.NOOP,
}

/** `--drop-tlv TYPE`: a name (authority, aws-vpce, ssl, ...) or a type number (0xEA, 234). */
export function parseTlvTypeFlags(values: readonly string[] | undefined): number[] {
  return (values ?? []).map((text) => {
    const name = text.toLowerCase()
    const named = TYPE_OF[name]
    if (named !== undefined) return named
    if (!/^(0x[0-9a-f]{1,2}|\d{1,3})$/.test(name) || Number(name) > 255)
      throw new UsageError(
        `--drop-tlv ${text}: unknown TLV; use ${Object.keys(TYPE_OF).join(', ')} or a type number 0-255`,
      )
    return Number(name)
  })
}

/** Parses every `--tlv` flag; TLVs need a v2 header. */
export function parseTlvFlags(values: readonly string[] | undefined, version: 1 | 2): Tlv[] {
  const tlvs = (values ?? []).map(parseTlvFlag)
  if (tlvs.length > 0 && version !== 2)
    throw new UsageError('--tlv needs a v2 header: v1 headers cannot carry TLVs')
  return tlvs
}
