import { createParser, DEFAULT_MAX_HEADER_SIZE, ErrorCodes, type ParseOptions, type Parser, type ProxyHeader, ProxyProtocolError } from '@proxyproto/core'
import type { Socket } from 'node:net'
import { compileTrust, type TrustFunction, type TrustInput } from './trust.js'

export interface ProxyProtocolOptions {
  /** Peers allowed to send a header: addresses, CIDRs, 'loopback', 'private', 'linklocal', 'uniquelocal', or a function. Default ['loopback', 'private']. */
  trust?: TrustInput
  /** What to do with a peer that is not trusted: 'refuse' (close it, the default) or 'direct' (serve it as a plain connection; any header it sends is application data). */
  untrusted?: 'refuse' | 'direct'
  /** 'require' (default): a trusted peer must send a header. 'optional': detect one by its exact signature (a migration aid; see docs/security.md). */
  mode?: 'require' | 'optional'
  /** Milliseconds a trusted peer has to send the whole header. Default 5000. */
  headerTimeout?: number
  /** Largest header accepted in bytes. Default 4096 (v1 is never more than 107). */
  maxHeaderSize?: number
  /** Accepted versions. Default [1, 2]. */
  versions?: ReadonlyArray<1 | 2>
  /** Verify a v2 CRC32C TLV when present. Default true. */
  verifyChecksum?: boolean
  /**
   * Most connections from trusted peers that may wait for their header at once; beyond it a new one is
   * refused at once with ERR_PROXY_TOO_MANY_PENDING. Bounds the memory a connect-and-wait flood can hold
   * (headerTimeout bounds only how long). Peers served with untrusted: 'direct' never count. Default 10000.
   */
  maxPending?: number
  /**
   * A trusted peer that closes without sending a byte before headerTimeout is a TCP health check (AWS NLB,
   * GCP, Kubernetes): counted in stats.healthChecks and not reported. true restores the old reporting, as
   * ERR_PROXY_CONNECTION_CLOSED refusals. Default false.
   */
  reportHealthChecks?: boolean
  /** Called with each parsed header before the connection is handed on; return false (or a promise of false), or throw, to refuse it. */
  onHeader?: (header: ProxyHeader, socket: Socket) => boolean | undefined | void | Promise<boolean | undefined | void>
}

export interface ResolvedOptions {
  trust: TrustFunction
  untrusted: 'refuse' | 'direct'
  mode: 'require' | 'optional'
  headerTimeout: number
  parse: ParseOptions
  /** The header parser with `parse` compiled in, once per server. */
  parser: Parser
  onHeader: ProxyProtocolOptions['onHeader'] | undefined
  maxPending: number
  reportHealthChecks: boolean
}

export const DEFAULT_HEADER_TIMEOUT = 5000
/**
 * A balancer's header arrives with its first packet, so a connection is pending for about one event-loop
 * turn; 10000 leaves room for a burst accepted during a long stall, and caps a flood at roughly 10000
 * sockets' worth of memory (measured: docs/security.md).
 */
export const DEFAULT_MAX_PENDING = 10_000
const KNOWN = new Set([
  'trust',
  'untrusted',
  'mode',
  'headerTimeout',
  'maxHeaderSize',
  'versions',
  'verifyChecksum',
  'onHeader',
  'maxPending',
  'reportHealthChecks',
])

function invalid(message: string): never {
  throw new ProxyProtocolError(ErrorCodes.INVALID_OPTION, message)
}

/** Validates options once, when the server is prepared; the message names the option. */
export function resolveOptions(options: ProxyProtocolOptions = {}): ResolvedOptions {
  if (options === null || typeof options !== 'object') invalid('options must be an object')
  for (const key of Object.keys(options)) if (!KNOWN.has(key)) invalid(`unknown option ${JSON.stringify(key)}`)
  const { untrusted = 'refuse', mode = 'require', headerTimeout = DEFAULT_HEADER_TIMEOUT, onHeader } = options
  if (untrusted !== 'refuse' && untrusted !== 'direct') invalid(`untrusted must be 'refuse' or 'direct'`)
  if (mode !== 'require' && mode !== 'optional') invalid(`mode must be 'require' or 'optional'`)
  if (typeof headerTimeout !== 'number' || !(headerTimeout > 0) || headerTimeout > 2 ** 31 - 1) invalid('headerTimeout must be a positive number of milliseconds')
  if (onHeader !== undefined && typeof onHeader !== 'function') invalid('onHeader must be a function')
  const { maxPending = DEFAULT_MAX_PENDING, reportHealthChecks = false } = options
  if (!Number.isInteger(maxPending) || maxPending < 1) invalid('maxPending must be a positive integer')
  if (typeof reportHealthChecks !== 'boolean') invalid('reportHealthChecks must be a boolean')
  const parse: ParseOptions = {
    maxHeaderSize: options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE,
    versions: options.versions ?? [1, 2],
    verifyChecksum: options.verifyChecksum ?? true,
  }
  let parser: Parser
  try {
    parser = createParser(parse)
  } catch (err) {
    invalid((err as Error).message)
  }
  return { trust: compileTrust(options.trust), untrusted, mode, headerTimeout, parse, parser, onHeader, maxPending, reportHealthChecks }
}

/** Throws ERR_PROXY_INVALID_OPTION (naming the option) when `options` would be refused by withProxyProtocol. */
export function validateProxyProtocolOptions(options?: ProxyProtocolOptions): void {
  resolveOptions(options)
}
