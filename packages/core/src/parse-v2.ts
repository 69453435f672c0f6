/**
 * PROXY protocol v2 (spec §2.2): 12-byte signature, ver/cmd, fam, 16-bit length, address block, TLVs.
 * The length is checked against the address block before any address is read (CVE-2019-14243),
 * TLVs must end exactly at the end of the header, and a CRC32C TLV is verified over the bytes as
 * received (§2.2.3).
 */
import { destinationIPv4, formatIPv4, formatIPv6 } from './address.js'
import { TlvType, V2_HEADER_LENGTH } from './constants.js'
import { crc32c } from './crc32c.js'
import { ErrorCodes, fail } from './errors.js'
import { ParsedTlv } from './tlv-json.js'
import { checkSpecTlv } from './tlv.js'
import type { ParseResult, ProxyHeader, Tlv, Transport } from './types.js'

const INCOMPLETE: ParseResult = Object.freeze({ status: 'incomplete' }) as ParseResult

/** Address block size by family nibble (§2.2). */
const ADDRESS_LENGTH = [0, 12, 36, 216]
const TRANSPORTS: Transport[] = ['UNSPEC', 'STREAM', 'DGRAM']
const UNIX_PATH_LENGTH = 108
// ignoreBOM: a leading U+FEFF is part of the value; dropping it would let two values compare equal.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** The 16-byte fixed part must already be known to start with the signature. */
export function parseV2(b: Uint8Array, maxHeaderSize: number, verifyChecksum: boolean): ParseResult {
  const n = b.length
  // The common case first, with literal offsets: a whole PROXY TCP4/UDP4 header (ver/cmd 0x21, fam 0x11 or
  // 0x12) within maxHeaderSize. It passes every check below, so the answer is the one they would give;
  // anything else (a cut-short or oversized header, another family, an error) takes the general path.
  if (n >= 28 && b[12] === 0x21 && (b[13] === 0x11 || b[13] === 0x12)) {
    const total = 16 + ((b[14]! << 8) | b[15]!)
    if (total >= 28 && total <= maxHeaderSize && n >= total) return inet4(b, b[13], total, verifyChecksum)
  }
  if (n > 12) {
    const verCmd = b[12]!
    if (verCmd >> 4 !== 2) fail(ErrorCodes.V2_BAD_VERSION, 'PROXY v2 version nibble must be 2', 12)
    if ((verCmd & 0x0f) > 1) fail(ErrorCodes.V2_BAD_COMMAND, 'PROXY v2 command must be LOCAL (0) or PROXY (1)', 12)
  }
  if (n > 13) {
    const fam = b[13]!
    // Allowed: 00 11 12 21 22 31 32
    if (fam !== 0 && ((fam >> 4) > 3 || (fam >> 4) === 0 || (fam & 0x0f) === 0 || (fam & 0x0f) > 2)) {
      fail(ErrorCodes.V2_BAD_FAMILY, `PROXY v2 family/transport byte 0x${fam.toString(16).padStart(2, '0')} is not allowed`, 13)
    }
  }
  if (n < V2_HEADER_LENGTH) return INCOMPLETE

  const local = (b[12]! & 0x0f) === 0
  const fam = b[13]!
  const len = (b[14]! << 8) | b[15]!
  const total = V2_HEADER_LENGTH + len
  if (total > maxHeaderSize) fail(ErrorCodes.HEADER_TOO_LARGE, `PROXY v2 header of ${total} bytes exceeds maxHeaderSize ${maxHeaderSize}`, 14)
  const addrLen = local ? 0 : ADDRESS_LENGTH[fam >> 4]!
  if (len < addrLen) fail(ErrorCodes.V2_LENGTH_TOO_SHORT, `PROXY v2 length ${len} is shorter than the ${addrLen}-byte address block`, 14)
  if (n < total) return INCOMPLETE

  if (local) {
    // §2.2: LOCAL — use the real endpoints and discard the whole protocol block, family included. But a
    // CRC32C TLV is still verified (§2.2.3): a PROXY header whose command byte was corrupted into LOCAL is
    // exactly what the checksum is there to catch.
    if (verifyChecksum) checkLocalCrc(b, fam, len, total)
    return {
      status: 'complete',
      header: { version: 2, command: 'LOCAL', family: 'UNSPEC', transport: 'UNSPEC', tlvs: [] },
      length: total,
    }
  }

  // One object literal per family (a stable shape from the start), TLVs read only when there are some.
  const a = V2_HEADER_LENGTH
  const family = fam >> 4
  if (family === 1) return inet4(b, fam, total, verifyChecksum)
  const tlvs = a + addrLen < total ? readTlvs(b, a + addrLen, total, verifyChecksum) : []
  let header: ProxyHeader
  if (family === 2) {
    header = {
      version: 2,
      command: 'PROXY',
      family: 'IPv6',
      transport: TRANSPORTS[fam & 0x0f]!,
      source: { address: formatIPv6(b, a), port: (b[a + 32]! << 8) | b[a + 33]! },
      destination: { address: formatIPv6(b, a + 16), port: (b[a + 34]! << 8) | b[a + 35]! },
      tlvs,
    }
  } else if (family === 3) {
    header = {
      version: 2,
      command: 'PROXY',
      family: 'UNIX',
      transport: TRANSPORTS[fam & 0x0f]!,
      source: { path: unixPath(b, a) },
      destination: { path: unixPath(b, a + UNIX_PATH_LENGTH) },
      tlvs,
    }
  } else {
    header = { version: 2, command: 'PROXY', family: 'UNSPEC', transport: 'UNSPEC', tlvs }
  }
  return { status: 'complete', header, length: total }
}

/** A PROXY header of the IPv4 family (fam 0x11 or 0x12), `total` bytes long, all of them in `b`. */
function inet4(b: Uint8Array, fam: number, total: number, verifyChecksum: boolean): ParseResult {
  const tlvs = total > 28 ? readTlvs(b, 28, total, verifyChecksum) : []
  return {
    status: 'complete',
    header: {
      version: 2,
      command: 'PROXY',
      family: 'IPv4',
      transport: fam === 0x11 ? 'STREAM' : 'DGRAM',
      source: { address: formatIPv4(b, 16), port: (b[24]! << 8) | b[25]! },
      destination: { address: destinationIPv4((b[20]! << 8) | b[21]!, (b[22]! << 8) | b[23]!), port: (b[26]! << 8) | b[27]! },
      tlvs,
    },
    length: total,
  }
}

function unixPath(b: Uint8Array, at: number): string {
  let end = at
  const max = at + UNIX_PATH_LENGTH
  while (end < max && b[end] !== 0) end++
  try {
    return utf8.decode(b.subarray(at, end))
  } catch {
    return fail(ErrorCodes.V2_BAD_UNIX_PATH, 'PROXY v2 UNIX path is not valid UTF-8', at)
  }
}

function readTlvs(b: Uint8Array, start: number, end: number, verifyChecksum: boolean): Tlv[] {
  const tlvs: Tlv[] = []
  let crcAt = -1
  let p = start
  while (p < end) {
    if (end - p < 3) fail(ErrorCodes.V2_TLV_TRUNCATED, 'PROXY v2 TLV header runs past the end of the header', p)
    const type = b[p]!
    const len = (b[p + 1]! << 8) | b[p + 2]!
    const v = p + 3
    if (v + len > end) fail(ErrorCodes.V2_TLV_TRUNCATED, `PROXY v2 TLV 0x${type.toString(16)} runs past the end of the header`, p)
    if (type === TlvType.CRC32C) {
      if (len !== 4) fail(ErrorCodes.CRC32C_INVALID, 'PROXY v2 CRC32C TLV must be 4 bytes', p)
      if (crcAt !== -1) fail(ErrorCodes.CRC32C_INVALID, 'PROXY v2 header has more than one CRC32C TLV', p)
      crcAt = v
    }
    checkSpecTlv(b, type, v, len)
    tlvs.push(new ParsedTlv(type, b.subarray(v, v + len)))
    p = v + len
  }
  if (crcAt !== -1 && verifyChecksum) verifyCrc(b, crcAt, end)
  return tlvs
}

/** §2.2.3: the checksum of the whole header as received, with the checksum field taken as zeros. */
function verifyCrc(b: Uint8Array, crcAt: number, end: number): void {
  let c = crc32c(b, 0, crcAt)
  c = crc32c(ZEROS, 0, 4, c)
  c = crc32c(b, crcAt + 4, end, c)
  const got = ((b[crcAt]! << 24) | (b[crcAt + 1]! << 16) | (b[crcAt + 2]! << 8) | b[crcAt + 3]!) >>> 0
  if (c !== got) fail(ErrorCodes.CRC32C_MISMATCH, 'PROXY v2 CRC32C checksum does not match the header', crcAt)
}

/**
 * A LOCAL header's TLVs are not parsed (its protocol block is discarded), but when they form a well-formed
 * TLV block (after the address block its family byte announces) holding one CRC32C TLV, that checksum must
 * match. A block that is not a TLV list (a sender's leftover address bytes, say) has no checksum to check.
 */
function checkLocalCrc(b: Uint8Array, fam: number, len: number, end: number): void {
  const addrLen = ADDRESS_LENGTH[fam >> 4] ?? 0
  if (len <= addrLen) return
  let crcAt = -1
  let p = V2_HEADER_LENGTH + addrLen
  while (p < end) {
    if (end - p < 3) return
    const type = b[p]!
    const tlvLen = (b[p + 1]! << 8) | b[p + 2]!
    if (p + 3 + tlvLen > end) return
    if (type === TlvType.CRC32C) {
      if (tlvLen !== 4 || crcAt !== -1) return
      crcAt = p + 3
    }
    p += 3 + tlvLen
  }
  if (crcAt !== -1) verifyCrc(b, crcAt, end)
}

const ZEROS = new Uint8Array(4)
