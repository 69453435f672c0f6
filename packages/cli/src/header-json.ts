/** The JSON shape of a header and its TLVs, shared by `decode` and `echo`. */
import {
  type DecodedTlvs,
  decodeTlvs,
  type ProxyHeader,
  ProxyProtocolError,
  type Tlv,
  tlvToJSON,
} from '@proxyproto/core'

export const hex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
export const typeHex = (type: number): string => `0x${type.toString(16).padStart(2, '0')}`

/**
 * Decoded TLVs as JSON: bytes as hex, bigints as decimal strings, a CRC32C as `crc32c`: 'valid' when the
 * parser verified it (decode), or what the caller found when it did not (echo).
 */
export function tlvsJson(d: DecodedTlvs, crc32c = 'valid'): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (d.authority !== undefined) out['authority'] = d.authority
  if (d.alpn !== undefined) out['alpn'] = d.alpn
  if (d.uniqueId !== undefined) out['uniqueId'] = hex(d.uniqueId)
  if (d.netns !== undefined) out['netns'] = d.netns
  if (d.awsVpceId !== undefined) out['awsVpceId'] = d.awsVpceId
  if (d.azureLinkId !== undefined) out['azureLinkId'] = d.azureLinkId
  if (d.gcpPscConnectionId !== undefined) out['gcpPscConnectionId'] = d.gcpPscConnectionId.toString()
  if (d.crc32c !== undefined) out['crc32c'] = crc32c
  if (d.ssl) {
    const { tlvs: _subTlvs, clientCert, ...ssl } = d.ssl
    out['ssl'] = clientCert ? { ...ssl, clientCert: hex(clientCert) } : ssl
  }
  if (d.unknown.length > 0)
    out['unknown'] = d.unknown.map((t) => ({ type: typeHex(t.type), hex: hex(t.value) }))
  return out
}

/**
 * tlvsJson of a received header's TLVs (decoded on access), or { error, message } when a value does not
 * decode: echo shows what it received instead of refusing it.
 */
export function receivedTlvsJson(info: { readonly tlvs: DecodedTlvs }, crc32c?: string): Record<string, unknown> {
  try {
    return tlvsJson(info.tlvs, crc32c)
  } catch (err) {
    const e = err as ProxyProtocolError
    return { error: e.code ?? 'ERR', message: e.message }
  }
}

/** Every TLV in wire order: type, name and value as hex (names and hex from core's JSON form of a TLV). */
export function rawTlvsJson(tlvs: readonly Tlv[]): Array<Record<string, unknown>> {
  return tlvs.map((t) => {
    const json = tlvToJSON(t)
    return { type: typeHex(t.type), name: json.name ?? 'CUSTOM', length: t.value.length, hex: json.hex }
  })
}

/** The header's fields (TLVs apart). */
export function headerFields(h: ProxyHeader): Record<string, unknown> {
  const out: Record<string, unknown> = {
    version: h.version,
    command: h.command,
    family: h.family,
    transport: h.transport,
  }
  if (h.source) out['source'] = h.source
  if (h.destination) out['destination'] = h.destination
  return out
}

/**
 * decodeTlvs, refusing a TLV value it could not decode (the CLI reports it like any other parse error),
 * with the error's offset made absolute in `input` (TLV values are views into it).
 */
export function decodeTlvsIn(header: ProxyHeader, input: Uint8Array): DecodedTlvs {
  const decoded = decodeTlvs(header.tlvs)
  const bad = decoded.invalid[0]
  if (bad === undefined) return decoded
  const inner = bad.error
  const offset = bad.value.byteOffset - input.byteOffset + (inner.offset ?? 0)
  const where = bad.subType === undefined ? typeHex(bad.type) : `${typeHex(bad.type)} sub-TLV ${typeHex(bad.subType)}`
  const message = `${inner.message.replace(/ \(at byte \d+\)$/, '')} in TLV ${where} (at byte ${offset})`
  throw new ProxyProtocolError(inner.code, message, { offset, cause: inner })
}
