/** createParser(options): parse options compiled once, for a caller that parses many inputs with them. */
import { ErrorCodes, createParser, encode, parse } from '@proxyproto/core'
import { describe, expect, it } from 'vitest'
import { ascii, expectError } from './helpers.js'

const v1 = ascii('PROXY TCP4 192.0.2.1 198.51.100.2 1234 80\r\nGET /')
const v2 = encode({ version: 2, family: 'IPv6', source: { address: '2001:db8::1', port: 1 }, destination: { address: '::1', port: 2 } })

describe('createParser', () => {
  it('gives the same result as parse with the same options', () => {
    for (const options of [undefined, {}, { versions: [1] as const }, { maxHeaderSize: 64 }]) {
      const p = createParser(options)
      for (const input of [v1, v2, ascii('GET /'), ascii('PROXY TCP4 1.2'), new Uint8Array(0)]) {
        let want: unknown
        let got: unknown
        try {
          want = parse(input, options)
        } catch (err) {
          want = (err as { code: string }).code
        }
        try {
          got = p(input)
        } catch (err) {
          got = (err as { code: string }).code
        }
        expect(got).toEqual(want)
      }
    }
  })

  it('refuses bad options when it is created, naming the option', () => {
    expect(expectError(() => createParser({ maxHeaderSize: 5 }), ErrorCodes.INVALID_OPTION).message).toMatch(/maxHeaderSize/)
    expect(expectError(() => createParser({ versions: [3 as 1] }), ErrorCodes.INVALID_OPTION).message).toMatch(/versions/)
    expectError(() => createParser(null as never), ErrorCodes.INVALID_OPTION)
  })

  it('keeps the options it was created with when the object changes later', () => {
    const options: { versions: (1 | 2)[] } = { versions: [1] }
    const p = createParser(options)
    options.versions = [2]
    expect(p(v1).status).toBe('complete')
    expectError(() => p(v2), ErrorCodes.VERSION_NOT_ALLOWED)
  })

  it('refuses input that is not bytes with a coded error', () => {
    expectError(() => createParser()('PROXY' as never), ErrorCodes.INVALID_INPUT)
  })
})
