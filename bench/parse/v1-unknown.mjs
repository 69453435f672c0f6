/**
 * PROXY v1 UNKNOWN, short form `PROXY UNKNOWN\r\n` (what HAProxy sends for a non-TCP or unknown client;
 * the receiver must then use the real connection addresses).
 */
import { parse } from '@proxyproto/core'
import { balena, fixtures, ppjs, readBalena, readOurs, readPpjsV1 } from './fixtures.mjs'
import { isMain, keep, runCase } from './harness.mjs'

const f = fixtures.v1Unknown

export default function v1Unknown() {
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
  ])
}

if (isMain(import.meta.url)) await v1Unknown()
