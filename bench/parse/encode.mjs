/**
 * Encoding a TCP4 header, v1 and v2. Ours takes address strings and validates every field; each output is
 * checked by parsing it back with @proxyproto/core (untimed).
 * proxy-protocol-js builds from its own objects (v2 addresses as byte arrays) and validates nothing;
 * balena builds from a socket-like object.
 */
import { encode, parse } from '@proxyproto/core'
import { balena, encodeInputs, ppjs, readOurs } from './fixtures.mjs'
import { isMain, keep, runCase } from './harness.mjs'

const readBytes = (bytes) => readOurs(parse(bytes))
const readString = (s) => readOurs(parse(Buffer.from(s, 'latin1')))

export default async function encodeCases() {
  const { expect, oursV1, oursV2, balena: socketLike } = encodeInputs
  const src = expect.source
  const dst = expect.destination
  const {
    V1BinaryProxyProtocol,
    V1ProxyProtocol,
    V2ProxyProtocol,
    Peer,
    INETProtocol,
    Command,
    TransportProtocol,
  } = ppjs
  const { IPv4ProxyAddress, IPv4Address } = ppjs

  const v1 = await runCase('encode v1 TCP4', expect, [
    {
      lib: 'proxyproto',
      name: 'encode({ version: 1, ... })',
      fn: () => keep(encode(oursV1)),
      read: readBytes,
    },
    {
      lib: 'proxy-protocol-js',
      name: 'new V1BinaryProxyProtocol(...).build()',
      fn: () =>
        keep(
          new V1BinaryProxyProtocol(
            INETProtocol.TCP4,
            new Peer(src.address, src.port),
            new Peer(dst.address, dst.port),
          ).build(),
        ),
      read: readBytes,
    },
    {
      // Returns a string, not bytes: shown for reference, not used in the table.
      lib: 'proxy-protocol-js',
      name: 'new V1ProxyProtocol(...).build() (string)',
      info: true,
      fn: () =>
        keep(
          new V1ProxyProtocol(
            INETProtocol.TCP4,
            new Peer(src.address, src.port),
            new Peer(dst.address, dst.port),
          ).build(),
        ),
      read: readString,
    },
    {
      lib: 'balena',
      name: 'v1_encode(socketLike)',
      fn: () => keep(balena.v1_encode(socketLike)),
      read: readBytes,
    },
  ])

  const v2 = await runCase('encode v2 TCP4', expect, [
    {
      lib: 'proxyproto',
      name: 'encode({ version: 2, ... })',
      fn: () => keep(encode(oursV2)),
      read: readBytes,
    },
    {
      lib: 'proxy-protocol-js',
      name: 'new V2ProxyProtocol(...).build()',
      fn: () =>
        keep(
          new V2ProxyProtocol(
            Command.PROXY,
            TransportProtocol.STREAM,
            new IPv4ProxyAddress(
              IPv4Address.createFrom([192, 168, 0, 1]),
              src.port,
              IPv4Address.createFrom([192, 168, 0, 11]),
              dst.port,
            ),
          ).build(),
        ),
      read: readBytes,
    },
    {
      lib: 'balena',
      name: 'v2_encode(socketLike)',
      why: 'v2_encode writes the length as 0x0c00 (3072, byte order swapped) and the LOCAL command (0x20)',
      fn: () => keep(balena.v2_encode(socketLike)),
      read: readBytes,
    },
  ])
  return [v1, v2]
}

if (isMain(import.meta.url)) await encodeCases()
