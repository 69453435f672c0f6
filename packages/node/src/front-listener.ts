/**
 * The front-listener path, for HTTP servers that are not a net.Server but serve sockets handed to them
 * with 'connection' (Bun's http.Server: it listens natively, so no JS socket exists before its HTTP
 * parser runs, and nothing could be peeled off).
 *
 * How: an internal net.Server (the "front") is prepared by withProxyProtocol's ordinary path — the same
 * options, trust, header timeout, stats, error codes — and the user's server's listen() goes through it.
 * Each socket the front hands on after its header is emitted as 'connection' on the user's server,
 * which serves it as its own. The user's server takes over the front's public face: listen() in all its
 * forms, address(), listening, 'listening', 'error', 'close', 'drop', 'proxyProtocolError', close(),
 * ref()/unref(), getConnections(), maxConnections.
 *
 * Decided by capability, never by runtime name: a runtime whose http.Server is a net.Server never gets
 * here (see the order in withProxyProtocol).
 */
import { EventEmitter } from 'node:events'
import https from 'node:https'
import { Server as NetServer, type Socket } from 'node:net'
import { Server as TlsServer, type TLSSocket } from 'node:tls'
import { ErrorCodes, ProxyProtocolError } from '@proxyproto/core'
import { applyInfo, getProxyInfo, type ProxyInfo } from './info.js'
import type { ProxyProtocolOptions } from './options.js'

/** An HTTP-style server that is not a net.Server: an EventEmitter with listen() that serves sockets given to it with 'connection'. */
export interface InjectableServer extends EventEmitter {
  listen(...args: unknown[]): unknown
}

/** True when `server` accepts connections injected with emit('connection', socket): it already listens for them. */
export function servesInjectedConnections(server: unknown): server is InjectableServer {
  return (
    server instanceof EventEmitter &&
    typeof (server as { listen?: unknown }).listen === 'function' &&
    server.listenerCount('connection') > 0
  )
}

/**
 * True for a TLS server (a net.Server) whose own listen() runs TLS natively, before any JS sees the socket:
 * on the ordinary path the PROXY header would reach the TLS layer (checked on Bun 1.4: the client gets a
 * protocol_version alert). Such a runtime marks these servers with the registered symbol `::buntls::`
 * (their TLS options); its tls.Server and http2 secure server also wrap a raw socket handed to them with
 * 'connection' in a TLSSocket, so the front listener serves them whole.
 */
export function terminatesTlsNatively(server: unknown): boolean {
  return server instanceof TlsServer && Symbol.for('::buntls::') in server
}

// withProxyProtocol's per-server state lives under this registry symbol; the user's server shares the front's,
// so proxyProtocolStats(server) and isProxyProtocolEnabled(server) answer for it.
const kState = Symbol.for('proxyproto.server')

/**
 * Prepares `server` through a front net.Server. `prepare` is withProxyProtocol's net.Server path (passed
 * in rather than imported, so the two modules do not import each other). Throws ERR_PROXY_UNSUPPORTED_SERVER
 * for what this path cannot do whole.
 */
export function withFrontListener<S extends InjectableServer>(
  server: S,
  options: ProxyProtocolOptions | undefined,
  prepare: (front: NetServer, options: ProxyProtocolOptions | undefined) => NetServer,
): S {
  if (server instanceof https.Server) {
    // Checked on Bun 1.4: its https.Server serves an injected socket as plain HTTP, skipping TLS. Half-working
    // (a TLS client cannot connect; a plaintext one would be served on the TLS port) is worse than refused.
    throw new ProxyProtocolError(
      ErrorCodes.UNSUPPORTED_SERVER,
      "this runtime's https server does not run TLS on connections handed to it, so the PROXY header cannot be " +
        'taken off before TLS. Terminate TLS at the load balancer and serve http, or serve https with ' +
        'http2.createSecureServer({ allowHTTP1: true }), which this path serves whole',
    )
  }
  if ((server as { listening?: unknown }).listening === true) {
    // Its own listener is bound natively: connections already arrive without passing through us.
    throw new ProxyProtocolError(
      ErrorCodes.UNSUPPORTED_SERVER,
      'on this runtime the server must be prepared before listen(): its listening socket is not a net.Server, ' +
        'so connections already accepted cannot be peeled. Write withProxyProtocol(http.createServer(app)).listen(port) ' +
        '(Express: proxy.attach(http.createServer(app)).listen(port))',
    )
  }
  // Like Node's http.Server: half-open allowed, so a request that came with a FIN is still answered.
  const front = new NetServer({ allowHalfOpen: true, noDelay: true })
  // Every event of the front is the server's ('connection' after the header, 'listening', 'error', 'close',
  // 'drop', 'proxyProtocolError'), and so are the listener counts the ordinary path consults (an event or a
  // process warning for a refusal). Installed before prepare(), which keeps this emit for its own events.
  const own = front as unknown as EventEmitter
  const ownEmit = own.emit
  const ownCount = own.listenerCount
  own.emit = (event: string | symbol, ...args: unknown[]): boolean => {
    // net.Server's own once('close', cb) of close(cb) stays on the front.
    if (event !== 'connection' && ownCount.call(own, event) > 0) ownEmit.call(own, event, ...args)
    return server.emit(event, ...args)
  }
  own.listenerCount = (event: string | symbol, listener?: (...args: unknown[]) => void) =>
    server.listenerCount(event, listener)
  prepare(front, options)
  Object.defineProperty(server, kState, { value: (front as unknown as Record<symbol, unknown>)[kState] })
  if (server instanceof TlsServer) adoptTlsSockets(server)

  const target = server as unknown as Record<string | symbol, unknown>
  target.listen = function listen(...args: unknown[]) {
    // The callback is a 'listening' listener of the server itself, as net.Server.listen makes it.
    if (typeof args[args.length - 1] === 'function') server.once('listening', args.pop() as () => void)
    front.listen(...(args as Parameters<NetServer['listen']>))
    return server
  }
  target.close = function close(callback?: (err?: Error) => void) {
    front.close((err) => callback?.call(server, err))
    // Node's http.Server.close() ends idle keep-alive connections too; the server tracks the ones it was given.
    const idle = target.closeIdleConnections
    if (typeof idle === 'function') idle.call(server)
    return server
  }
  target.address = () => front.address()
  target.ref = () => {
    front.ref()
    return server
  }
  target.unref = () => {
    front.unref()
    return server
  }
  target.getConnections = (cb: (err: Error | null, count: number) => void) => {
    front.getConnections(cb)
    return server
  }
  if (typeof Symbol.asyncDispose === 'symbol') {
    target[Symbol.asyncDispose] = () =>
      new Promise<void>((resolve) => (target.close as (cb: () => void) => void)(() => resolve()))
  }
  Object.defineProperty(server, 'listening', { get: () => front.listening, configurable: true })
  Object.defineProperty(server, 'maxConnections', {
    get: () => front.maxConnections,
    set: (n: number) => {
      front.maxConnections = n
    },
    configurable: true,
  })
  return server
}

/**
 * The TLSSocket a TLS server wraps around a handed-on socket asks the kernel for its peer: give it the
 * info too, before the server's own 'secureConnection' listener creates sessions (as the ordinary path does
 * for Node's TLS servers), matched by the balancer's address and port, which both sockets report.
 */
function adoptTlsSockets(server: TlsServer): void {
  const infos = new Map<string, ProxyInfo>()
  const key = (address: string | undefined, port: number | undefined): string => `${address}|${port}`
  server.prependListener('connection', (socket: Socket) => {
    const info = getProxyInfo(socket)
    if (info === undefined) return
    const k = key(info.peer.address, info.peer.port)
    infos.set(k, info)
    socket.once('close', () => infos.get(k) === info && infos.delete(k))
  })
  const adopt = (tlsSocket: TLSSocket): void => {
    const k = key(tlsSocket.remoteAddress, tlsSocket.remotePort)
    const info = infos.get(k)
    if (info) {
      infos.delete(k)
      applyInfo(tlsSocket, info)
    }
  }
  server.prependListener('secureConnection', adopt)
  server.prependListener('tlsClientError', (_err: Error, tlsSocket: TLSSocket) => adopt(tlsSocket))
}
