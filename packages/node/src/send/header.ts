/**
 * What a sender says in its header: `proxyHeader` as users give it (a whole core `HeaderInput`, or the
 * `{ source, destination?, tlvs? }` shorthand), checked once and turned into bytes when the connection's
 * real destination is known. Every sender (connect, the Agent, the undici connector, the CLI relay) goes
 * through here, so there is one rule for families and one for errors.
 */
import net from 'node:net'
import { encode, ErrorCodes, type HeaderInput, ProxyProtocolError, type Tlv } from '@proxyproto/core'

/** `'203.0.113.7:51234'`, `'[2001:db8::7]:51234'`, or `{ address, port }`. */
export type EndpointInput = string | { address: string; port: number }

/** The short form: the client, and optionally the destination (default: the address the socket connects to). */
export interface ProxyHeaderShorthand {
  /** Default 2. */
  version?: 1 | 2
  source: EndpointInput
  destination?: EndpointInput
  /** v2 only; written in this order. */
  tlvs?: readonly Tlv[]
  /** v2 only: append a CRC32C TLV (spec §2.2.3). */
  crc32c?: boolean
}

/** A whole header as core's `encode` takes it (recognised by its `family` or `command` field). */
export type FullHeaderInput = HeaderInput & { crc32c?: boolean }

export type ProxyHeaderInput = FullHeaderInput | ProxyHeaderShorthand

/** Where the socket is connected: fills in a shorthand's missing destination. */
export interface ConnectedTo {
  address: string
  port: number
}

/** A checked header: its pool key now, its bytes once the connection's destination is known. */
export interface PreparedHeader {
  /** Equal keys give equal bytes on connections to one host:port (what keep-alive pooling needs). */
  readonly key: string
  build(connected: ConnectedTo): Uint8Array
}

const invalid = (message: string, cause?: unknown): ProxyProtocolError =>
  new ProxyProtocolError(ErrorCodes.ENCODE_INVALID, message, cause === undefined ? {} : { cause })

const MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i

/** The IPv4 form of an address that is IPv4 or IPv4-mapped IPv6; undefined otherwise. */
function ipv4Of(address: string): string | undefined {
  if (net.isIPv4(address)) return address
  return MAPPED.exec(address)?.[1]
}

// Zone ids (fe80::1%eth0) name an interface on this host; they mean nothing to the receiver.
const stripZone = (address: string): string => address.replace(/%.*$/, '')

/**
 * `address:port`, `[v6]:port`, or `{ address, port }`. With `defaultPort`, a bare address is allowed too
 * (the testing helper's `client: '203.0.113.7'`).
 */
export function parseEndpoint(input: unknown, which: string, defaultPort?: number): ConnectedTo {
  if (input !== null && typeof input === 'object') {
    const { address, port } = input as { address?: unknown; port?: unknown }
    if (typeof address !== 'string' || net.isIP(stripZone(address)) === 0)
      throw invalid(`${which} address ${JSON.stringify(address)} is not an IP address`)
    if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535)
      throw invalid(`${which} port must be an integer 0-65535`)
    return { address: stripZone(address), port: port as number }
  }
  if (typeof input !== 'string')
    throw invalid(`${which} must be 'address:port', '[v6]:port' or { address, port }`)
  if (defaultPort !== undefined && net.isIP(input) !== 0) return { address: input, port: defaultPort }
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(input)
  if (!m) throw invalid(`${which} ${JSON.stringify(input)} is not 'address:port' or '[v6]:port'`)
  return parseEndpoint({ address: m[1] ?? m[2], port: Number(m[3]) }, which)
}

/**
 * One family for both ends (a v1 line cannot mix them, and a v2 block holds one): IPv4 when both are
 * IPv4 or IPv4-mapped; otherwise IPv6, with an IPv4 end written as `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2),
 * as HAProxy does for an IPv4 client reaching an IPv6 listener.
 */
export function commonFamily(
  source: ConnectedTo,
  destination: ConnectedTo,
): { family: 'IPv4' | 'IPv6'; source: ConnectedTo; destination: ConnectedTo } {
  const s = stripZone(source.address)
  const d = stripZone(destination.address)
  const s4 = ipv4Of(s)
  const d4 = ipv4Of(d)
  if (s4 && d4)
    return {
      family: 'IPv4',
      source: { address: s4, port: source.port },
      destination: { address: d4, port: destination.port },
    }
  return {
    family: 'IPv6',
    source: { address: s4 ? `::ffff:${s4}` : s, port: source.port },
    destination: { address: d4 ? `::ffff:${d4}` : d, port: destination.port },
  }
}

const hex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')

function encodeChecked(header: HeaderInput, crc32c: boolean): Uint8Array {
  return encode(header, crc32c ? { crc32c: true } : {})
}

/**
 * Checks `input` and returns how to build its bytes. Throws ERR_PROXY_ENCODE_INVALID for anything that
 * would not encode, so a sender fails before it opens a socket rather than sending garbage.
 */
export function prepareHeader(input: unknown): PreparedHeader {
  if (input === null || typeof input !== 'object')
    throw invalid('proxyHeader must be an object: { source, destination?, tlvs? } or a HeaderInput')
  const crc32c = (input as { crc32c?: unknown }).crc32c
  if (crc32c !== undefined && typeof crc32c !== 'boolean')
    throw invalid('proxyHeader.crc32c must be a boolean')
  if ('family' in input || 'command' in input) {
    const { crc32c: _, ...header } = input as FullHeaderInput
    const bytes = encodeChecked(header, crc32c === true)
    return { key: hex(bytes), build: () => bytes }
  }
  const short = input as ProxyHeaderShorthand
  const version = short.version ?? 2
  if (version !== 1 && version !== 2) throw invalid('proxyHeader.version must be 1 or 2')
  const source = parseEndpoint(short.source, 'proxyHeader.source')
  const tlvs = short.tlvs ?? []
  const make = (destination: ConnectedTo): Uint8Array =>
    encodeChecked(
      { version, command: 'PROXY', transport: 'STREAM', ...commonFamily(source, destination), tlvs },
      crc32c === true,
    )
  if (short.destination !== undefined) {
    const bytes = make(parseEndpoint(short.destination, 'proxyHeader.destination'))
    return { key: hex(bytes), build: () => bytes }
  }
  // Checked now with a stand-in destination of the source's family: what can still vary is only the
  // destination, which always comes from a connected socket (a valid address of either family).
  const standIn = make({ address: ipv4Of(source.address) ? '0.0.0.0' : '::', port: 0 })
  return { key: `${hex(standIn)}@connected`, build: make }
}

/**
 * A `proxyHeader` option that may be a function of the request: calls it and prepares what it returns.
 * A function that throws fails the same way as bad input.
 */
export function resolveHeader<A>(
  input: ProxyHeaderInput | ((arg: A) => ProxyHeaderInput) | undefined,
  arg: A,
): PreparedHeader {
  if (input === undefined) throw invalid('proxyHeader is required: { source: "203.0.113.7:51234" }')
  if (typeof input !== 'function') return prepareHeader(input)
  let value: unknown
  try {
    value = input(arg)
  } catch (err) {
    if (err instanceof ProxyProtocolError) throw err
    throw invalid(`the proxyHeader function threw: ${(err as Error)?.message ?? String(err)}`, err)
  }
  return prepareHeader(value)
}
