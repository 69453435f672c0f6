import { type DecodedTlvs, decodeTlvs, type ProxyHeader } from '@proxyproto/core'
import type { Socket } from 'node:net'

export interface Peer {
  address: string
  port: number
  family: 'IPv4' | 'IPv6'
}

export interface ProxyInfo {
  /** The parsed header; null when the connection was served without one (untrusted 'direct', optional mode). */
  header: ProxyHeader | null
  /** The TCP peer: the load balancer's own address. */
  peer: Peer
  /** The client the connection is for: the header's source, or the peer for LOCAL, UNKNOWN, UNSPEC and UNIX. */
  client: Peer
  /** Decoded TLVs (computed on first access). */
  readonly tlvs: DecodedTlvs
}

/** Where the info lives on a socket; a registry symbol so two installed copies agree. */
export const kProxyInfo = Symbol.for('proxyproto.info')

export function createInfo(header: ProxyHeader | null, peer: Peer): ProxyInfo {
  let client = peer
  const src = header?.source
  if (header?.command === 'PROXY' && (header.family === 'IPv4' || header.family === 'IPv6') && src && 'address' in src) {
    client = { address: src.address, port: src.port, family: header.family }
  }
  let tlvs: DecodedTlvs | undefined
  return {
    header,
    peer,
    client,
    get tlvs() {
      tlvs ??= decodeTlvs(header?.tlvs ?? [])
      return tlvs
    },
  }
}

/** Makes `socket` report the client: remoteAddress, remotePort and remoteFamily shadow net.Socket's getters. */
export function applyInfo(socket: Socket, info: ProxyInfo): void {
  Object.defineProperty(socket, kProxyInfo, { value: info, configurable: true })
  if (info.client === info.peer) return
  Object.defineProperties(socket, {
    remoteAddress: { value: info.client.address, configurable: true, enumerable: true },
    remotePort: { value: info.client.port, configurable: true, enumerable: true },
    remoteFamily: { value: info.client.family, configurable: true, enumerable: true },
  })
}

type Target = Socket | { socket?: unknown } | null | undefined

/**
 * The PROXY header and addresses of a connection: pass a net/TLS socket, an http IncomingMessage,
 * an Http2ServerRequest, or a ws upgrade request. Undefined when the server was not prepared.
 */
export function getProxyInfo(target: Target): ProxyInfo | undefined {
  if (target === null || typeof target !== 'object') return undefined
  const own = (target as Record<symbol, unknown>)[kProxyInfo]
  if (own) return own as ProxyInfo
  const socket = (target as { socket?: unknown }).socket
  if (socket && typeof socket === 'object') return (socket as Record<symbol, unknown>)[kProxyInfo] as ProxyInfo | undefined
  return undefined
}
