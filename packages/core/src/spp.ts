/**
 * Cloudflare's Simple Proxy Protocol (SPP), the fixed 38-byte header Spectrum (and Tencent EdgeOne)
 * put in front of every proxied UDP datagram. Reference: "Simple Proxy Protocol Header",
 * https://developers.cloudflare.com/spectrum/reference/simple-proxy-protocol-header/ :
 *
 *   0  magic 0x56EC            2  client address (16 bytes)   18 proxy address (16 bytes)
 *   34 client port             36 proxy port                  38 payload
 *
 * Network byte order throughout; an IPv4 address travels IPv4-mapped (RFC 4291 §2.5.5.2, ::ffff:a.b.c.d)
 * and is reported here as plain IPv4, the way the socket of a direct IPv4 client would report it.
 * SPP has no version, command, length or checksum: a datagram either starts with the magic and has at
 * least 38 bytes, or it carries no SPP header. Pure and synchronous, like parse().
 */
import { formatIPv4, formatIPv6, writeIPv4Text, writeIPv6Text } from './address.js'
import { ErrorCodes, fail } from './errors.js'
import type { InetAddress } from './types.js'

/** The 16-bit magic number, spec field "Magic Number". */
export const SPP_MAGIC = 0x56ec
/** Every SPP header is exactly this long. */
export const SPP_HEADER_LENGTH = 38

export interface SppEndpoint extends InetAddress {
  family: 'IPv4' | 'IPv6'
}

/**
 * A parsed SPP header, shaped like a v2 header so that code reading `source`/`destination` works on both:
 * `source` is the client (the datagram's originator), `destination` the proxy that received it.
 */
export interface SppHeader {
  version: 'spp'
  command: 'PROXY'
  /** The client's family. */
  family: 'IPv4' | 'IPv6'
  transport: 'DGRAM'
  source: SppEndpoint
  destination: SppEndpoint
}

export type SppParseResult =
  | { status: 'complete'; header: SppHeader; length: typeof SPP_HEADER_LENGTH }
  | { status: 'absent' }

/** An endpoint to encode: an IPv4 or IPv6 address in text and a port. */
export interface SppEndpointInput {
  address: string
  port: number
}

const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]

function isMapped(b: Uint8Array, at: number): boolean {
  for (let i = 0; i < 12; i++) if (b[at + i] !== MAPPED_PREFIX[i]) return false
  return true
}

function endpoint(b: Uint8Array, at: number, portAt: number): SppEndpoint {
  const port = (b[portAt]! << 8) | b[portAt + 1]!
  if (isMapped(b, at)) return { address: formatIPv4(b, at + 12), port, family: 'IPv4' }
  return { address: formatIPv6(b, at), port, family: 'IPv6' }
}

/**
 * Reads the SPP header at the start of `datagram` (one whole datagram: there is no "need more bytes").
 * - complete: `header`, and `length` (always 38); the payload is `datagram.subarray(38)`.
 * - absent: the datagram does not start with the SPP magic.
 * Throws ERR_PROXY_SPP_TRUNCATED when it starts with the magic but is shorter than 38 bytes.
 */
export function parseSpp(datagram: Uint8Array): SppParseResult {
  if (!(datagram instanceof Uint8Array))
    fail(ErrorCodes.INVALID_INPUT, 'parseSpp input must be a Uint8Array or Buffer')
  if (datagram.length < 2 || datagram[0] !== SPP_MAGIC >> 8 || datagram[1] !== (SPP_MAGIC & 0xff)) {
    // A lone first byte 0x56 cannot be told apart from a payload starting with 'V': absent.
    return ABSENT
  }
  if (datagram.length < SPP_HEADER_LENGTH) {
    fail(
      ErrorCodes.SPP_TRUNCATED,
      `SPP header needs ${SPP_HEADER_LENGTH} bytes, the datagram has ${datagram.length}`,
      datagram.length,
    )
  }
  const source = endpoint(datagram, 2, 34)
  const destination = endpoint(datagram, 18, 36)
  return {
    status: 'complete',
    header: {
      version: 'spp',
      command: 'PROXY',
      family: source.family,
      transport: 'DGRAM',
      source,
      destination,
    },
    length: SPP_HEADER_LENGTH,
  }
}

const ABSENT: SppParseResult = Object.freeze({ status: 'absent' }) as SppParseResult

function writeEndpoint(out: Uint8Array, at: number, portAt: number, e: SppEndpointInput, name: string): void {
  if (e === null || typeof e !== 'object')
    fail(ErrorCodes.ENCODE_INVALID, `SPP ${name} must be { address, port }`)
  const { address, port } = e
  if (typeof address !== 'string') fail(ErrorCodes.ENCODE_INVALID, `SPP ${name} address must be a string`)
  if (!Number.isInteger(port) || port < 0 || port > 0xffff)
    fail(ErrorCodes.ENCODE_INVALID, `SPP ${name} port must be an integer from 0 to 65535`)
  if (writeIPv4Text(address, out, at + 12)) {
    for (let i = 0; i < 12; i++) out[at + i] = MAPPED_PREFIX[i]!
  } else if (!writeIPv6Text(address, out, at)) {
    fail(
      ErrorCodes.ENCODE_INVALID,
      `SPP ${name} address ${JSON.stringify(address)} is not an IPv4 or IPv6 address`,
    )
  }
  out[portAt] = port >> 8
  out[portAt + 1] = port & 0xff
}

/**
 * The 38-byte SPP header for a datagram from `client` received by the proxy at `proxy`.
 * IPv4 addresses are written IPv4-mapped; the two may be of different families.
 * Throws ERR_PROXY_ENCODE_INVALID naming the bad field.
 */
export function encodeSpp(client: SppEndpointInput, proxy: SppEndpointInput): Uint8Array {
  const out = new Uint8Array(SPP_HEADER_LENGTH)
  out[0] = SPP_MAGIC >> 8
  out[1] = SPP_MAGIC & 0xff
  writeEndpoint(out, 2, 34, client, 'client')
  writeEndpoint(out, 18, 36, proxy, 'proxy')
  return out
}
