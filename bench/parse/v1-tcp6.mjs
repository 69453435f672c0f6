/** PROXY v1, TCP over IPv6: `PROXY TCP6 2001:db8::1 2001:db8::2 56324 443\r\n`. */
import { parse } from '@proxyproto/core'
import { balena, fixtures, ppjs, readBalena, readOurs, readPpjsV1 } from './fixtures.mjs'
import { isMain, keep, runCase } from './harness.mjs'

const f = fixtures.v1Tcp6

export default function v1Tcp6() {
  const buf = f.buf
  return runCase(f.name, f.expect, [
    { lib: 'proxyproto', name: 'parse(buf)', fn: () => keep(parse(buf)), read: (r) => readOurs(r) },
    {
      lib: 'proxy-protocol-js',
      name: 'V1BinaryProxyProtocol.parse(buf)',
      fn: () => keep(ppjs.V1BinaryProxyProtocol.parse(buf)),
      read: readPpjsV1,
    },
    {
      lib: 'proxy-protocol-js',
      name: "V1ProxyProtocol.parse(buf.toString('latin1'))",
      fn: () => keep(ppjs.V1ProxyProtocol.parse(buf.toString('latin1'))),
      read: readPpjsV1,
    },
    { lib: 'balena', name: 'v1_decode(buf)', fn: () => keep(balena.v1_decode(buf)), read: readBalena },
    {
      lib: 'balena',
      name: 'v1_decode(buf, true)',
      fn: () => keep(balena.v1_decode(buf, true)),
      read: readBalena,
    },
    { lib: 'balena', name: 'decode(buf, true)', fn: () => keep(balena.decode(buf, true)), read: readBalena },
  ])
}

if (isMain(import.meta.url)) await v1Tcp6()
