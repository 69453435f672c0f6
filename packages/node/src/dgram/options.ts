/**
 * Options of withProxyProtocol for a dgram.Socket: the TCP vocabulary (trust, untrusted, mode, onHeader,
 * maxHeaderSize, verifyChecksum) plus `framing` and the flow table's bounds. Options that mean nothing
 * for datagrams are refused by name rather than ignored.
 */
import type { RemoteInfo } from 'node:dgram'
import {
  DEFAULT_MAX_HEADER_SIZE,
  ErrorCodes,
  type ParseOptions,
  type ProxyHeader,
  ProxyProtocolError,
  resolveParseOptions,
  type SppHeader,
} from '@proxyproto/core'
import { compileTrust, type TrustFunction, type TrustInput } from '../trust.js'

/**
 * How the balancer frames datagrams:
 * - 'v2': a PROXY v2 header in front of every datagram (dnsdist, caddy-l4, AWS NLB UDP).
 * - 'v2-first': a v2 header on the first datagram of a flow only; later datagrams of the flow arrive bare
 *   from the same proxy address and port (Cloudflare Spectrum with PROXY v2 on UDP).
 * - 'spp': Cloudflare's 38-byte Simple Proxy Protocol header on every datagram (Spectrum, Tencent EdgeOne).
 */
export type Framing = 'v2' | 'v2-first' | 'spp'

/** A datagram's header: PROXY v2 or SPP (both have command, family, source and destination). */
export type DatagramHeader = ProxyHeader | SppHeader

export interface DatagramProxyProtocolOptions {
  /** Peers allowed to send a header: addresses, CIDRs, 'loopback', 'private', 'linklocal', 'uniquelocal', or a function. Default ['loopback', 'private']. */
  trust?: TrustInput
  /** A datagram from a peer that is not trusted: 'refuse' (drop it, the default) or 'direct' (deliver it as it came; any header in it is payload). */
  untrusted?: 'refuse' | 'direct'
  /** 'require' (default): every datagram from a trusted peer needs a header (or, with 'v2-first', a live flow). 'optional': deliver it as it came otherwise. Not with 'spp'. */
  mode?: 'require' | 'optional'
  /** How the balancer frames datagrams. Default 'v2'. */
  framing?: Framing
  /** Largest v2 header accepted in bytes. Default 4096. */
  maxHeaderSize?: number
  /** Only [2] is meaningful for datagrams (v1 is a TCP text line); anything else is refused. */
  versions?: ReadonlyArray<1 | 2>
  /** Verify a v2 CRC32C TLV when present. Default true. */
  verifyChecksum?: boolean
  /** Milliseconds a flow (client → proxy route for replies) lives after its last datagram. Default 120000. */
  flowTtl?: number
  /** Most flows kept; the least recently used goes first. Default 65536. */
  maxFlows?: number
  /** Called with each datagram's header (with 'v2-first', each flow's first); return false (or a promise of false), or throw, to drop it. */
  onHeader?: (
    header: DatagramHeader,
    rinfo: RemoteInfo,
  ) => boolean | undefined | void | Promise<boolean | undefined | void>
}

export interface ResolvedDatagramOptions {
  trust: TrustFunction
  untrusted: 'refuse' | 'direct'
  mode: 'require' | 'optional'
  framing: Framing
  parse: ParseOptions
  flowTtl: number
  maxFlows: number
  onHeader: DatagramProxyProtocolOptions['onHeader'] | undefined
}

export const DEFAULT_FLOW_TTL = 120_000
export const DEFAULT_MAX_FLOWS = 65_536

const KNOWN = new Set([
  'trust',
  'untrusted',
  'mode',
  'framing',
  'maxHeaderSize',
  'versions',
  'verifyChecksum',
  'flowTtl',
  'maxFlows',
  'onHeader',
])
/** TCP options with no meaning for datagrams: named in the error instead of "unknown option". */
const STREAM_ONLY: Record<string, string> = {
  headerTimeout: 'a datagram is whole: there is no header to wait for',
  maxPending: 'no datagram waits for its header; maxFlows bounds the flow table',
  reportHealthChecks: 'a datagram health check is a LOCAL header, counted in stats.local',
}

function invalid(message: string): never {
  throw new ProxyProtocolError(ErrorCodes.INVALID_OPTION, message)
}

export function resolveDatagramOptions(options: DatagramProxyProtocolOptions = {}): ResolvedDatagramOptions {
  if (options === null || typeof options !== 'object') invalid('options must be an object')
  for (const key of Object.keys(options)) {
    if (STREAM_ONLY[key]) invalid(`${key} does not apply to a dgram socket (${STREAM_ONLY[key]})`)
    if (!KNOWN.has(key)) invalid(`unknown option ${JSON.stringify(key)}`)
  }
  const {
    untrusted = 'refuse',
    mode = 'require',
    framing = 'v2',
    flowTtl = DEFAULT_FLOW_TTL,
    maxFlows = DEFAULT_MAX_FLOWS,
    onHeader,
  } = options
  if (untrusted !== 'refuse' && untrusted !== 'direct') invalid(`untrusted must be 'refuse' or 'direct'`)
  if (mode !== 'require' && mode !== 'optional') invalid(`mode must be 'require' or 'optional'`)
  if (framing !== 'v2' && framing !== 'v2-first' && framing !== 'spp')
    invalid(`framing must be 'v2', 'v2-first' or 'spp'`)
  // SPP's only signature is 2 bytes (0x56EC): any payload may start with them, so "detect if present" would
  // let a client's payload pass as a header (or hide a real one).
  if (framing === 'spp' && mode === 'optional')
    invalid(`mode 'optional' cannot be used with framing 'spp': its 2-byte magic can start any payload`)
  const { versions } = options
  if (versions !== undefined && (!Array.isArray(versions) || versions.length !== 1 || versions[0] !== 2)) {
    invalid('versions: only [2] applies to a dgram socket (PROXY v1 is a TCP text line)')
  }
  if (typeof flowTtl !== 'number' || !(flowTtl > 0) || flowTtl > 2 ** 31 - 1)
    invalid('flowTtl must be a positive number of milliseconds')
  if (!Number.isInteger(maxFlows) || maxFlows < 1) invalid('maxFlows must be a positive integer')
  if (onHeader !== undefined && typeof onHeader !== 'function') invalid('onHeader must be a function')
  const parse: ParseOptions = {
    maxHeaderSize: options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE,
    versions: [2],
    verifyChecksum: options.verifyChecksum ?? true,
  }
  try {
    resolveParseOptions(parse)
  } catch (err) {
    invalid((err as Error).message)
  }
  return { trust: compileTrust(options.trust), untrusted, mode, framing, parse, flowTtl, maxFlows, onHeader }
}
