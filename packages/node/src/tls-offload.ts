/**
 * TLS offload: the balancer terminated TLS and speaks plaintext to Node, so a framework that derives the
 * scheme from `socket.encrypted` says `http` for a client that used `https` (wrong redirects, Secure
 * cookies refused: node-proxywrap#7). A balancer that knows says so in the header: PP2_TYPE_SSL (0x20)
 * with the PP2_CLIENT_SSL bit set (spec §2.2.5; HAProxy `send-proxy-v2-ssl`).
 *
 * The socket is left alone: `socket.encrypted === true` is how Node code recognises a TLSSocket (and
 * then calls getPeerCertificate() or getProtocol()), so only a framework's scheme is corrected, through
 * a view of the request (encryptedView) that the framework's own getter reads.
 */
import { TlvType } from '@proxyproto/core'
import type { Socket } from 'node:net'
import { getProxyInfo } from './info.js'

/**
 * True when a trusted balancer's PROXY header says the client connected to it over TLS (the SSL TLV's
 * client bit). False without a header, for LOCAL, or without an SSL TLV.
 * Accepts what getProxyInfo accepts (a socket, a request).
 */
export function clientUsedTls(target: Parameters<typeof getProxyInfo>[0]): boolean {
  const info = getProxyInfo(target)
  if (info?.header?.command !== 'PROXY') return false
  // Most headers carry no SSL TLV: look before decoding them all.
  if (!info.header.tlvs.some((t) => t.type === TlvType.SSL)) return false
  // A structurally broken SSL TLV is refused at parse time; tlvs never throws.
  return info.tlvs.ssl?.ssl === true
}

/**
 * When the client used TLS to the balancer (clientUsedTls) but Node's socket is plaintext, makes the
 * framework's `request.protocol` say so: an own `protocol` getter on this request that calls the
 * framework's inherited getter on a view of the request whose `socketKeys` (Express reads `socket` or
 * `connection`, Fastify `socket`) are the socket with `encrypted: true`. The framework's other rules
 * still apply (a trusted proxy's X-Forwarded-Proto first), and everything derived from `protocol`
 * follows (Express `req.secure`). Returns whether it did.
 */
export function applyTlsOffload(request: object, socket: Socket, socketKeys: readonly string[]): boolean {
  if ((socket as { encrypted?: boolean }).encrypted === true || !clientUsedTls(socket)) return false
  const inherited = inheritedGetter(request, 'protocol')
  if (inherited === undefined) return false
  Object.defineProperty(request, 'protocol', {
    configurable: true,
    enumerable: true,
    get(this: object) {
      return inherited.call(encryptedView(this, socket, socketKeys))
    },
  })
  return true
}

function encryptedView<T extends object>(request: T, socket: Socket, keys: readonly string[]): T {
  const encrypted = Object.create(socket, { encrypted: { value: true } }) as Socket
  const props: PropertyDescriptorMap = {}
  for (const key of keys) props[key] = { value: encrypted }
  return Object.create(request, props) as T
}

function inheritedGetter(object: object, name: string): ((this: unknown) => unknown) | undefined {
  for (let o: object | null = Object.getPrototypeOf(object); o !== null; o = Object.getPrototypeOf(o)) {
    const d = Object.getOwnPropertyDescriptor(o, name)
    if (d) return d.get
  }
  return undefined
}
