/**
 * The JSON form of a parsed TLV. A TLV value is a view into the input (a Buffer when the input was one), and
 * JSON.stringify shows a Buffer as `{"type":"Buffer","data":[…]}`: unreadable in `res.json({ proxyHeader })`.
 * Parsed TLVs carry a `toJSON` that gives the value as hex, and as text too when it is printable UTF-8.
 */
import { SslSubType, TlvType } from './constants.js'
import type { Tlv } from './types.js'

export interface TlvJson {
  type: number
  /** The spec's (or a cloud vendor's) name for the type, when it has one: `ALPN`, `AWS`, `SSL_CN`, ... */
  name?: string
  /** The value, two lowercase hex digits per byte. */
  hex: string
  /** The value as text, when it is valid UTF-8 without control characters. */
  text?: string
}

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(TlvType).map(([n, t]) => [t, n]))
const SSL_NAMES: Record<number, string> = Object.fromEntries(Object.entries(SslSubType).map(([n, t]) => [t, `SSL_${n}`]))
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

function hexOf(value: Uint8Array): string {
  let s = ''
  for (let i = 0; i < value.length; i++) s += HEX[value[i]!]
  return s
}

function textOf(value: Uint8Array): string | undefined {
  if (value.length === 0) return undefined
  for (let i = 0; i < value.length; i++) {
    const b = value[i]!
    if (b < 0x20 || b === 0x7f) return undefined // control characters (and NUL padding) are not text
  }
  try {
    return utf8.decode(value)
  } catch {
    return undefined
  }
}

/** A TLV as JSON: `{ type, name?, hex, text? }`. `sub`: an SSL sub-TLV (§2.2.6), named `SSL_...`. */
export function tlvToJSON(tlv: Tlv, sub = false): TlvJson {
  const name = (sub ? SSL_NAMES : NAMES)[tlv.type]
  const hex = hexOf(tlv.value)
  const out: TlvJson = name === undefined ? { type: tlv.type, hex } : { type: tlv.type, name, hex }
  const text = textOf(tlv.value)
  if (text !== undefined) out.text = text
  return out
}

/** A TLV of a parsed header: a plain `{ type, value }` with a readable `toJSON`. */
export class ParsedTlv implements Tlv {
  type: number
  value: Uint8Array
  constructor(type: number, value: Uint8Array) {
    this.type = type
    this.value = value
  }
  toJSON(): TlvJson {
    return tlvToJSON(this)
  }
}

/** An SSL sub-TLV (§2.2.6) of a decoded SSL TLV, named `SSL_CN`, `SSL_VERSION`, ... in JSON. */
export class ParsedSslSubTlv extends ParsedTlv {
  override toJSON(): TlvJson {
    return tlvToJSON(this, true)
  }
}
