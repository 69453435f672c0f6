/**
 * What a server handler saw, in a form it can send back to the client as JSON (not a test file).
 * The real-peer tests make every handler reply with report(...), so the test checks what the
 * handler itself observed: req.socket.remoteAddress and getProxyInfo(req).
 */
import type net from 'node:net'
import { getProxyInfo } from '@proxyproto/node'

export interface Report {
  /** socket.remoteAddress / remotePort / remoteFamily as the handler saw them. */
  address: string | undefined
  port: number | undefined
  family: string | undefined
  /** getProxyInfo(...).peer: the balancer. */
  peer: { address: string; port: number } | undefined
  /** getProxyInfo(...).client */
  client: { address: string; port: number } | undefined
  version: number | undefined
  command: string | undefined
  tlvs:
    | {
        authority: string | undefined
        alpn: string | undefined
        uniqueId: string | undefined
        crc32c: number | undefined
        ssl: { ssl: boolean; version: string | undefined; cipher: string | undefined } | undefined
        unknown: number
      }
    | undefined
  /** Set by some servers: what they received. */
  extra?: unknown
}

/** Builds the report for `socket` (the handler's socket) and `target` (what getProxyInfo is given). */
export function report(
  socket: net.Socket,
  target: Parameters<typeof getProxyInfo>[0] = socket,
  extra?: unknown,
): Report {
  const info = getProxyInfo(target)
  const t = info?.tlvs
  return {
    address: socket.remoteAddress,
    port: socket.remotePort,
    family: socket.remoteFamily,
    peer: info && { address: info.peer.address, port: info.peer.port },
    client: info && { address: info.client.address, port: info.client.port },
    version: info?.header?.version,
    command: info?.header?.command,
    tlvs: t && {
      authority: t.authority,
      alpn: t.alpn,
      uniqueId: t.uniqueId && Buffer.from(t.uniqueId).toString('latin1'),
      crc32c: t.crc32c,
      ssl: t.ssl && { ssl: t.ssl.ssl, version: t.ssl.version, cipher: t.ssl.cipher },
      unknown: t.unknown.length,
    },
    ...(extra === undefined ? {} : { extra }),
  }
}
