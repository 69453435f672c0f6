import { describe, expect, it } from 'vitest'
import { decodeSsl, encode, parse, tlv, tlvToJSON, TlvType } from '../src/index.js'

const raw = (type: number, value: Uint8Array | string) => ({ type, value: typeof value === 'string' ? Buffer.from(value) : value })
const header = (tlvs: Array<{ type: number; value: Uint8Array }>) => {
  const bytes = encode({
    version: 2,
    family: 'IPv4',
    source: { address: '203.0.113.7', port: 51234 },
    destination: { address: '10.0.0.1', port: 443 },
    tlvs,
  })
  const r = parse(Buffer.from(bytes))
  if (r.status !== 'complete') throw new Error(`expected a complete header, got ${r.status}`)
  return r.header
}

describe('the JSON form of a parsed header', () => {
  it('shows a text TLV value as hex and text, not as a Buffer byte array', () => {
    const json = JSON.parse(JSON.stringify({ proxyHeader: header([tlv.authority('example.com')]) }))
    expect(json.proxyHeader.tlvs).toEqual([{ type: 2, name: 'AUTHORITY', hex: '6578616d706c652e636f6d', text: 'example.com' }])
    expect(JSON.stringify(json)).not.toContain('"Buffer"')
  })

  it('shows a binary value (control bytes, invalid UTF-8) as hex only, and an unnamed type without a name', () => {
    const h = header([raw(0xe5, new Uint8Array([0x00, 0xff, 0x0a])), raw(TlvType.UNIQUE_ID, new Uint8Array([0xc3, 0x28]))])
    expect(JSON.parse(JSON.stringify(h.tlvs))).toEqual([
      { type: 0xe5, hex: '00ff0a' },
      { type: 5, name: 'UNIQUE_ID', hex: 'c328' },
    ])
  })

  it('keeps the fields a handler reads: type and the value bytes', () => {
    const [t] = header([tlv.alpn('h2')]).tlvs
    expect(t?.type).toBe(1)
    expect(Buffer.from(t?.value ?? []).toString()).toBe('h2')
  })

  it('names SSL sub-TLVs SSL_...', () => {
    // client 0x01 (SSL), verify 0, then PP2_SUBTYPE_SSL_VERSION (0x21), length 7, "TLSv1.3"
    const ssl = decodeSsl(Buffer.from('0100000000210007544c5376312e33', 'hex'))
    expect(JSON.parse(JSON.stringify(ssl.tlvs))).toEqual([{ type: 0x21, name: 'SSL_VERSION', hex: '544c5376312e33', text: 'TLSv1.3' }])
  })

  it('tlvToJSON gives the same form for a TLV built by hand', () => {
    expect(tlvToJSON({ type: 0x01, value: new Uint8Array([0x68, 0x32]) })).toEqual({ type: 1, name: 'ALPN', hex: '6832', text: 'h2' })
  })
})
