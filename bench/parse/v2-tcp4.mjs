/** PROXY v2, PROXY command, TCP over IPv4, no TLVs (28 bytes). */
import { parse } from '@proxyproto/core'
import { balena, fixtures, ppjs, readBalena, readOurs, readPpjsV2 } from './fixtures.mjs'
import { isMain, keep, runCase } from './harness.mjs'

const f = fixtures.v2Tcp4

export default function v2Tcp4() {
  const buf = f.buf
  return runCase(f.name, f.expect, [
    { lib: 'proxyproto', name: 'parse(buf)', fn: () => keep(parse(buf)), read: (r) => readOurs(r) },
    {
      lib: 'proxy-protocol-js',
      name: 'V2ProxyProtocol.parse(buf)',
      fn: () => keep(ppjs.V2ProxyProtocol.parse(buf)),
      read: readPpjsV2,
    },
    {
      // What a caller needs on top: ppjs returns the addresses as byte arrays, not strings.
      lib: 'proxy-protocol-js',
      name: "V2ProxyProtocol.parse(buf) + address.join('.')",
      info: true,
      fn: () => {
        const a = ppjs.V2ProxyProtocol.parse(buf).proxyAddress
        return keep({
          family: 'IPv4',
          source: { address: a.sourceAddress.address.join('.'), port: a.sourcePort },
          destination: { address: a.destinationAddress.address.join('.'), port: a.destinationPort },
        })
      },
      read: (r) => r,
    },
    { lib: 'balena', name: 'v2_decode(buf)', fn: () => keep(balena.v2_decode(buf)), read: readBalena },
    {
      lib: 'balena',
      name: 'v2_decode(buf, true)',
      fn: () => keep(balena.v2_decode(buf, true)),
      read: readBalena,
    },
    { lib: 'balena', name: 'decode(buf, true)', fn: () => keep(balena.decode(buf, true)), read: readBalena },
  ])
}

if (isMain(import.meta.url)) await v2Tcp4()
