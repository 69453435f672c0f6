import type { SppHeader } from '@proxyproto/core'
import {
  type DatagramStats,
  getProxyInfo,
  type ProxyProtocolStats,
  proxyProtocolStats,
  withProxyProtocol,
} from '@proxyproto/node'
import dgram from 'node:dgram'
import http from 'node:http'
import { describe, expectTypeOf, it } from 'vitest'

describe('withProxyProtocol overloads', () => {
  it('returns the dgram socket it was given, and takes the datagram options', () => {
    const socket = withProxyProtocol(dgram.createSocket('udp4'), {
      framing: 'spp',
      maxFlows: 10,
      onHeader: (header, rinfo) => header.family === 'IPv4' && rinfo.port > 0,
    })
    expectTypeOf(socket).toEqualTypeOf<dgram.Socket>()
    expectTypeOf(proxyProtocolStats(socket)).toEqualTypeOf<DatagramStats | undefined>()
    socket.on('message', (_msg, rinfo) => {
      const info = getProxyInfo(rinfo)
      expectTypeOf(info!.header).toEqualTypeOf<import('@proxyproto/core').ProxyHeader | SppHeader | null>()
    })
  })

  it('still returns an http server as itself, with the TCP stats', () => {
    const server = withProxyProtocol(http.createServer(), { headerTimeout: 1000 })
    expectTypeOf(server).toEqualTypeOf<http.Server>()
    expectTypeOf(proxyProtocolStats(server)).toEqualTypeOf<ProxyProtocolStats | undefined>()
  })

  it('refuses datagram-only options on a TCP server and TCP-only ones on a dgram socket', () => {
    // @ts-expect-error framing is for dgram sockets
    withProxyProtocol(http.createServer(), { framing: 'v2' })
    // @ts-expect-error headerTimeout is for TCP servers
    withProxyProtocol(dgram.createSocket('udp4'), { headerTimeout: 1000 })
  })
})
