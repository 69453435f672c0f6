/** PROXY v2, TCP over IPv6 with ALPN "h2", AUTHORITY "www.example.com" and a 36-byte UNIQUE_ID (90 bytes). */
import { decodeTlvs, parse } from '@proxyproto/core'
import { balena, fixtures, ppjs, readBalena, readOurs, readPpjsV2 } from './fixtures.mjs'
import { isMain, keep, runCase } from './harness.mjs'

const f = fixtures.v2Tcp6Tlvs
const NO_TLVS = {
  ppjs: 'proxy-protocol-js has no TLV support: it ignores the length field and returns the TLV bytes as payload',
  balena: 'balena skips TLVs',
}

export default function v2Tcp6Tlvs() {
  const buf = f.buf
  return runCase(f.name, f.expect, [
    // parse() splits and bounds the TLVs (raw views); decoding them to strings is a separate, optional step.
    {
      lib: 'proxyproto',
      name: 'parse(buf)',
      fn: () => keep(parse(buf)),
      read: (r) => readOurs(r, decodeTlvs),
    },
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
    {
      lib: 'proxy-protocol-js',
      name: 'V2ProxyProtocol.parse(buf)',
      why: NO_TLVS.ppjs,
      fn: () => keep(ppjs.V2ProxyProtocol.parse(buf)),
      read: readPpjsV2,
    },
    {
      lib: 'balena',
      name: 'v2_decode(buf, true)',
      why: NO_TLVS.balena,
      fn: () => keep(balena.v2_decode(buf, true)),
      read: readBalena,
    },
  ])
}

if (isMain(import.meta.url)) await v2Tcp6Tlvs()
