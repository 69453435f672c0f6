/**
 * Fastify plugin for servers behind a TCP load balancer that speaks the PROXY protocol.
 *
 * Registering it prepares `fastify.server` (http, https, or http2 with or without TLS) with
 * withProxyProtocol from @proxyproto/node: the header is taken off each connection before Node's
 * parser runs, so `request.ip` and `request.socket.remoteAddress` are the client's without
 * `trustProxy`. `request.proxyHeader` exposes the header. When the balancer terminated TLS and says so,
 * `request.protocol` is 'https' (tlsOffload).
 */
import {
  ErrorCodes,
  type ProxyHeader,
  ProxyProtocolError,
  type ProxyProtocolOptions,
  withProxyProtocol,
} from '@proxyproto/node'
import { applyTlsOffload, prefixError, proxyHeaderOf } from '@proxyproto/node/adapter'
import type { FastifyPluginCallback } from 'fastify'
import fp from 'fastify-plugin'

export type { ProxyHeader, ProxyInfo, ProxyProtocolOptions } from '@proxyproto/node'
export { ErrorCodes, getProxyInfo, isProxyProtocolError, ProxyProtocolError, requireProxyInfo } from '@proxyproto/node'

declare module 'fastify' {
  interface FastifyRequest {
    /** The PROXY header of this request's connection; null for LOCAL (health checks) and connections served without one. */
    proxyHeader: ProxyHeader | null
  }
}

export interface FastifyProxyProtocolOptions extends ProxyProtocolOptions {
  /**
   * When the header says the client connected to the balancer over TLS (the SSL TLV's client bit, HAProxy
   * `send-proxy-v2-ssl`), `request.protocol` is 'https', as if Node had terminated TLS itself (with
   * `trustProxy`, a trusted proxy's X-Forwarded-Proto still wins, as Fastify decides).
   * `request.socket` is left a plain socket. Default true.
   */
  tlsOffload?: boolean
}

const PREFIX = '@proxyproto/fastify: '
// Options Fastify itself reads from register(plugin, options); they are not ours to validate.
const REGISTER_OPTIONS = new Set(['prefix', 'logLevel', 'logSerializers'])
const OWN_OPTIONS = new Set(['tlsOffload'])

const plugin: FastifyPluginCallback<FastifyProxyProtocolOptions> = (fastify, options, done) => {
  const opts: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options ?? {}))
    if (!REGISTER_OPTIONS.has(key) && !OWN_OPTIONS.has(key)) opts[key] = value
  const tlsOffload = options?.tlsOffload ?? true
  if (typeof tlsOffload !== 'boolean') {
    done(new ProxyProtocolError(ErrorCodes.INVALID_OPTION, `${PREFIX}tlsOffload must be a boolean`))
    return
  }
  try {
    withProxyProtocol(fastify.server, opts as ProxyProtocolOptions)
  } catch (err) {
    done(prefixError(PREFIX, err) as Error)
    return
  }
  fastify.decorateRequest('proxyHeader', {
    getter() {
      return proxyHeaderOf(this.raw) ?? null
    },
  })
  if (tlsOffload) {
    // request.protocol is Fastify's getter on its Request prototype (reading request.socket.encrypted):
    // shadowed per request, only on connections whose header says the client used TLS.
    fastify.addHook('onRequest', (request, _reply, next) => {
      const socket = request.raw.socket
      if (socket) applyTlsOffload(request, socket, ['socket'])
      next()
    })
  }
  done()
}

/** `fastify.register(proxyProtocol, { trust: ['10.0.0.0/8'] })` */
export const proxyProtocol = fp(plugin, { fastify: '4.x || 5.x', name: '@proxyproto/fastify' })
export default proxyProtocol
