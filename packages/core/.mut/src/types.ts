export type Family = 'IPv4' | 'IPv6' | 'UNIX' | 'UNSPEC'
export type Transport = 'STREAM' | 'DGRAM' | 'UNSPEC'
export type Command = 'PROXY' | 'LOCAL'

export interface InetAddress {
  /** Formatted exactly as Node formats `socket.remoteAddress`. */
  address: string
  port: number
}
export interface UnixAddress {
  path: string
}
export type Endpoint = InetAddress | UnixAddress

export interface Tlv {
  type: number
  /** A view into the parsed input (no copy). */
  value: Uint8Array
}

export interface ProxyHeader {
  version: 1 | 2
  command: Command
  family: Family
  transport: Transport
  source?: Endpoint
  destination?: Endpoint
  /** Raw TLVs in wire order (v2; always [] for v1 and for LOCAL). */
  tlvs: Tlv[]
}

export type ParseResult =
  | { status: 'complete'; header: ProxyHeader; length: number }
  | { status: 'incomplete' }
  | { status: 'absent' }

export interface ParseOptions {
  /** Largest header accepted, in bytes. Default 4096; at most 16 + 65535. */
  maxHeaderSize?: number
  /** Versions accepted. Default [1, 2]. */
  versions?: ReadonlyArray<1 | 2>
  /** Verify a CRC32C TLV when one is present (spec §2.2.3 says MUST). Default true. */
  verifyChecksum?: boolean
}

export interface EncodeOptions {
  /** v2 only: append a CRC32C TLV computed over the whole header. */
  crc32c?: boolean
  /** v2 only: pad the header with a NOOP TLV to at least this many bytes in total. */
  padTo?: number
}
