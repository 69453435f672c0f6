/**
 * The CRC32C check of a header that was parsed with verifyChecksum: false. `echo` parses that way so
 * that a header with a wrong checksum is still shown (with "crc32c": "invalid") instead of refused.
 */
import { crc32c, type ProxyHeader, TlvType, V2_SIGNATURE } from '@proxyproto/core'

/** 'unknown': the header's bytes as received could not be found (see receivedBytes). */
export type Crc32cStatus = 'valid' | 'invalid' | 'absent' | 'unknown'

const ADDRESS_LENGTH = { IPv4: 12, IPv6: 36, UNIX: 216, UNSPEC: 0 } as const
const ZEROS = new Uint8Array(4)

/**
 * §2.2.3: the CRC32C of the whole header as received, with the 4 checksum bytes taken as zeros.
 * `at` is where the checksum value starts in `bytes` (the whole header, nothing after it).
 */
export function crc32cMatches(bytes: Uint8Array, at: number): boolean {
  let c = crc32c(bytes, 0, at)
  c = crc32c(ZEROS, 0, 4, c)
  c = crc32c(bytes, at + 4, bytes.length, c)
  const sent = ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0
  return c === sent
}

/**
 * The v2 header's bytes as received. The parser's TLV values are views into the bytes it parsed, so
 * the header is found around them: the checksum must cover the bytes as sent, and re-encoding the
 * parsed fields would not give them back (a UNIX path's padding, for one). Undefined when the views
 * do not line up with a v2 header (values copied by some layer): then nothing is claimed.
 */
export function receivedBytes(header: ProxyHeader): Uint8Array | undefined {
  const tlvs = header.tlvs
  const first = tlvs[0]
  if (header.version !== 2 || first === undefined) return undefined
  const tlvsAt = 16 + ADDRESS_LENGTH[header.family]
  const start = first.value.byteOffset - 3 - tlvsAt
  const buffer = first.value.buffer
  if (start < 0 || start + 16 > buffer.byteLength) return undefined
  const fixed = new Uint8Array(buffer, start, 16)
  if (!V2_SIGNATURE.every((b, i) => fixed[i] === b)) return undefined
  const total = 16 + ((fixed[14]! << 8) | fixed[15]!)
  if (start + total > buffer.byteLength) return undefined
  // Every TLV must sit where the walk from the first one puts it, and the last must end the header.
  let p = start + tlvsAt
  for (const t of tlvs) {
    if (t.value.buffer !== buffer || t.value.byteOffset !== p + 3) return undefined
    p += 3 + t.value.length
  }
  return p === start + total ? new Uint8Array(buffer, start, total) : undefined
}

/** Whether the header's CRC32C TLV (the first one: the parser refuses a second) matches. */
export function crc32cStatus(header: ProxyHeader): Crc32cStatus {
  const tlv = header.tlvs.find((t) => t.type === TlvType.CRC32C)
  if (tlv === undefined) return 'absent'
  const bytes = receivedBytes(header)
  if (bytes === undefined || tlv.value.length !== 4) return 'unknown'
  return crc32cMatches(bytes, tlv.value.byteOffset - bytes.byteOffset) ? 'valid' : 'invalid'
}
