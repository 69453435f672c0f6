/**
 * ws's WebSocketServer with a `proxyProtocol` option, for WebSocket servers behind a TCP load balancer
 * (AWS Classic ELB / NLB, HAProxy, nginx stream) that speaks the PROXY protocol.
 *
 * The HTTP server carrying the upgrades is prepared with withProxyProtocol from @proxyproto/node, so the
 * header is gone before the upgrade request is parsed, and in a 'connection' listener
 * `req.socket.remoteAddress` is the client. `req.proxyHeader` exposes the header.
 */
import http from 'node:http'
import type { Duplex } from 'node:stream'
import {
  ErrorCodes,
  isProxyProtocolEnabled,
  type ProxyHeader,
  ProxyProtocolError,
  type ProxyProtocolOptions,
  validateProxyProtocolOptions,
  withProxyProtocol,
} from '@proxyproto/node'
import { proxyHeaderOf, withErrorPrefix } from '@proxyproto/node/adapter'
import { type ServerOptions as WsServerOptions, type WebSocket, WebSocketServer as WsWebSocketServer } from 'ws'

export type { ProxyHeader, ProxyInfo, ProxyProtocolOptions } from '@proxyproto/node'
export { ErrorCodes, getProxyInfo, isProxyProtocolError, ProxyProtocolError, requireProxyInfo, withProxyProtocol } from '@proxyproto/node'
export { WebSocket } from 'ws'

declare module 'http' {
  interface IncomingMessage {
    /** Set by @proxyproto/ws on upgrade requests: the PROXY header, or null for LOCAL and connections without one. */
    proxyHeader?: ProxyHeader | null
  }
}

export interface ServerOptions<
  T extends typeof WebSocket = typeof WebSocket,
  U extends typeof http.IncomingMessage = typeof http.IncomingMessage,
> extends WsServerOptions<T, U> {
  /**
   * Take a PROXY protocol header off each connection. With `port` the server created here is prepared;
   * with `server` that server is prepared unless it already is; with `noServer` prepare your own server
   * with `withProxyProtocol(server, sameOptions)`: an upgrade from an unprepared server is refused.
   */
  proxyProtocol?: ProxyProtocolOptions | undefined
}

const PREFIX = '@proxyproto/ws: '

const prefixed = <R>(fn: () => R): R => withErrorPrefix(PREFIX, fn)

/** Answers plain HTTP requests like ws's own server does with `port`. */
function upgradeRequired(_req: http.IncomingMessage, res: http.ServerResponse): void {
  const body = http.STATUS_CODES[426]!
  res.writeHead(426, { 'Content-Length': body.length, 'Content-Type': 'text/plain' })
  res.end(body)
}

const noop = (): void => {}

export class WebSocketServer<
  T extends typeof WebSocket = typeof WebSocket,
  U extends typeof http.IncomingMessage = typeof http.IncomingMessage,
> extends WsWebSocketServer<T, U> {
  /** The server created for the `port` option; closed by close(). */
  #own: http.Server | undefined
  readonly #proxy: boolean
  /** The not-prepared warning is printed once per server, not once per refused upgrade. */
  #warned = false

  constructor(options: ServerOptions<T, U> = {}, callback?: () => void) {
    const { proxyProtocol, ...wsOptions } = options
    let own: http.Server | undefined
    if (proxyProtocol !== undefined) {
      if (wsOptions.port != null && !wsOptions.server && !wsOptions.noServer) {
        own = prefixed(() => withProxyProtocol(http.createServer(upgradeRequired), proxyProtocol))
        own.listen(wsOptions.port, wsOptions.host, wsOptions.backlog, callback)
        wsOptions.server = own as WsServerOptions<T, U>['server']
        wsOptions.port = undefined
      } else if (wsOptions.server && !wsOptions.noServer && wsOptions.port == null) {
        const server = wsOptions.server
        if (!isProxyProtocolEnabled(server)) prefixed(() => withProxyProtocol(server, proxyProtocol))
      } else {
        // noServer (or a combination ws rejects below): validate only.
        prefixed(() => validateProxyProtocolOptions(proxyProtocol))
      }
    }
    super(wsOptions, callback)
    this.#own = own
    this.#proxy = proxyProtocol !== undefined
  }

  override handleUpgrade(
    req: InstanceType<U>,
    socket: Duplex,
    head: Buffer,
    callback: (client: InstanceType<T>, request: InstanceType<U>) => void,
  ): void {
    const header = proxyHeaderOf(req)
    if (header === undefined && this.#proxy) {
      const error = new ProxyProtocolError(
        ErrorCodes.SERVER_NOT_PREPARED,
        `${PREFIX}upgrade refused: the server it came through was not prepared for the PROXY protocol, so its ` +
          "address would be the load balancer's. With noServer, call withProxyProtocol(server, options) on your server",
      )
      socket.on('error', noop)
      socket.destroy()
      // handleUpgrade runs inside an 'upgrade' listener: throwing there would crash the process.
      if (this.listenerCount('wsClientError') > 0) this.emit('wsClientError', error, socket, req)
      else if (!this.#warned) {
        this.#warned = true
        process.emitWarning(error)
      }
      return
    }
    req.proxyHeader = header ?? null
    super.handleUpgrade(req, socket, head, callback)
  }

  override close(cb?: (err?: Error) => void): void {
    const own = this.#own
    if (own === undefined) {
      super.close(cb)
      return
    }
    // Like ws with `port`: stop listening, and report once both the clients and the server are gone.
    this.#own = undefined
    let pending = 2
    let error: Error | undefined
    const settle = (err?: Error): void => {
      error ??= err
      if (--pending === 0) cb?.(error)
    }
    super.close(settle)
    own.close((err) => settle(err && (err as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING' ? err : undefined))
  }
}
