import { DEFAULT_MAX_HEADER_SIZE, MAX_HEADER_SIZE_LIMIT, V2_SIGNATURE } from './constants.js'
import { ErrorCodes, fail } from './errors.js'
import { parseV1 } from './parse-v1.js'
import { parseV2 } from './parse-v2.js'
import type { ParseOptions, ParseResult } from './types.js'

const INCOMPLETE: ParseResult = Object.freeze({ status: 'incomplete' }) as ParseResult
const ABSENT: ParseResult = Object.freeze({ status: 'absent' }) as ParseResult

/** Parse options validated and resolved: what a parser needs on every call. */
export interface ResolvedParseOptions {
  readonly maxHeaderSize: number
  readonly v1: boolean
  readonly v2: boolean
  readonly verifyChecksum: boolean
}
const DEFAULTS: ResolvedParseOptions = Object.freeze({ maxHeaderSize: DEFAULT_MAX_HEADER_SIZE, v1: true, v2: true, verifyChecksum: true })

/** Validates parse options; throws ERR_PROXY_INVALID_OPTION naming the option. */
export function resolveParseOptions(options: ParseOptions | undefined): ResolvedParseOptions {
  if (options === undefined) return DEFAULTS
  if (options === null || typeof options !== 'object') fail(ErrorCodes.INVALID_OPTION, 'parse options must be an object')
  const { maxHeaderSize = DEFAULT_MAX_HEADER_SIZE, versions = [1, 2], verifyChecksum = true } = options
  if (!Number.isInteger(maxHeaderSize) || maxHeaderSize < 16 || maxHeaderSize > MAX_HEADER_SIZE_LIMIT) {
    fail(ErrorCodes.INVALID_OPTION, `maxHeaderSize must be an integer from 16 to ${MAX_HEADER_SIZE_LIMIT}`)
  }
  if (!Array.isArray(versions) || versions.length === 0 || versions.some((v) => v !== 1 && v !== 2)) {
    fail(ErrorCodes.INVALID_OPTION, 'versions must be a non-empty array of 1 and/or 2')
  }
  if (typeof verifyChecksum !== 'boolean') fail(ErrorCodes.INVALID_OPTION, 'verifyChecksum must be a boolean')
  return { maxHeaderSize, v1: versions.includes(1), v2: versions.includes(2), verifyChecksum }
}

/** A parse function with its options compiled in: see createParser. */
export type Parser = (input: Uint8Array) => ParseResult

/**
 * Validates `options` once and returns a parser that applies them (the way proxy-addr compiles its trust
 * list): for a server, which parses every connection's first bytes with the same options. Later changes to
 * the `options` object do not affect the parser. Throws ERR_PROXY_INVALID_OPTION for bad options.
 */
export function createParser(options?: ParseOptions): Parser {
  const { maxHeaderSize, v1, v2, verifyChecksum } = resolveParseOptions(options)
  return (input) => parseWith(input, maxHeaderSize, v1, v2, verifyChecksum)
}

/**
 * Parses the PROXY header at the start of `input` (a stream's first bytes, as many as have arrived).
 * - complete: `header` and `length`, the bytes it occupies; everything after is application data.
 * - incomplete: a valid prefix of a header; call again with more bytes.
 * - absent: these bytes can never start a PROXY header (of an allowed version).
 * Malformed input throws ProxyProtocolError. Options are validated on every call: to parse many inputs
 * with the same options, createParser(options) validates them once.
 */
export function parse(input: Uint8Array, options?: ParseOptions): ParseResult {
  if (options === undefined) return parseWith(input, DEFAULT_MAX_HEADER_SIZE, true, true, true)
  const o = resolveParseOptions(options)
  return parseWith(input, o.maxHeaderSize, o.v1, o.v2, o.verifyChecksum)
}

function parseWith(input: Uint8Array, maxHeaderSize: number, v1: boolean, v2: boolean, verifyChecksum: boolean): ParseResult {
  if (!(input instanceof Uint8Array)) fail(ErrorCodes.INVALID_INPUT, 'parse input must be a Uint8Array or Buffer')
  const n = input.length
  // The common cases first, small enough for V8 to inline into parse(): a whole v2 signature (§2.2) or a
  // whole "PROXY" (§2.1) of an allowed version, its bytes as literals (a module-level table is reloaded and
  // checked at every use). Everything else, prefixes and refusals included, is identify()'s to judge.
  if (n >= 12 && v2 && input[0] === 0x0d && input[1] === 0x0a && input[2] === 0x0d && input[3] === 0x0a && input[4] === 0x00 && input[5] === 0x0d) {
    if (input[6] === 0x0a && input[7] === 0x51 && input[8] === 0x55 && input[9] === 0x49 && input[10] === 0x54 && input[11] === 0x0a) {
      return parseV2(input, maxHeaderSize, verifyChecksum)
    }
  } else if (n >= 5 && v1 && input[0] === 0x50 && input[1] === 0x52 && input[2] === 0x4f && input[3] === 0x58 && input[4] === 0x59) {
    return parseV1(input, maxHeaderSize)
  }
  return identify(input, n, maxHeaderSize, v1, v2, verifyChecksum)
}

/** Which header, if any, `input` starts with, when it is not a whole signature of an allowed version. */
function identify(input: Uint8Array, n: number, maxHeaderSize: number, v1: boolean, v2: boolean, verifyChecksum: boolean): ParseResult {
  if (n === 0) return INCOMPLETE
  const first = input[0]
  if (first === 0x0d) {
    // v2: identified by its 12-byte signature (§2.2).
    const k = Math.min(n, 12)
    for (let i = 1; i < k; i++) if (input[i] !== V2_SIGNATURE[i]) return ABSENT
    if (!v2) {
      // A header of a version the caller does not accept is an error, not application data.
      if (n >= 6) fail(ErrorCodes.VERSION_NOT_ALLOWED, 'PROXY header version is not allowed', 0)
      return INCOMPLETE
    }
    if (n < 12) return INCOMPLETE
    return parseV2(input, maxHeaderSize, verifyChecksum)
  }
  if (first === 0x50) {
    // v1: the five bytes "PROXY" identify it (§2.1); what follows them is parseV1's to judge.
    const k = Math.min(n, 5)
    for (let i = 1; i < k; i++) if (input[i] !== PROXY[i]) return ABSENT
    if (!v1) {
      if (n >= 6) fail(ErrorCodes.VERSION_NOT_ALLOWED, 'PROXY header version is not allowed', 0)
      return INCOMPLETE
    }
    if (n < 5) return INCOMPLETE
    return parseV1(input, maxHeaderSize)
  }
  return ABSENT
}

const PROXY = Uint8Array.of(0x50, 0x52, 0x4f, 0x58, 0x59)
