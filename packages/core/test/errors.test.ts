/** ProxyProtocolError: stable codes, byte offsets, and `instanceof` that holds across installed copies. */
import { ErrorCodes, ProxyProtocolError, encode, isProxyProtocolError, parse } from '@proxyproto/core'
import { describe, expect, it } from 'vitest'
import { ascii, hex } from './helpers.js'

const BRAND = Symbol.for('proxyproto.error')

describe('ProxyProtocolError', () => {
  it('is an Error with a name, a code, an offset and a message', () => {
    const err = new ProxyProtocolError(ErrorCodes.V1_SYNTAX, 'bad line', { offset: 7 })
    expect(err).toBeInstanceOf(Error)
    expect(err).toBeInstanceOf(ProxyProtocolError)
    expect(err.name).toBe('ProxyProtocolError')
    expect(err.code).toBe('ERR_PROXY_V1_SYNTAX')
    expect(err.offset).toBe(7)
    expect(err.message).toBe('bad line')
    expect(err.stack).toContain('ProxyProtocolError')
  })

  it('has no offset unless one is given, and keeps a cause', () => {
    const cause = new Error('root')
    const err = new ProxyProtocolError(ErrorCodes.REJECTED, 'no', { cause })
    expect(err.offset).toBeUndefined()
    expect(err.cause).toBe(cause)
    expect(new ProxyProtocolError(ErrorCodes.REJECTED, 'no').cause).toBeUndefined()
  })

  it('is instanceof-compatible with an error branded by another copy of the library', () => {
    // What a second installed copy of @proxyproto/core would construct: its own class, same registry symbol.
    class OtherCopyError extends Error {
      readonly code = 'ERR_PROXY_V1_SYNTAX'
      readonly offset = 3
      constructor() {
        super('from the other copy')
        Object.defineProperty(this, BRAND, { value: true })
      }
    }
    const foreign = new OtherCopyError()
    expect(foreign instanceof ProxyProtocolError).toBe(true)
    expect(isProxyProtocolError(foreign)).toBe(true)
    const plain = { [BRAND]: true, code: 'ERR_PROXY_V2_BAD_FAMILY', offset: 13 }
    expect(plain instanceof ProxyProtocolError).toBe(true)
    expect(isProxyProtocolError(plain)).toBe(true)
  })

  it('carries the brand as a non-enumerable property', () => {
    const err = new ProxyProtocolError(ErrorCodes.REJECTED, 'no')
    expect((err as unknown as Record<symbol, unknown>)[BRAND]).toBe(true)
    expect(Object.getOwnPropertySymbols(err)).toContain(BRAND)
    expect(Object.keys(err)).not.toContain(BRAND)
    expect(Object.prototype.propertyIsEnumerable.call(err, BRAND)).toBe(false)
  })

  it('rejects values without the brand, or with a brand that is not exactly true', () => {
    for (const v of [
      new Error('x'),
      Object.assign(new Error('x'), { code: 'ERR_PROXY_V1_SYNTAX' }),
      { [BRAND]: 1 },
      { [BRAND]: 'true' },
      { [Symbol('proxyproto.error')]: true },
      null,
      undefined,
      'ProxyProtocolError',
      42,
    ]) {
      expect(v instanceof ProxyProtocolError).toBe(false)
      expect(isProxyProtocolError(v)).toBe(false)
    }
  })
})

describe('argument errors', () => {
  it('refuses input that is not bytes with ERR_PROXY_INVALID_INPUT', () => {
    for (const input of [null, undefined, 'PROXY UNKNOWN\r\n', [0x50, 0x52], {}]) {
      expect(() => parse(input as never)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_INPUT }))
    }
  })

  it('refuses options that are not an object with ERR_PROXY_INVALID_OPTION', () => {
    for (const options of [null, 5, 'v1']) {
      expect(() => parse(ascii('PROXY UNKNOWN\r\n'), options as never)).toThrow(
        expect.objectContaining({ code: ErrorCodes.INVALID_OPTION }),
      )
    }
  })

  it('sees a change made to an options object after its first use', () => {
    const options: { versions?: (1 | 2)[]; maxHeaderSize?: number } = {}
    const v1 = ascii('PROXY UNKNOWN\r\n')
    expect(parse(v1, options).status).toBe('complete')
    options.versions = [2]
    expect(() => parse(v1, options)).toThrow(expect.objectContaining({ code: ErrorCodes.VERSION_NOT_ALLOWED }))
    options.versions[0] = 1 // changed in place
    expect(parse(v1, options).status).toBe('complete')
    options.maxHeaderSize = 5
    expect(() => parse(v1, options)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_OPTION }))
  })

  it('sees a change anywhere in a versions array changed in place', () => {
    const v1 = ascii('PROXY UNKNOWN\r\n')
    const versions: number[] = [2, 2, 2]
    const options = { versions: versions as (1 | 2)[] }
    expect(() => parse(v1, options)).toThrow(expect.objectContaining({ code: ErrorCodes.VERSION_NOT_ALLOWED }))
    versions[2] = 1
    expect(parse(v1, options).status).toBe('complete')
    versions[2] = 3
    expect(() => parse(v1, options)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_OPTION }))
  })
})

describe('ErrorCodes', () => {
  it('are unique ERR_PROXY_ strings', () => {
    const values = Object.values(ErrorCodes)
    expect(new Set(values).size).toBe(values.length)
    for (const v of values) expect(v).toMatch(/^ERR_PROXY_[A-Z0-9_]+$/)
  })

  it('name every error parse() throws, each with a numeric offset', () => {
    const known = new Set<string>(Object.values(ErrorCodes))
    const inputs = [
      ascii('PROXY TCP9 x\r\n'),
      ascii('PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n'),
      ascii('PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n'),
      ascii('PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n'),
      ascii(`PROXY UNKNOWN ${'x'.repeat(100)}`),
      hex('0d0a0d0a000d0a515549540a 31'),
      hex('0d0a0d0a000d0a515549540a 2f'),
      hex('0d0a0d0a000d0a515549540a 21 13'),
      hex('0d0a0d0a000d0a515549540a 21 11 0002'),
      hex('0d0a0d0a000d0a515549540a 21 00 0001 ff'),
      hex('0d0a0d0a000d0a515549540a 21 00 0007 03 0004 00000000'),
      hex('0d0a0d0a000d0a515549540a 21 00 0006 03 0003 000000'),
      hex('0d0a0d0a000d0a515549540a 21 00 ffff'),
    ]
    const seen = new Set<string>()
    for (const input of inputs) {
      let err: unknown
      try {
        parse(input)
      } catch (e) {
        err = e
      }
      expect(isProxyProtocolError(err)).toBe(true)
      const e = err as ProxyProtocolError
      expect(known.has(e.code)).toBe(true)
      expect(typeof e.offset).toBe('number')
      expect(e.message).toContain(`(at byte ${e.offset})`)
      seen.add(e.code)
    }
    expect(seen.size).toBe(inputs.length) // one distinct code per input
  })

  it('give encode errors a code and no offset', () => {
    let err: unknown
    try {
      encode({
        version: 2,
        family: 'IPv4',
        source: { address: 'nope', port: 1 },
        destination: { address: '1.2.3.4', port: 1 },
      })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ProxyProtocolError)
    expect((err as ProxyProtocolError).code).toBe(ErrorCodes.ENCODE_INVALID)
    expect((err as ProxyProtocolError).offset).toBeUndefined()
  })
})
