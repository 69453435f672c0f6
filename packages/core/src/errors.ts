/**
 * Every failure in proxyproto is a ProxyProtocolError with a stable string `code`.
 * The codes are listed, with their meaning, in docs/errors.md (a test keeps the two in step).
 */
export const ErrorCodes = {
  // input that can never be a PROXY header (spec §2.1, §2.2)
  HEADER_TOO_LARGE: 'ERR_PROXY_HEADER_TOO_LARGE',
  VERSION_NOT_ALLOWED: 'ERR_PROXY_VERSION_NOT_ALLOWED',
  V1_TOO_LONG: 'ERR_PROXY_V1_TOO_LONG',
  V1_SYNTAX: 'ERR_PROXY_V1_SYNTAX',
  V1_BAD_PROTOCOL: 'ERR_PROXY_V1_BAD_PROTOCOL',
  V1_BAD_ADDRESS: 'ERR_PROXY_V1_BAD_ADDRESS',
  V1_BAD_PORT: 'ERR_PROXY_V1_BAD_PORT',
  V2_BAD_VERSION: 'ERR_PROXY_V2_BAD_VERSION',
  V2_BAD_COMMAND: 'ERR_PROXY_V2_BAD_COMMAND',
  V2_BAD_FAMILY: 'ERR_PROXY_V2_BAD_FAMILY',
  V2_LENGTH_TOO_SHORT: 'ERR_PROXY_V2_LENGTH_TOO_SHORT',
  V2_TLV_TRUNCATED: 'ERR_PROXY_V2_TLV_TRUNCATED',
  V2_BAD_UNIX_PATH: 'ERR_PROXY_V2_BAD_UNIX_PATH',
  CRC32C_MISMATCH: 'ERR_PROXY_CRC32C_MISMATCH',
  CRC32C_INVALID: 'ERR_PROXY_CRC32C_INVALID',
  TLV_INVALID: 'ERR_PROXY_TLV_INVALID',
  // datagrams (Simple Proxy Protocol, PROXY v2 over UDP)
  SPP_TRUNCATED: 'ERR_PROXY_SPP_TRUNCATED',
  // encoder and options
  ENCODE_INVALID: 'ERR_PROXY_ENCODE_INVALID',
  INVALID_OPTION: 'ERR_PROXY_INVALID_OPTION',
  INVALID_INPUT: 'ERR_PROXY_INVALID_INPUT',
  INPUT_INCOMPLETE: 'ERR_PROXY_INPUT_INCOMPLETE',
  // connection-level failures (@proxyproto/node)
  UNTRUSTED_PEER: 'ERR_PROXY_UNTRUSTED_PEER',
  HEADER_MISSING: 'ERR_PROXY_HEADER_MISSING',
  HEADER_TIMEOUT: 'ERR_PROXY_HEADER_TIMEOUT',
  CONNECTION_CLOSED: 'ERR_PROXY_CONNECTION_CLOSED',
  NO_PEER_ADDRESS: 'ERR_PROXY_NO_PEER_ADDRESS',
  REJECTED: 'ERR_PROXY_REJECTED',
  UNSUPPORTED_SERVER: 'ERR_PROXY_UNSUPPORTED_SERVER',
  TOO_MANY_PENDING: 'ERR_PROXY_TOO_MANY_PENDING',
  // datagram sockets (@proxyproto/node)
  DATAGRAM_TRUNCATED: 'ERR_PROXY_DATAGRAM_TRUNCATED',
  TRANSPORT_MISMATCH: 'ERR_PROXY_TRANSPORT_MISMATCH',
  FLOW_UNKNOWN: 'ERR_PROXY_FLOW_UNKNOWN',
  FLOW_EXPIRED: 'ERR_PROXY_FLOW_EXPIRED',
  // framework adapters
  SERVER_NOT_PREPARED: 'ERR_PROXY_SERVER_NOT_PREPARED',
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

// Branded with a registry symbol (as undici does) so `instanceof` holds across two installed copies.
const kBrand = Symbol.for('proxyproto.error')

export interface ProxyProtocolErrorOptions {
  /** Byte offset in the input where the problem was found (parse errors). */
  offset?: number
  cause?: unknown
}

export class ProxyProtocolError extends Error {
  readonly code: ErrorCode
  readonly offset: number | undefined

  constructor(code: ErrorCode, message: string, options: ProxyProtocolErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'ProxyProtocolError'
    this.code = code
    this.offset = options.offset
    Object.defineProperty(this, kBrand, { value: true })
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kBrand] === true
  }
}

export function isProxyProtocolError(value: unknown): value is ProxyProtocolError {
  return value instanceof ProxyProtocolError
}

/** @internal */
export function fail(code: ErrorCode, message: string, offset?: number): never {
  throw new ProxyProtocolError(code, offset === undefined ? message : `${message} (at byte ${offset})`, {
    offset,
  })
}
