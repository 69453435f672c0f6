/**
 * The parser benchmark's cases, as one table: each row a fixture (fixtures.mjs), the target from issue 12
 * where there is one, and the entries timed for it. Entries are made by the kinds below, so every case
 * times the same calls of each library:
 *
 * - proxyproto: `parse(buf)`, plus `info` variants that do more (decodeTlvs) or other work.
 * - proxy-protocol-js: every entry point it has for the header, each giving the client address as a string
 *   (equal work): v1 its Buffer parser and `toString` + its string parser; v2 its parser + the address bytes
 *   joined into text (its parser alone, which leaves bytes, is shown as `info`).
 * - balena: its decode entry points.
 * - floor: the least any parser must do for the header, nothing else: v1 locate the CRLF and build the
 *   client address string; v2 read the length and build the client address string. Written with the
 *   fastest ways measured (native indexOf, fixed-arity String.fromCharCode, table lookups).
 *
 * Every entry's answer is checked against the fixture once before timing (harness.mjs).
 */
import { createParser, decodeTlvs, parse } from '@proxyproto/core'
import { balena, fixtures, ppjs, readBalena, readOurs, readPpjsV1, readPpjsV2 } from './fixtures.mjs'
import { keep } from './harness.mjs'

const f = String.fromCharCode
/** b[s..e) as a string: fixed-arity fromCharCode (the fastest way measured for short strings). */
function text(b, s, e) {
  switch (e - s) {
    case 11:
      return f(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4], b[s + 5], b[s + 6], b[s + 7], b[s + 8], b[s + 9], b[s + 10])
    case 12:
      return f(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4], b[s + 5], b[s + 6], b[s + 7], b[s + 8], b[s + 9], b[s + 10], b[s + 11])
    default:
      return b.latin1Slice(s, e)
  }
}
const OCTET = Array.from({ length: 256 }, (_, i) => String(i))
const OCTET_DOT = Array.from({ length: 256 }, (_, i) => `${i}.`)
// A dotted quad as one concatenation of two halves looked up by two octets each, made on first use: the
// fastest way measured (~10 ns, against ~24 ns for four octet strings), the one ours uses too.
const HEAD = new Array(65536)
const TAIL = new Array(65536)
const quad = (b, a) => {
  const h = (b[a] << 8) | b[a + 1]
  const t = (b[a + 2] << 8) | b[a + 3]
  // biome-ignore lint/suspicious/noAssignInExpressions: fill on first use
  return (HEAD[h] ??= OCTET_DOT[h >> 8] + OCTET_DOT[h & 255]) + (TAIL[t] ??= OCTET_DOT[t >> 8] + OCTET[t & 255])
}
/** IPv6 bytes as text, the way a caller would (lower-case hex words, `::` for the longest zero run). */
const ipv6 = (bytes) => {
  const words = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] << 8) | bytes[2 * i + 1]).toString(16))
  return words.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')
}

const kinds = {
  ours: (buf, { tlvs = false } = {}) => [
    { lib: 'proxyproto', name: 'parse(buf)', fn: () => keep(parse(buf)), read: (r) => readOurs(r, tlvs && decodeTlvs) },
  ],
  /**
   * Ours keeps the last destination's text and reuses it while the bytes match (a balancer's own address is the
   * same on every connection). Shown (info): the same header alternating with one whose destination differs,
   * so the kept text is never reused.
   */
  oursNewDestination: (buf, other) => {
    let i = 0
    return [
      {
        lib: 'proxyproto',
        name: 'parse(buf), every other call a different destination (the kept one never reused)',
        info: true,
        fn: () => keep(parse(++i & 1 ? buf : other)),
        read: (r) => readOurs(r),
      },
    ]
  },
  oursTlvs: (buf) => [
    ...kinds.ours(buf, { tlvs: true }),
    {
      lib: 'proxyproto',
      name: 'parse(buf) + decodeTlvs',
      info: true,
      fn: () => {
        const r = parse(buf)
        return keep({ r, d: decodeTlvs(r.header.tlvs) })
      },
      read: ({ r }) => readOurs(r, decodeTlvs),
    },
  ],
  ppjsV1: (buf) => [
    {
      lib: 'proxy-protocol-js',
      name: 'V1BinaryProxyProtocol.parse(buf)',
      fn: () => keep(ppjs.V1BinaryProxyProtocol.parse(buf).source.ipAddress),
      read: () => readPpjsV1(ppjs.V1BinaryProxyProtocol.parse(buf)),
    },
    {
      lib: 'proxy-protocol-js',
      name: "V1ProxyProtocol.parse(buf.toString('latin1'))",
      fn: () => keep(ppjs.V1ProxyProtocol.parse(buf.toString('latin1')).source.ipAddress),
      read: () => readPpjsV1(ppjs.V1ProxyProtocol.parse(buf.toString('latin1'))),
    },
  ],
  ppjsV2: (buf, { v6 = false, why } = {}) => [
    {
      lib: 'proxy-protocol-js',
      name: v6 ? 'V2ProxyProtocol.parse(buf) + address words as text' : "V2ProxyProtocol.parse(buf) + address.join('.')",
      why,
      fn: () => {
        const a = ppjs.V2ProxyProtocol.parse(buf).proxyAddress.sourceAddress.address
        return keep(v6 ? ipv6(a) : a.join('.'))
      },
      read: () => readPpjsV2(ppjs.V2ProxyProtocol.parse(buf)),
    },
    {
      // Leaves the addresses as byte arrays: less work than the others, so not a candidate for the table.
      lib: 'proxy-protocol-js',
      name: 'V2ProxyProtocol.parse(buf) (address left as bytes)',
      info: true,
      why,
      fn: () => keep(ppjs.V2ProxyProtocol.parse(buf)),
      read: readPpjsV2,
    },
  ],
  balenaV1: (buf) => [
    { lib: 'balena', name: 'v1_decode(buf)', fn: () => keep(balena.v1_decode(buf)), read: readBalena },
    { lib: 'balena', name: 'v1_decode(buf, true)', fn: () => keep(balena.v1_decode(buf, true)), read: readBalena },
    { lib: 'balena', name: 'decode(buf, true)', fn: () => keep(balena.decode(buf, true)), read: readBalena },
  ],
  balenaV2: (buf, { why } = {}) => [
    { lib: 'balena', name: 'v2_decode(buf)', why, fn: () => keep(balena.v2_decode(buf)), read: readBalena },
    { lib: 'balena', name: 'v2_decode(buf, true)', why, fn: () => keep(balena.v2_decode(buf, true)), read: readBalena },
    { lib: 'balena', name: 'decode(buf, true)', why, fn: () => keep(balena.decode(buf, true)), read: readBalena },
  ],
  floorV1: (buf, expect) => [
    {
      lib: 'floor',
      name: 'indexOf(LF) + client address text',
      fn: () => {
        const lf = buf.indexOf(0x0a, 6)
        let e = 11
        while (buf[e] !== 0x20) e++
        return keep({ lf, a: text(buf, 11, e) })
      },
      read: (r) => ({ ...expect, source: { address: r.a, port: expect.source.port } }),
    },
  ],
  /** Shown (info), not the floor: what ours returns (both addresses and ports, the result objects), unvalidated. */
  sameOutputV1: (buf, expect) => [
    {
      lib: 'floor',
      name: 'same output as parse(), no validation',
      info: true,
      fn: () => {
        const lf = buf.indexOf(0x0a, 6)
        let p = 11
        while (buf[p] !== 0x20) p++
        const src = text(buf, 11, p)
        const d = ++p
        while (buf[p] !== 0x20) p++
        const dst = text(buf, d, p)
        let sport = 0
        for (p++; buf[p] !== 0x20; p++) sport = sport * 10 + buf[p] - 0x30
        let dport = 0
        for (p++; buf[p] !== 0x0d; p++) dport = dport * 10 + buf[p] - 0x30
        const family = buf[9] === 0x36 ? 'IPv6' : 'IPv4'
        return keep({
          status: 'complete',
          header: { version: 1, command: 'PROXY', family, transport: 'STREAM', source: { address: src, port: sport }, destination: { address: dst, port: dport }, tlvs: [] },
          length: lf + 1,
        })
      },
      read: (r) => ({ ...expect, ...readOurs(r) }),
    },
  ],
  sameOutputV2: (buf, expect) => [
    {
      lib: 'floor',
      name: 'same output as parse(), no validation',
      info: true,
      fn: () =>
        keep({
          status: 'complete',
          header: {
            version: 2,
            command: 'PROXY',
            family: 'IPv4',
            transport: 'STREAM',
            source: { address: quad(buf, 16), port: (buf[24] << 8) | buf[25] },
            destination: { address: quad(buf, 20), port: (buf[26] << 8) | buf[27] },
            tlvs: [],
          },
          length: 16 + ((buf[14] << 8) | buf[15]),
        }),
      read: (r) => ({ ...expect, ...readOurs(r) }),
    },
  ],
  floorV1Unknown: (buf) => [
    { lib: 'floor', name: 'indexOf(LF)', fn: () => keep(buf.indexOf(0x0a, 6)), read: () => ({ family: 'UNSPEC' }) },
  ],
  floorV2: (buf, expect) => [
    {
      lib: 'floor',
      name: 'length + client address text',
      fn: () => keep({ length: 16 + ((buf[14] << 8) | buf[15]), a: quad(buf, 16) }),
      read: (r) => ({ ...expect, source: { address: r.a, port: expect.source.port } }),
    },
  ],
}

const NO_TLVS = {
  ppjs: 'proxy-protocol-js has no TLV support: it ignores the length field and returns the TLV bytes as payload',
  ppjsCrc: 'proxy-protocol-js has no TLV support and no CRC32C check',
  balena: 'balena skips TLVs',
  balenaCrc: 'balena skips TLVs and has no CRC32C check',
}
const noCrc = createParser({ verifyChecksum: false })

/** A copy of the fixture `buf` with its destination address `from` (text or bytes, found once) replaced by `to`. */
function otherDestination(buf, from, to) {
  const at = buf.lastIndexOf(from)
  if (at < 0 || Buffer.from(from).length !== Buffer.from(to).length) throw new Error(`no ${from} in the fixture`)
  const copy = Buffer.from(buf)
  copy.set(Buffer.from(to), at)
  return copy
}

/** { fixture, target?: ours/ppjs at most, floorTarget?: ours/floor at most, entries(buf, expect) } */
export const CASES = [
  {
    fixture: fixtures.v1Tcp4,
    target: 0.35,
    floorTarget: 2,
    entries: (b, x) => [
      ...kinds.ours(b),
      ...kinds.floorV1(b, x),
      ...kinds.sameOutputV1(b, x),
      ...kinds.oursNewDestination(b, otherDestination(b, '192.168.0.11', '192.168.0.12')),
      ...kinds.ppjsV1(b),
      ...kinds.balenaV1(b),
    ],
  },
  {
    fixture: fixtures.v1Tcp6,
    target: 0.5,
    floorTarget: 2,
    entries: (b, x) => [
      ...kinds.ours(b),
      ...kinds.floorV1(b, x),
      ...kinds.sameOutputV1(b, x),
      ...kinds.oursNewDestination(b, otherDestination(b, '2001:db8::2', '2001:db8::3')),
      ...kinds.ppjsV1(b),
      ...kinds.balenaV1(b),
    ],
  },
  {
    fixture: fixtures.v1Unknown,
    floorTarget: 2,
    entries: (b) => [...kinds.ours(b), ...kinds.floorV1Unknown(b), ...kinds.ppjsV1(b), ...kinds.balenaV1(b).slice(0, 2)],
  },
  {
    fixture: fixtures.v2Tcp4,
    target: 0.3,
    floorTarget: 2,
    entries: (b, x) => [
      ...kinds.ours(b),
      ...kinds.floorV2(b, x),
      ...kinds.sameOutputV2(b, x),
      ...kinds.oursNewDestination(b, otherDestination(b, Buffer.of(192, 168, 0, 11), Buffer.of(192, 168, 0, 12))),
      ...kinds.ppjsV2(b),
      ...kinds.balenaV2(b),
    ],
  },
  {
    fixture: fixtures.v2Tcp6Tlvs,
    entries: (b) => [
      ...kinds.oursTlvs(b),
      ...kinds.ppjsV2(b, { v6: true, why: NO_TLVS.ppjs }),
      ...kinds.balenaV2(b, { why: NO_TLVS.balena }).slice(1, 2),
    ],
  },
  {
    fixture: fixtures.v2AwsNlb,
    entries: (b) => [
      ...kinds.oursTlvs(b),
      {
        lib: 'proxyproto',
        name: 'createParser({ verifyChecksum: false })(buf)',
        info: true,
        fn: () => keep(noCrc(b)),
        read: (r) => readOurs(r, decodeTlvs),
      },
      ...kinds.ppjsV2(b, { why: NO_TLVS.ppjsCrc }),
      ...kinds.balenaV2(b, { why: NO_TLVS.balenaCrc }).slice(1, 2),
    ],
  },
]
