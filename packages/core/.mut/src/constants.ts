/** v2 signature, spec §2.2: \r\n\r\n\0\r\nQUIT\n */
export const V2_SIGNATURE: Uint8Array = Uint8Array.of(
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
)
/** v1 prefix, spec §2.1: "PROXY " */
export const V1_PREFIX: Uint8Array = Uint8Array.of(0x50, 0x52, 0x4f, 0x58, 0x59, 0x20)
/** spec §2.1: 107 bytes is the worst case, CRLF included */
export const V1_MAX_LENGTH = 107
export const V2_HEADER_LENGTH = 16
export const MAX_HEADER_SIZE_LIMIT = 16 + 65535
export const DEFAULT_MAX_HEADER_SIZE = 4096

/** TLV types, spec §2.2 and the cloud vendors' types in the custom range 0xE0–0xEF. */
export const TlvType = {
  ALPN: 0x01,
  AUTHORITY: 0x02,
  CRC32C: 0x03,
  NOOP: 0x04,
  UNIQUE_ID: 0x05,
  SSL: 0x20,
  NETNS: 0x30,
  GCP: 0xe0,
  AWS: 0xea,
  AZURE: 0xee,
} as const

/** Second-level TLVs inside PP2_TYPE_SSL, spec §2.2.6 (0x26–0x28 added in newer revisions). */
export const SslSubType = {
  VERSION: 0x21,
  CN: 0x22,
  CIPHER: 0x23,
  SIG_ALG: 0x24,
  KEY_ALG: 0x25,
  GROUP: 0x26,
  SIG_SCHEME: 0x27,
  CLIENT_CERT: 0x28,
} as const

/** Bits of the SSL TLV `client` field, spec §2.2.6. */
export const SslClient = { SSL: 0x01, CERT_CONN: 0x02, CERT_SESS: 0x04 } as const
