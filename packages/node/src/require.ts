/**
 * Accessors that cannot return undefined, for code that runs on a server it prepared itself:
 * `getProxyInfo` and `proxyProtocolStats` return `undefined` for an unprepared server, which strict
 * TypeScript makes every caller handle, even where it cannot happen. These throw instead. Every
 * connection a prepared server hands on carries its info (a plain one, `header: null`, when it was served
 * without a header), so what makes them throw is the program's set-up, never what a peer sent.
 */
import type { Server as NetServer } from 'node:net'
import { ErrorCodes, ProxyProtocolError } from '@proxyproto/core'
import { getProxyInfo, type ProxyInfo } from './info.js'
import type { ProxyProtocolStats } from './stats.js'
import { proxyProtocolStats } from './with-proxy-protocol.js'

const notPrepared = (what: string): ProxyProtocolError =>
  new ProxyProtocolError(
    ErrorCodes.SERVER_NOT_PREPARED,
    `${what} was not prepared for the PROXY protocol: call withProxyProtocol(server, options) where the server is created`,
  )

/** getProxyInfo(target), for a connection of a prepared server; throws ERR_PROXY_SERVER_NOT_PREPARED otherwise. */
export function requireProxyInfo(target: Parameters<typeof getProxyInfo>[0]): ProxyInfo {
  const info = getProxyInfo(target)
  if (info === undefined) throw notPrepared('the server this connection came through')
  return info
}

/** proxyProtocolStats(server), for a prepared server; throws ERR_PROXY_SERVER_NOT_PREPARED otherwise. */
export function requireProxyProtocolStats(server: NetServer): ProxyProtocolStats {
  const stats = proxyProtocolStats(server)
  if (stats === undefined) throw notPrepared('this server')
  return stats
}
