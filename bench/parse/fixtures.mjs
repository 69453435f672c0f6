/**
 * Shared inputs for the parser benchmark. Every input is a Buffer created once, here, at import time;
 * the timed functions only read them. Each fixture carries what a correct parser must return, so every
 * library is checked against it (harness.mjs) before it is timed.
 */
import { createRequire } from 'node:module'
import { encode, tlv } from '@proxyproto/core'

const require = createRequire(import.meta.url)
/** proxy-protocol-js 4.0.6 (CommonJS). */
export const ppjs = require('proxy-protocol-js')
/** @balena/proxy-protocol-parser 1.0.2 (CommonJS). */
export const balena = require('@balena/proxy-protocol-parser')

const latin1 = (s) => Buffer.from(s, 'latin1')
const bytes = (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength)

// Addresses as in the spec's own examples (§2.1) and the AWS capture used by the core tests.
const V4 = {
  source: { address: '192.168.0.1', port: 56324 },
  destination: { address: '192.168.0.11', port: 443 },
}
const V6 = {
  source: { address: '2001:db8::1', port: 56324 },
  destination: { address: '2001:db8::2', port: 443 },
}
const NLB = {
  source: { address: '172.31.7.113', port: 51442 },
  destination: { address: '172.31.10.31', port: 80 },
}

export const UNIQUE_ID = 'e9c6a0b2-5f3d-4c1e-9a7b-3d2f1e0c9b8a' // 36 bytes, as an opaque id
export const VPCE_ID = 'vpce-08d2bf15fac5001c9'

export const fixtures = {
  v1Tcp4: {
    name: 'v1 TCP4',
    buf: latin1('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n'),
    expect: { family: 'IPv4', ...V4 },
  },
  v1Tcp6: {
    name: 'v1 TCP6',
    buf: latin1('PROXY TCP6 2001:db8::1 2001:db8::2 56324 443\r\n'),
    expect: { family: 'IPv6', ...V6 },
  },
  v1Unknown: {
    // The short form is what HAProxy sends, and the only one HAProxy 2.6 accepts: fed crafted headers, it
    // rejected the long form `PROXY UNKNOWN <addresses>\r\n` that spec §2.1 allows.
    name: 'v1 UNKNOWN',
    buf: latin1('PROXY UNKNOWN\r\n'),
    expect: { family: 'UNSPEC' },
  },
  v2Tcp4: {
    name: 'v2 TCP4',
    buf: bytes(encode({ version: 2, family: 'IPv4', ...V4 })),
    expect: { family: 'IPv4', ...V4 },
  },
  v2Tcp6Tlvs: {
    name: 'v2 TCP6 + TLVs',
    buf: bytes(
      encode({
        version: 2,
        family: 'IPv6',
        ...V6,
        tlvs: [tlv.alpn('h2'), tlv.authority('www.example.com'), tlv.uniqueId(UNIQUE_ID)],
      }),
    ),
    expect: {
      family: 'IPv6',
      ...V6,
      tlvs: { alpn: 'h2', authority: 'www.example.com', uniqueId: UNIQUE_ID },
    },
  },
  v2AwsNlb: {
    // Same shape and size as a captured NLB header (100 bytes: TCP4, CRC32C, 0xEA vpce id, 36-byte NOOP),
    // built by our encoder, which writes the TLVs in the order vpce, NOOP, CRC32C.
    name: 'v2 AWS NLB (CRC32C + vpce + NOOP)',
    buf: bytes(
      encode(
        { version: 2, family: 'IPv4', ...NLB, tlvs: [tlv.awsVpceId(VPCE_ID)] },
        { crc32c: true, padTo: 100 },
      ),
    ),
    expect: { family: 'IPv4', ...NLB, tlvs: { awsVpceId: VPCE_ID, crc32c: true } },
  },
}

/** Encoder inputs: the same connection in each library's own input shape. */
export const encodeInputs = {
  expect: { family: 'IPv4', ...V4 },
  oursV1: { version: 1, family: 'IPv4', ...V4 },
  oursV2: { version: 2, family: 'IPv4', ...V4 },
  balena: {
    remoteFamily: 'IPv4',
    remoteAddress: V4.source.address,
    remotePort: V4.source.port,
    localAddress: V4.destination.address,
    localPort: V4.destination.port,
    protocol: 'tcp',
  },
}

if (fixtures.v2AwsNlb.buf.length !== 100)
  throw new Error(`NLB fixture is ${fixtures.v2AwsNlb.buf.length} bytes, not 100`)

// --- Each library's result in the common shape the harness checks: { family, source, destination, tlvs }.

/** @proxyproto/core parse() result; TLVs are decoded here, outside the timed code. */
export function readOurs(r, decodeTlvs) {
  if (r.status !== 'complete') return { family: `(${r.status})` }
  const h = r.header
  const out = { family: h.family, source: h.source, destination: h.destination }
  if (decodeTlvs && h.tlvs.length > 0) {
    const d = decodeTlvs(h.tlvs)
    out.tlvs = {
      alpn: d.alpn,
      authority: d.authority,
      uniqueId: d.uniqueId && Buffer.from(d.uniqueId).toString('latin1'),
      awsVpceId: d.awsVpceId,
      crc32c: d.crc32c !== undefined, // present, and parse() verified it
    }
  }
  return out
}

const PPJS_FAMILY = { TCP4: 'IPv4', TCP6: 'IPv6', UNKNOWN: 'UNSPEC' }

/** proxy-protocol-js V1BinaryProxyProtocol / V1ProxyProtocol. It has no TLVs. */
export function readPpjsV1(r) {
  const peer = (p) => ({ address: p.ipAddress, port: p.port })
  return { family: PPJS_FAMILY[r.inetProtocol], source: peer(r.source), destination: peer(r.destination) }
}

/** proxy-protocol-js V2ProxyProtocol: addresses come back as byte arrays; formatted here, untimed. */
export function readPpjsV2(r) {
  const a = r.proxyAddress
  const text = (bytes) =>
    bytes.length === 4
      ? bytes.join('.')
      : Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] << 8) | bytes[2 * i + 1]).toString(16)).join(':')
  return {
    family: { 16: 'IPv4', 32: 'IPv6' }[r.addressFamilyType],
    source: { address: text(a.sourceAddress.address), port: a.sourcePort },
    destination: { address: text(a.destinationAddress.address), port: a.destinationPort },
  }
}

/** @balena/proxy-protocol-parser decode results. It skips TLVs. */
export function readBalena(r) {
  if (!r) return undefined
  return {
    family: r.remoteFamily,
    source: { address: r.remoteAddress, port: r.remotePort },
    destination: { address: r.localAddress, port: r.localPort },
  }
}
