/** The JSON shape of a header and its TLVs, shared by `decode` and `echo`. */
import {
  type DecodedTlvs,
  decodeTlvs,
  isProxyProtocolError,
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
 * decodeTlvs, with the error's offset made absolute in `input` (TLV values are views into it):
 * a bad TLV value is reported at the byte where the problem is, like any other parse error.
 */
export function decodeTlvsIn(header: ProxyHeader, input: Uint8Array): DecodedTlvs {
  try {
    return decodeTlvs(header.tlvs)
  } catch (err) {
    if (!isProxyProtocolError(err)) throw err
    const decoded = new Set<number>()
    for (const t of header.tlvs) {
      if (decoded.has(t.type)) continue // decodeTlvs keeps the first of a type and skips the rest
      try {
        decodeTlvs([t])
        decoded.add(t.type)
      } catch (inner) {
        if (!isProxyProtocolError(inner)) throw inner
        const start = t.value.byteOffset - input.byteOffset
        const offset = start + (inner.offset ?? 0)
        const message = `${inner.message.replace(/ \(at byte \d+\)$/, '')} in TLV ${typeHex(t.type)} (at byte ${offset})`
        throw new ProxyProtocolError(inner.code, message, { offset, cause: inner })
      }
    }
    throw err
  }
}
