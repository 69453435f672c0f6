import { DEFAULT_MAX_HEADER_SIZE, MAX_HEADER_SIZE_LIMIT, V1_PREFIX, V2_SIGNATURE } from './constants.js'
import { ErrorCodes, fail } from './errors.js'
import { parseV1 } from './parse-v1.js'
import { parseV2 } from './parse-v2.js'
import type { ParseOptions, ParseResult } from './types.js'

const INCOMPLETE: ParseResult = Object.freeze({ status: 'incomplete' }) as ParseResult
const ABSENT: ParseResult = Object.freeze({ status: 'absent' }) as ParseResult

interface Resolved {
  maxHeaderSize: number
  v1: boolean
  v2: boolean
  verifyChecksum: boolean
}
const DEFAULTS: Resolved = { maxHeaderSize: DEFAULT_MAX_HEADER_SIZE, v1: true, v2: true, verifyChecksum: true }

/** A validated options object: what it held then (a change is seen and validated again), and the result. */
interface Cached {
  maxHeaderSize: unknown
  versions: unknown
  /** A copy of `versions`: the array may be changed in place. */
  copy: readonly unknown[]
  verifyChecksum: unknown
  resolved: Resolved
}
// Servers pass the same options object for every connection: validate it once, not per parse.
const resolvedCache = new WeakMap<ParseOptions, Cached>()

function unchanged(options: ParseOptions, c: Cached): boolean {
  const v = options.versions
  if (options.maxHeaderSize !== c.maxHeaderSize || options.verifyChecksum !== c.verifyChecksum || v !== c.versions) return false
  if (v === undefined) return true
  if (v.length !== c.copy.length) return false
  for (let i = 0; i < v.length; i++) if (v[i] !== c.copy[i]) return false
  return true
}

/** Validates parse options; throws ERR_PROXY_INVALID_OPTION naming the option. */
export function resolveParseOptions(options: ParseOptions | undefined): Resolved {
  if (options === undefined) return DEFAULTS
  if (options === null || typeof options !== 'object') fail(ErrorCodes.INVALID_OPTION, 'parse options must be an object')
  const cached = resolvedCache.get(options)
  if (cached && unchanged(options, cached)) return cached.resolved
  const { maxHeaderSize = DEFAULT_MAX_HEADER_SIZE, versions = [1, 2], verifyChecksum = true } = options
  if (!Number.isInteger(maxHeaderSize) || maxHeaderSize < 16 || maxHeaderSize > MAX_HEADER_SIZE_LIMIT) {
    fail(ErrorCodes.INVALID_OPTION, `maxHeaderSize must be an integer from 16 to ${MAX_HEADER_SIZE_LIMIT}`)
  }
  if (!Array.isArray(versions) || versions.length === 0 || versions.some((v) => v !== 1 && v !== 2)) {
    fail(ErrorCodes.INVALID_OPTION, 'versions must be a non-empty array of 1 and/or 2')
  }
  if (typeof verifyChecksum !== 'boolean') fail(ErrorCodes.INVALID_OPTION, 'verifyChecksum must be a boolean')
  const resolved = { maxHeaderSize, v1: versions.includes(1), v2: versions.includes(2), verifyChecksum }
  resolvedCache.set(options, {
    maxHeaderSize: options.maxHeaderSize,
    versions: options.versions,
    copy: options.versions === undefined ? [] : [...options.versions],
    verifyChecksum: options.verifyChecksum,
    resolved,
  })
  return resolved
}

function prefixOf(b: Uint8Array, sig: Uint8Array): boolean {
  const k = b.length < sig.length ? b.length : sig.length
  for (let i = 0; i < k; i++) if (b[i] !== sig[i]) return false
  return true
}

/**
 * Parses the PROXY header at the start of `input` (a stream's first bytes, as many as have arrived).
 * - complete: `header` and `length`, the bytes it occupies; everything after is application data.
 * - incomplete: a valid prefix of a header; call again with more bytes.
 * - absent: these bytes can never start a PROXY header (of an allowed version).
 * Malformed input throws ProxyProtocolError.
 */
export function parse(input: Uint8Array, options?: ParseOptions): ParseResult {
  const o = resolveParseOptions(options)
  if (!(input instanceof Uint8Array)) fail(ErrorCodes.INVALID_INPUT, 'parse input must be a Uint8Array or Buffer')
  if (input.length === 0) return INCOMPLETE
  const first = input[0]
  if (first === 0x0d && o.v2 && prefixOf(input, V2_SIGNATURE)) {
    if (input.length < V2_SIGNATURE.length) return INCOMPLETE
    return parseV2(input, o.maxHeaderSize, o.verifyChecksum)
  }
  if (first === 0x50 && o.v1 && prefixOf(input, V1_PREFIX)) {
    if (input.length < V1_PREFIX.length) return INCOMPLETE
    return parseV1(input, o.maxHeaderSize)
  }
  if (!o.v1 || !o.v2) {
    // A header of a version the caller does not accept is an error, not application data.
    if ((!o.v2 && prefixOf(input, V2_SIGNATURE)) || (!o.v1 && prefixOf(input, V1_PREFIX))) {
      if (input.length >= 6) fail(ErrorCodes.VERSION_NOT_ALLOWED, 'PROXY header version is not allowed', 0)
      return INCOMPLETE
    }
  }
  return ABSENT
}
