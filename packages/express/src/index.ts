/**
 * Express middleware for servers behind a TCP load balancer that speaks the PROXY protocol.
 *
 * The header is taken off each connection by @proxyproto/node before Node's HTTP parser runs (that is
 * what `proxy.attach(server)` does), so `req.ip`, `req.ips` and `req.socket.remoteAddress` are the
 * client's on every request, with Express's default `trust proxy` (false). The middleware itself
 * exposes the header as `req.proxyHeader`, refuses to run on a server that was not prepared, and, when
 * the balancer terminated TLS and says so, makes `req.protocol` / `req.secure` say https (tlsOffload).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Server as NetServer } from 'node:net'
import {
  ErrorCodes,
  type ProxyHeader,
  ProxyProtocolError,
  type ProxyProtocolOptions,
  validateProxyProtocolOptions,
  withProxyProtocol,
} from '@proxyproto/node'
import { applyTlsOffload, proxyHeaderOf, withErrorPrefix } from '@proxyproto/node/adapter'
import { watchUnpreparedServers } from './unprepared.js'

export type { ProxyHeader, ProxyInfo, ProxyProtocolOptions } from '@proxyproto/node'
export { ErrorCodes, getProxyInfo, isProxyProtocolError, ProxyProtocolError, requireProxyInfo } from '@proxyproto/node'

declare global {
  namespace Express {
    interface Request {
      /** The PROXY header of this request's connection; null for LOCAL (health checks) and connections served without one. */
      proxyHeader?: ProxyHeader | null
    }
  }
}

const PREFIX = '@proxyproto/express: '

export interface ExpressProxyProtocolOptions extends ProxyProtocolOptions {
  /**
   * When the header says the client connected to the balancer over TLS (the SSL TLV's client bit, HAProxy
   * `send-proxy-v2-ssl`), `req.protocol` is 'https' and `req.secure` true, as if Node had terminated TLS
   * itself (a trusted proxy's X-Forwarded-Proto still wins, as Express decides). `req.socket` is left a
   * plain socket. Default true.
   */
  tlsOffload?: boolean
}

export interface ProxyProtocolMiddleware {
  (req: IncomingMessage & { proxyHeader?: ProxyHeader | null }, res: ServerResponse, next: (err?: unknown) => void): void
  /** Prepares the http or https server the app is served by (withProxyProtocol with the same options) and returns it. */
  attach<S extends NetServer>(server: S): S
}

const prefixed = <T>(fn: () => T): T => withErrorPrefix(PREFIX, fn)

/**
 * `const proxy = proxyProtocol(options); app.use(proxy); proxy.attach(app.listen(port))`.
 * Options are those of withProxyProtocol and are validated here (throws ERR_PROXY_INVALID_OPTION).
 */
export function proxyProtocol(options: ExpressProxyProtocolOptions = {}): ProxyProtocolMiddleware {
  let tlsOffload = true
  let opts: ProxyProtocolOptions = options
  if (options !== null && typeof options === 'object') {
    const { tlsOffload: offload, ...rest } = options
    if (offload !== undefined && typeof offload !== 'boolean')
      throw new ProxyProtocolError(ErrorCodes.INVALID_OPTION, `${PREFIX}tlsOffload must be a boolean`)
    tlsOffload = offload ?? true
    opts = rest
  }
  // Validate now, so a typo fails at startup rather than at attach().
  prefixed(() => validateProxyProtocolOptions(opts))
  // Forgetting proxy.attach(server) behind a balancer must be loud (see unprepared.ts).
  watchUnpreparedServers(PREFIX)

  const middleware = ((req, _res, next) => {
    const header = proxyHeaderOf(req)
    if (header === undefined) {
      // Never fall back to the socket's own address: behind a balancer that is the balancer's.
      next(
        new ProxyProtocolError(
          ErrorCodes.SERVER_NOT_PREPARED,
          `${PREFIX}the server this request came through was not prepared for the PROXY protocol, ` +
            "so its address would be the load balancer's. Add proxy.attach(server) where the server is created, " +
            'e.g. proxy.attach(app.listen(port)) or proxy.attach(http.createServer(app)).listen(port)',
        ),
      )
      return
    }
    req.proxyHeader = header
    // Express 4 reads req.connection.encrypted, Express 5 req.socket.encrypted.
    if (tlsOffload && header !== null) applyTlsOffload(req, req.socket, ['socket', 'connection'])
    next()
  }) as ProxyProtocolMiddleware
  middleware.attach = (server) => prefixed(() => withProxyProtocol(server, opts))
  return middleware
}
