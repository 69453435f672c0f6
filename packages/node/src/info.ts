import { type DecodedTlvs, decodeTlvs, type ProxyHeader, type SppHeader } from '@proxyproto/core'
import type { RemoteInfo } from 'node:dgram'
import type { Socket } from 'node:net'
import { fastPaths } from './fast-paths.js'

export interface Peer {
  address: string
  port: number
  family: 'IPv4' | 'IPv6'
}

export interface ProxyInfo {
  /** The parsed header; null when the connection was served without one (untrusted 'direct', optional mode). */
  readonly header: ProxyHeader | null
  /** The TCP peer: the load balancer's own address. */
  readonly peer: Peer
  /** The client the connection is for: the header's source, or the peer for LOCAL, UNKNOWN, UNSPEC and UNIX. */
  readonly client: Peer
  /** Decoded TLVs (computed on first access). Never throws: values that cannot be decoded are listed in `tlvs.invalid`. */
  readonly tlvs: DecodedTlvs
}

/** The info of a datagram delivered by a prepared dgram socket (getProxyInfo(rinfo)): its header may be SPP. */
export interface DatagramProxyInfo extends Omit<ProxyInfo, 'header'> {
  /** The datagram's header ('v2-first': its flow's first header); null when it was delivered as it came. */
  readonly header: ProxyHeader | SppHeader | null
}

/** Where the info lives on a socket; a registry symbol so two installed copies agree. */
export const kProxyInfo = Symbol.for('proxyproto.info')

type InfoSocket = Socket & { [kProxyInfo]?: ProxyInfo }

class Info implements ProxyInfo {
  #tlvs: DecodedTlvs | undefined = undefined
  constructor(
    readonly header: ProxyHeader | null,
    readonly peer: Peer,
    readonly client: Peer,
  ) {}
  get tlvs(): DecodedTlvs {
    this.#tlvs ??= decodeTlvs(this.header?.tlvs ?? [])
    return this.#tlvs
  }
}

export function createInfo(header: ProxyHeader | null, peer: Peer): ProxyInfo {
  const src = header?.source
  if (header?.command === 'PROXY' && (header.family === 'IPv4' || header.family === 'IPv6') && src && 'address' in src) {
    return new Info(header, peer, { address: src.address, port: src.port, family: header.family })
  }
  return new Info(header, peer, peer)
}

// One set of descriptors for every socket: the getters read the client from the socket's info.
const remoteAddress = { get: clientOf((c) => c.address), configurable: true, enumerable: true }
const remotePort = { get: clientOf((c) => c.port), configurable: true, enumerable: true }
const remoteFamily = { get: clientOf((c) => c.family), configurable: true, enumerable: true }
function clientOf<T>(pick: (client: Peer) => T): (this: InfoSocket) => T {
  return function get(this: InfoSocket) {
    return pick(this[kProxyInfo]!.client)
  }
}

/**
 * Makes `socket` report the client as remoteAddress, remotePort and remoteFamily: through net.Socket's own
 * getters, by setting `_peername` (the object they read) where fast-paths.ts found that works, else by
 * accessor properties that shadow them.
 */
export function applyInfo(socket: Socket, info: ProxyInfo): void {
  ;(socket as InfoSocket)[kProxyInfo] = info
  if (info.client === info.peer) return
  if (fastPaths.peername) {
    ;(socket as Socket & { _peername: unknown })._peername = info.client
    return
  }
  Object.defineProperty(socket, 'remoteAddress', remoteAddress)
  Object.defineProperty(socket, 'remotePort', remotePort)
  Object.defineProperty(socket, 'remoteFamily', remoteFamily)
}

type Target = Socket | { socket?: unknown } | null | undefined

/**
 * The PROXY header and addresses of a connection: pass a net/TLS socket, an http IncomingMessage,
 * an Http2ServerRequest, or a ws upgrade request. Undefined when the server was not prepared.
 */
export function getProxyInfo(rinfo: RemoteInfo): DatagramProxyInfo | undefined
export function getProxyInfo(target: Target): ProxyInfo | undefined
export function getProxyInfo(target: Target | RemoteInfo): ProxyInfo | DatagramProxyInfo | undefined {
  if (target === null || typeof target !== 'object') return undefined
  const own = (target as InfoSocket)[kProxyInfo]
  if (own) return own
  const socket = (target as { socket?: unknown }).socket
  if (socket && typeof socket === 'object') return (socket as InfoSocket)[kProxyInfo]
  return undefined
}
