/**
 * Property tests: hostile input never escapes as anything but ProxyProtocolError and never stalls;
 * encode/parse round-trip; any chunking of a stream gives 'incomplete' then the same 'complete'.
 */
import {
  type HeaderInput,
  MAX_HEADER_SIZE_LIMIT,
  type ParseOptions,
  type ParseResult,
  type ProxyHeader,
  ProxyProtocolError,
  type Tlv,
  TlvType,
  V2_SIGNATURE,
  canonicalAddress,
  encode,
  parse,
} from '@proxyproto/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ascii, concat } from './helpers.js'

/**
 * Slowest single parse() call allowed. Inputs are at most ~70 KB and parse in well under a millisecond;
 * the bound is loose so that a machine busy with other work does not fail the test, while a stall or a
 * super-linear blow-up on hostile input still does.
 */
const PROMPT_MS = 1000

/** parse() that must either return or throw a ProxyProtocolError carrying a numeric offset, quickly. */
function safeParse(input: Uint8Array, options?: ParseOptions): ParseResult | ProxyProtocolError {
  const t0 = performance.now()
  try {
    return parse(input, options)
  } catch (e) {
    expect(e).toBeInstanceOf(ProxyProtocolError)
    expect(typeof (e as ProxyProtocolError).offset).toBe('number')
    return e as ProxyProtocolError
  } finally {
    expect(performance.now() - t0).toBeLessThan(PROMPT_MS)
  }
}

/** Invariants of any 'complete' result. */
function checkComplete(input: Uint8Array, r: ParseResult, options?: ParseOptions): void {
  if (r.status !== 'complete') return
  expect(r.length).toBeGreaterThan(0)
  expect(r.length).toBeLessThanOrEqual(input.length)
  if (r.header.version === 1) expect(r.length).toBeLessThanOrEqual(107)
  else expect(r.length).toBeLessThanOrEqual(options?.maxHeaderSize ?? 4096)
  // The header is decided by its own bytes: what follows cannot change it.
  const again = parse(input.subarray(0, r.length), options)
  expect(again).toEqual(r)
  for (const ep of [r.header.source, r.header.destination]) {
    if (ep && 'address' in ep) expect(canonicalAddress(ep.address)?.address).toBe(ep.address)
  }
}

// ---- arbitraries ----

const enc = new TextEncoder()
const port = fc.integer({ min: 0, max: 65535 })
const inet4 = fc.record({ address: fc.ipV4(), port })
const inet6 = fc.record({ address: fc.ipV6(), port })
const unixEp = fc.record({
  path: fc
    .string({ unit: 'grapheme', maxLength: 40 })
    .filter((s) => !s.includes('\0') && enc.encode(s).length <= 108),
})
// Any type but CRC32C (a random CRC32C value would, rightly, fail verification) and SSL (random bytes
// rarely tile into sub-TLVs, and a broken SSL structure is refused at parse time).
const anyTlv: fc.Arbitrary<Tlv> = fc.record({
  type: fc.integer({ min: 0, max: 255 }).filter((t) => t !== TlvType.CRC32C && t !== TlvType.SSL),
  value: fc.uint8Array({ maxLength: 40 }),
})
const tlvs = fc.array(anyTlv, { maxLength: 5 })
const transport = fc.constantFrom('STREAM' as const, 'DGRAM' as const)

const v1Header: fc.Arbitrary<HeaderInput> = fc.oneof(
  fc.record({
    version: fc.constant(1 as const),
    family: fc.constant('IPv4' as const),
    source: inet4,
    destination: inet4,
  }),
  fc.record({
    version: fc.constant(1 as const),
    family: fc.constant('IPv6' as const),
    source: inet6,
    destination: inet6,
  }),
  fc.constant<HeaderInput>({ version: 1, family: 'UNSPEC' }),
)
const proxy2 = { version: fc.constant(2 as const), command: fc.constant('PROXY' as const) }
const v2Header: fc.Arbitrary<HeaderInput> = fc.oneof(
  fc.record({
    ...proxy2,
    family: fc.constant('IPv4' as const),
    transport,
    source: inet4,
    destination: inet4,
    tlvs,
  }),
  fc.record({
    ...proxy2,
    family: fc.constant('IPv6' as const),
    transport,
    source: inet6,
    destination: inet6,
    tlvs,
  }),
  fc.record({
    ...proxy2,
    family: fc.constant('UNIX' as const),
    transport,
    source: unixEp,
    destination: unixEp,
    tlvs,
  }),
  fc.record({
    ...proxy2,
    family: fc.constant('UNSPEC' as const),
    transport: fc.constant('UNSPEC' as const),
    tlvs,
  }),
  fc.record({ version: fc.constant(2 as const), command: fc.constant('LOCAL' as const), tlvs }),
)
const v2Options = fc.record(
  { crc32c: fc.boolean(), padTo: fc.integer({ min: 0, max: 400 }) },
  { requiredKeys: [] },
)

/** A header input and its encoding (v1 or v2, with or without CRC32C/padding). */
const encoded = fc.oneof(
  v1Header.map((h) => ({ h, options: {}, bytes: encode(h) })),
  fc.tuple(v2Header, v2Options).map(([h, options]) => ({ h, options, bytes: encode(h, options) })),
)

const parseOptions: fc.Arbitrary<ParseOptions | undefined> = fc.option(
  fc.record(
    {
      maxHeaderSize: fc.integer({ min: 16, max: MAX_HEADER_SIZE_LIMIT }),
      versions: fc.constantFrom<ReadonlyArray<1 | 2>>([1], [2], [1, 2]),
      verifyChecksum: fc.boolean(),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
)

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; n: number }
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.nat(255) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
)

function mutate(b: Uint8Array, m: Mutation): Uint8Array {
  if (b.length === 0) return m.kind === 'insert' ? m.bytes : b
  const at = m.at % (b.length + (m.kind === 'insert' || m.kind === 'truncate' ? 1 : 0))
  switch (m.kind) {
    case 'flip': {
      const c = b.slice()
      c[at]! ^= 1 << m.bit
      return c
    }
    case 'set': {
      const c = b.slice()
      c[at] = m.byte
      return c
    }
    case 'truncate':
      return b.slice(0, at)
    case 'insert':
      return concat(b.subarray(0, at), m.bytes, b.subarray(at))
    case 'delete':
      return concat(b.subarray(0, at), b.subarray(at + m.n))
  }
}

/** What parse() must return for an encoded header input. */
function expectedHeader(h: HeaderInput): Omit<ProxyHeader, 'tlvs'> {
  if (h.version === 1) {
    if (h.family !== 'IPv4' && h.family !== 'IPv6')
      return { version: 1, command: 'PROXY', family: 'UNSPEC', transport: 'UNSPEC' }
  } else if (h.command === 'LOCAL') {
    return { version: 2, command: 'LOCAL', family: 'UNSPEC', transport: 'UNSPEC' }
  }
  const out: Omit<ProxyHeader, 'tlvs'> = {
    version: h.version,
    command: 'PROXY',
    family: h.family!,
    transport: h.version === 1 ? 'STREAM' : h.transport!,
  }
  const canon = (e: unknown) => {
    const a = e as { address?: string; port?: number; path?: string }
    return a.address === undefined
      ? { path: a.path! }
      : { address: canonicalAddress(a.address)!.address, port: a.port! }
  }
  if (h.source) out.source = canon(h.source)
  if (h.destination) out.destination = canon(h.destination)
  return out
}

const plain = (t: Tlv) => ({ type: t.type, value: Array.from(t.value) })

// ---- properties ----

describe('hostile input', () => {
  it('random bytes only ever return a result or throw ProxyProtocolError, promptly', () => {
    const tail = fc.uint8Array({ maxLength: 300 })
    const input = fc.oneof(
      tail,
      tail.map((t) => concat(V2_SIGNATURE, t)),
      tail.map((t) => concat(V2_SIGNATURE.subarray(0, 12), Uint8Array.of(0x21), t)),
      tail.map((t) => concat(ascii('PROXY '), t)),
      fc.uint8Array({ maxLength: 120 }).map((t) => concat(ascii('PROXY TCP'), t)),
      fc
        .array(fc.constantFrom(...'0123456789abcdefABCDEF:. \r\n'.split('')), { maxLength: 110 })
        .map((cs) => ascii(`PROXY TCP${cs.length % 2 ? '4' : '6'} ${cs.join('')}`)),
    )
    fc.assert(
      fc.property(input, parseOptions, (b, options) => {
        const r = safeParse(b, options)
        if (!(r instanceof ProxyProtocolError)) checkComplete(b, r, options)
      }),
      { numRuns: 2000 },
    )
  })

  it('large random inputs behind a v2 signature are handled promptly', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 70_000 }), fc.boolean(), (t, big) => {
        const b = concat(V2_SIGNATURE, Uint8Array.of(0x21, 0x00), t)
        safeParse(b, big ? { maxHeaderSize: MAX_HEADER_SIZE_LIMIT } : undefined)
      }),
      { numRuns: 100 },
    )
  })

  it('mutated valid headers (bit flips, truncation, insertion, deletion) never escape as other errors', () => {
    fc.assert(
      fc.property(
        encoded,
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        parseOptions,
        (e, ms, options) => {
          const b = ms.reduce(mutate, concat(e.bytes, ascii('GET / HTTP/1.1\r\n')))
          const r = safeParse(b, options)
          if (!(r instanceof ProxyProtocolError)) checkComplete(b, r, options)
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('a valid TLV block of many tiny TLVs at the largest size parses promptly', () => {
    const h = encode({
      version: 2,
      family: 'UNSPEC',
      tlvs: Array.from({ length: 21_845 }, () => ({ type: 0, value: new Uint8Array(0) })),
    })
    expect(h.length).toBe(MAX_HEADER_SIZE_LIMIT)
    const r = safeParse(h, { maxHeaderSize: MAX_HEADER_SIZE_LIMIT })
    expect(r instanceof ProxyProtocolError ? r.code : r.status).toBe('complete')
  })
})

describe('round trip', () => {
  it('parse(encode(h)) gives back h for arbitrary valid v1 and v2 headers, TLVs included', () => {
    fc.assert(
      fc.property(encoded, fc.uint8Array({ maxLength: 20 }), ({ h, options, bytes }, payload) => {
        const r = parse(concat(bytes, payload), { maxHeaderSize: MAX_HEADER_SIZE_LIMIT })
        if (r.status !== 'complete') throw new Error(`expected complete, got ${r.status}`)
        expect(r.length).toBe(bytes.length)
        const { tlvs: got, ...rest } = r.header
        expect(rest).toEqual(expectedHeader(h))
        if (h.version === 1 || h.command === 'LOCAL') {
          expect(got).toEqual([])
          return
        }
        const given = h.tlvs ?? []
        expect(got.slice(0, given.length).map(plain)).toEqual(given.map(plain))
        const extra = got.slice(given.length).map((t) => t.type)
        const o = options as { crc32c?: boolean; padTo?: number }
        const padded = extra[0] === TlvType.NOOP
        expect(extra).toEqual([...(padded ? [TlvType.NOOP] : []), ...(o.crc32c ? [TlvType.CRC32C] : [])])
        if (o.padTo !== undefined) expect(bytes.length).toBeGreaterThanOrEqual(o.padTo)
        if (padded) expect(bytes.length).toBeLessThanOrEqual(Math.max(o.padTo ?? 0, 0) + 2)
      }),
      { numRuns: 1500 },
    )
  })
})

describe('streaming', () => {
  it('any split of header + payload into chunks is incomplete before the header end and complete after', () => {
    fc.assert(
      fc.property(
        encoded,
        fc.uint8Array({ maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        ({ bytes }, payload, cuts) => {
          const stream = concat(bytes, payload)
          const whole = parse(stream, { maxHeaderSize: MAX_HEADER_SIZE_LIMIT })
          if (whole.status !== 'complete') throw new Error('expected complete')
          expect(whole.length).toBe(bytes.length)
          // chunk boundaries: random cut points plus the end of the stream
          const ends = [...new Set([...cuts.map((c) => c % (stream.length + 1)), stream.length])].sort(
            (a, b) => a - b,
          )
          for (const end of ends) {
            const r = parse(stream.subarray(0, end), { maxHeaderSize: MAX_HEADER_SIZE_LIMIT })
            if (end < bytes.length) expect(r).toEqual({ status: 'incomplete' })
            else expect(r).toEqual(whole)
          }
        },
      ),
      { numRuns: 600 },
    )
  })

  it('every strict prefix of an arbitrary encoded header is incomplete', () => {
    fc.assert(
      fc.property(encoded, ({ bytes }) => {
        // bounded so that a 65 KB header does not cost 65 K parses
        const step = Math.max(1, Math.floor(bytes.length / 300))
        for (let i = 0; i < bytes.length; i += step) {
          expect(parse(bytes.subarray(0, i), { maxHeaderSize: MAX_HEADER_SIZE_LIMIT }).status).toBe(
            'incomplete',
          )
        }
        expect(
          parse(bytes.subarray(0, bytes.length - 1), { maxHeaderSize: MAX_HEADER_SIZE_LIMIT }).status,
        ).toBe('incomplete')
      }),
      { numRuns: 300 },
    )
  })
})
