import http from 'node:http'
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest'
import {
  type ProxyInfo,
  type ProxyProtocolStats,
  requireProxyInfo,
  requireProxyProtocolStats,
  withProxyProtocol,
} from '../src/index.js'
import { CLIENT, closeServer, connect, listen, readAll, v2 } from './helpers.js'

const servers: http.Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer))
})

describe('requireProxyInfo and requireProxyProtocolStats', () => {
  it('give the info of a connection and the counters of a prepared server, typed without undefined', async () => {
    const seen: string[] = []
    const server = withProxyProtocol(
      http.createServer((req, res) => {
        const info = requireProxyInfo(req)
        expectTypeOf(info).toEqualTypeOf<ProxyInfo>()
        seen.push(`${info.client.address} via ${info.peer.address} v${info.header?.version}`)
        res.end('ok')
      }),
    )
    servers.push(server)
    const port = await listen(server)
    const socket = await connect(port)
    socket.end(Buffer.concat([v2(), Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]))
    expect((await readAll(socket)).toString()).toMatch(/ok$/)
    expect(seen).toEqual([`${CLIENT.address} via 127.0.0.1 v2`])
    const stats = requireProxyProtocolStats(server)
    expectTypeOf(stats).toEqualTypeOf<ProxyProtocolStats>()
    expect(stats.accepted.v2).toBe(1)
  })

  it('throw ERR_PROXY_SERVER_NOT_PREPARED for a server withProxyProtocol did not prepare', async () => {
    const errors: unknown[] = []
    const server = http.createServer((req, res) => {
      try {
        requireProxyInfo(req)
      } catch (err) {
        errors.push(err)
      }
      res.end()
    })
    servers.push(server)
    expect(() => requireProxyProtocolStats(server)).toThrow(expect.objectContaining({ code: 'ERR_PROXY_SERVER_NOT_PREPARED' }))
    const port = await listen(server)
    const socket = await connect(port)
    socket.end('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    await readAll(socket)
    expect(errors).toEqual([expect.objectContaining({ code: 'ERR_PROXY_SERVER_NOT_PREPARED' })])
    expect(String((errors[0] as Error).message)).toContain('withProxyProtocol(server, options)')
  })
})

