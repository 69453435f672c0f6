/**
 * An AWS NLB-style PROXY v2 header (100 bytes): TCP over IPv4, the 0xEA VPC endpoint TLV
 * (subtype 0x01, "vpce-08d2bf15fac5001c9"), a NOOP pad and a CRC32C TLV, built with our encoder.
 */
import { decodeTlvs, parse } from '@proxyproto/core'
import { balena, fixtures, ppjs, readBalena, readOurs, readPpjsV2 } from './fixtures.mjs'
import { isMain, keep, runCase } from './harness.mjs'

const f = fixtures.v2AwsNlb
const NO_CRC = { verifyChecksum: false }

export default function v2AwsNlb() {
  const buf = f.buf
  return runCase(f.name, f.expect, [
    // The default verifies the CRC32C over all 100 bytes (spec §2.2.3 MUST).
    {
      lib: 'proxyproto',
      name: 'parse(buf)',
      fn: () => keep(parse(buf)),
      read: (r) => readOurs(r, decodeTlvs),
    },
    {
      lib: 'proxyproto',
      name: 'parse(buf, { verifyChecksum: false })',
      info: true,
      fn: () => keep(parse(buf, NO_CRC)),
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
      why: 'proxy-protocol-js has no TLV support and no CRC32C check',
      fn: () => keep(ppjs.V2ProxyProtocol.parse(buf)),
      read: readPpjsV2,
    },
    {
      lib: 'balena',
      name: 'v2_decode(buf, true)',
      why: 'balena skips TLVs and has no CRC32C check',
      fn: () => keep(balena.v2_decode(buf, true)),
      read: readBalena,
    },
  ])
}

if (isMain(import.meta.url)) await v2AwsNlb()
