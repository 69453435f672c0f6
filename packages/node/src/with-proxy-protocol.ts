/**
 * Prepares a net/http/https/tls/http2 server so that every accepted connection has its PROXY header
 * taken off before any protocol parser sees a byte, and then reports the real client.
 *
 * How (Node documents that user code may emit a server's 'connection' event to hand it a socket): the server's 'connection' event is held back
 * until the header is read; the header is read by a push() hook on Node (fast-paths.ts) or in paused mode
 * ('readable' + read(), then unshift()) elsewhere, and the socket is handed to the server's own listeners
 * without resume(), so HTTP/1, TLS and HTTP/2 (which read what is already buffered) receive every byte in
 * order. After the hand-off none of our listeners remain on the socket: no per-request or per-byte cost.
 */
import { ErrorCodes, type ProxyHeader, ProxyProtocolError } from '@proxyproto/core'
import { Socket as DgramSocket } from 'node:dgram'
import { Server as NetServer, type Socket } from 'node:net'
import { Server as TlsServer, type TLSSocket } from 'node:tls'
import { canHookPush, httpDataListener, peername, pushesAfterHandOff, socketDestroy, streamPush } from './fast-paths.js'
import { servesInjectedConnections, terminatesTlsNatively, withFrontListener } from './front-listener.js'
import { applyInfo, createInfo, kProxyInfo, type Peer, type ProxyInfo } from './info.js'
import { type ProxyProtocolOptions, type ResolvedOptions, resolveOptions } from './options.js'
import { kPending, Pending, PendingQueue, type PendingSocket } from './pending.js'
import { createStats, type ProxyProtocolStats } from './stats.js'
import type { DatagramProxyProtocolOptions } from './dgram/options.js'
import type { DatagramStats } from './dgram/stats.js'
import { withProxyProtocolDgram } from './dgram/with-proxy-protocol-dgram.js'
import { warnOnce } from './warn.js'

const kState = Symbol.for('proxyproto.server')

type Emit = (this: NetServer, event: string | symbol, ...args: unknown[]) => boolean

interface State {
  server: NetServer
  options: ResolvedOptions
  stats: ProxyProtocolStats
  emit: Emit
  /** TLS servers only: info of raw sockets whose TLSSocket has not been created yet, by peer address:port. */
  tls: Map<string, ProxyInfo> | undefined
  /** Connections still waiting for their header, oldest first. */
  pending: PendingQueue<State>
  /** Error codes already reported by a process warning (no 'proxyProtocolError' listener). */
  warned: Set<string>
}

const noop = (): void => {}
const peerKey = (address: string | undefined, port: number | undefined): string => `${address}|${port}`

/**
 * Prepares `server` and returns it. Callable before or after listen(). Throws ERR_PROXY_INVALID_OPTION
 * for bad options or a server that is already prepared.
 */
export function withProxyProtocol<S extends DgramSocket>(socket: S, options?: DatagramProxyProtocolOptions): S
export function withProxyProtocol<S extends NetServer>(server: S, options?: ProxyProtocolOptions): S
export function withProxyProtocol<S extends NetServer | DgramSocket>(server: S, options?: ProxyProtocolOptions | DatagramProxyProtocolOptions): S {
  // Which path, by capability and never by runtime name, in this order (README "Runtimes"):
  // 1. a net.Server (Node's and Deno's net/http/https/tls/http2 servers, Bun's net and h2c): today's path, below,
  //    unless it is a TLS server whose listen() runs TLS natively before any JS sees the socket (Bun's tls and
  //    http2 secure servers), which takes path 3;
  // 2. a dgram.Socket: the datagram path (dgram/): headers per datagram, flows for replies;
  // 3. an HTTP-style server that is not a net.Server but serves sockets given to it with 'connection'
  //    (Bun's http.Server): a front net.Server prepared by path 1 listens for it (front-listener.ts);
  // 4. anything else: ERR_PROXY_INVALID_OPTION.
  if (server instanceof DgramSocket) return withProxyProtocolDgram(server, options as DatagramProxyProtocolOptions)
  if ((server as unknown as Record<symbol, unknown> | null | undefined)?.[kState]) {
    throw new ProxyProtocolError(ErrorCodes.INVALID_OPTION, 'this server is already prepared by withProxyProtocol')
  }
  if (!(server instanceof NetServer) || terminatesTlsNatively(server)) {
    if (servesInjectedConnections(server)) {
      return withFrontListener(server, options as ProxyProtocolOptions | undefined, withProxyProtocol) as unknown as S
    }
    throw new ProxyProtocolError(ErrorCodes.INVALID_OPTION, 'withProxyProtocol expects a net.Server (http, https, tls and http2 servers are ones), a dgram.Socket, or an http server that serves sockets emitted to it as \'connection\'')
  }
  const resolved = resolveOptions(options as ProxyProtocolOptions)
  const target = server as NetServer
  const emit = target.emit as Emit
  const state = {
    server: target,
    options: resolved,
    stats: createStats(),
    emit,
    tls: server instanceof TlsServer ? new Map() : undefined,
    warned: new Set(),
  } as State
  state.pending = new PendingQueue(state, resolved.headerTimeout, (p) =>
    refusePending(p, new ProxyProtocolError(ErrorCodes.HEADER_TIMEOUT, `no complete PROXY header within ${resolved.headerTimeout} ms`)),
  )
  Object.defineProperty(server, kState, { value: state })

  // Every 'connection' listener, including ones added later, sees the socket only after the header.
  // Fixed parameters rather than a rest array: this runs for every event the server emits.
  target.emit = function emit_(this: NetServer, event: string | symbol, a?: unknown, b?: unknown): boolean {
    if (event === 'connection') {
      onConnection(state, a as Socket)
      return true
    }
    switch (arguments.length) {
      case 1:
        return emit.call(this, event)
      case 2:
        return emit.call(this, event, a)
      case 3:
        return emit.call(this, event, a, b)
      default:
        return Reflect.apply(emit, this, arguments) as boolean
    }
  } as NetServer['emit']

  // The server has not been handed the connections still sending their header, so its own
  // closeAllConnections() cannot reach them: close() drops them, as http drops idle connections.
  const close = target.close
  target.close = function close_(this: NetServer, ...args: unknown[]) {
    while (state.pending.head !== undefined) {
      const p = state.pending.head
      settle(p)
      p.socket.on('error', noop)
      p.socket.destroy() // the server is closing: not an error to report
    }
    return close.apply(this, args as Parameters<NetServer['close']>)
  } as NetServer['close']

  if (state.tls) {
    // https and http2 hand handlers the TLSSocket, which asks the kernel for its peer: give it the info too.
    // Prepended, so it runs before the server's own secureConnection listener creates sessions, and on
    // 'tlsClientError' so a failed handshake is logged with the client. (Callbacks during the handshake,
    // SNICallback and ALPNCallback, still see the balancer: the TLSSocket is not ours before it ends.)
    const adopt = (tlsSocket: TLSSocket): void => {
      const key = peerKey(tlsSocket.remoteAddress, tlsSocket.remotePort)
      const info = state.tls!.get(key)
      if (info) {
        state.tls!.delete(key)
        applyInfo(tlsSocket, info)
      }
    }
    server.prependListener('secureConnection', adopt)
    server.prependListener('tlsClientError', (_err: Error, tlsSocket: TLSSocket) => adopt(tlsSocket))
  }
  return server
}

/** True when `server` was prepared by withProxyProtocol. */
export function isProxyProtocolEnabled(server: unknown): boolean {
  return typeof server === 'object' && server !== null && kState in server
}

/** The counters of a prepared server (a live object), or undefined. */
export function proxyProtocolStats(socket: DgramSocket): DatagramStats | undefined
export function proxyProtocolStats(server: NetServer): ProxyProtocolStats | undefined
export function proxyProtocolStats(server: NetServer | DgramSocket): ProxyProtocolStats | DatagramStats | undefined {
  return (server as unknown as Record<symbol, State | undefined>)[kState]?.stats
}

function onConnection(state: State, socket: Socket): void {
  // Re-emitted while its header is still being read or judged by onHeader (user code): the first reading
  // goes on. Checked before the info below, which onHeader already sees on the socket.
  if ((socket as Sock)[kPending] !== undefined) return
  const existing = (socket as unknown as Record<symbol, ProxyInfo | undefined>)[kProxyInfo]
  if (existing) {
    // Already peeled (a socket re-emitted by user code): hand it on as it is.
    deliver(state, socket, existing)
    return
  }
  state.stats.connections++
  const address = socket.remoteAddress
  if (!address) {
    // The peer reset the connection before we saw it (seen under load).
    refuse(state, socket, undefined, new ProxyProtocolError(ErrorCodes.NO_PEER_ADDRESS, 'connection has no peer address (already reset)'))
    return
  }
  // Asked of the kernel once: remoteAddress filled the object the other two getters would each read again.
  const known = peername(socket, address)
  const family = (known ? known.family : socket.remoteFamily) === 'IPv6' ? 'IPv6' : 'IPv4'
  const peer: Peer = { address, port: known ? known.port : (socket.remotePort ?? 0), family }
  let trusted = false
  let cause: unknown
  try {
    trusted = state.options.trust(address, peer.family) === true
  } catch (err) {
    cause = err
  }
  if (trusted && state.stats.pending >= state.options.maxPending) {
    // Refused at once: what a connect-and-wait flood holds is bounded by maxPending, not by headerTimeout.
    const error = new ProxyProtocolError(ErrorCodes.TOO_MANY_PENDING, `${state.stats.pending} connections are already waiting for their PROXY header (maxPending ${state.options.maxPending})`)
    refuse(state, socket, peer, error)
  } else if (trusted) {
    const p = new Pending(state.pending, socket, peer)
    ;(socket as Sock)[kPending] = p
    state.pending.push(p)
    state.stats.pending++
    if (canHookPush(socket)) {
      // The first bytes come to pushHeader as Node reads them (fast-paths.ts); a FIN comes as push(null),
      // a reset or any other end through destroy(), which calls destroyPending: no listener to add or remove.
      ;(socket as Sock).push = pushHeader
      socket._destroy = destroyPending
    } else {
      socket.on('readable', onReadable)
      socket.on('end', onEnd)
      socket.on('error', onError)
      socket.on('close', onClose)
    }
  } else if (state.options.untrusted === 'direct' && cause === undefined) {
    // Served as a plain connection: nothing is read, so a header it sends is just application data.
    state.stats.direct++
    deliver(state, socket, createInfo(null, peer))
  } else {
    const error = new ProxyProtocolError(ErrorCodes.UNTRUSTED_PEER, `peer ${address} is not trusted to send a PROXY header`, { cause })
    refuse(state, socket, peer, error)
  }
}

/**
 * Adds `chunk` to the bytes `p` holds (`p.buffered`) and parses them all: the parser's result, or undefined
 * when it threw and the connection has been refused. Both readers (paused mode, the push() hook) go through here.
 */
function parseMore(p: Waiting, chunk: Buffer): ReturnType<ResolvedOptions['parser']> | undefined {
  const buffered = p.buffered === undefined ? chunk : Buffer.concat([p.buffered, chunk])
  p.buffered = buffered
  try {
    return stateOf(p).options.parser(buffered)
  } catch (err) {
    refusePending(p, err as ProxyProtocolError)
    return undefined
  }
}

function refuseMissing(p: Waiting): void {
  refusePending(p, new ProxyProtocolError(ErrorCodes.HEADER_MISSING, 'trusted peer sent data that is not a PROXY header'))
}

// The listeners below are shared by every pending connection: `this` is the socket.

function onReadable(this: Sock): void {
  const p = this[kPending]
  if (p === undefined) return
  const options = stateOf(p).options
  let chunk: Buffer | null
  // biome-ignore lint/suspicious/noAssignInExpressions: the stream read loop
  while ((chunk = this.read() as Buffer | null) !== null) {
    const result = parseMore(p, chunk)
    if (result === undefined) return
    if (result.status === 'incomplete') continue
    const buffered = p.buffered!
    // Stop reading: from here on the bytes belong to the server. 'end' stays watched until the hand-off:
    // a FIN that came with the header is emitted on the next tick, while an async onHeader may still be
    // pending, and the server's listeners, attached later, would never hear it (a half-open socket).
    this.removeListener('readable', onReadable)
    if (result.status === 'absent') {
      if (options.mode === 'optional') accept(p, null, buffered)
      else refuseMissing(p)
      return
    }
    accept(p, result.header, buffered.subarray(result.length))
    return
  }
}

/**
 * The push() hook (fast-paths.ts): Node's stream reader hands it each chunk it reads, before the stream
 * buffers it. Header bytes are kept here; what follows the header goes on to the stream's own push() first,
 * so the server finds it buffered, as after unshift(), and the hand-off runs at once, inside Node's read
 * callback (as Node's own http server hands an upgraded socket on from inside one): the server's connection
 * listener may take the handle over there (http's parser.consume(), TLS, HTTP/2), which is why push()
 * then answers true whatever the stream says: a false would make Node's reader stop the handle the server
 * now reads.
 */
function pushHeader(this: Sock, chunk: Buffer | null, encoding?: BufferEncoding): boolean {
  const p = this[kPending]
  if (p === undefined) return streamPush.call(this, chunk, encoding)
  if (chunk === null) {
    onEnd.call(this)
    return false
  }
  const result = parseMore(p, chunk)
  if (result === undefined) return false
  if (result.status === 'incomplete') return true
  const buffered = p.buffered!
  // From here on the bytes are the server's; a FIN is still watched until the hand-off (pushAccepted).
  this.push = pushAccepted
  let header: ProxyHeader | null = null
  let rest = buffered
  const state = stateOf(p)
  if (result.status === 'absent') {
    if (state.options.mode !== 'optional') {
      refuseMissing(p)
      return false
    }
  } else {
    header = result.header
    rest = buffered.subarray(result.length)
  }
  // Node's HTTP/1 server reads in flowing mode from inside its 'connection' listener: bytes pushed after the
  // hand-off reach its parser at once (fast-paths.ts, 3.). Not with an onHeader hook: it may answer later.
  if (state.options.onHeader === undefined && pushesAfterHandOff(state.server)) {
    accept(p, header, undefined)
    if (rest.length > 0 && !this.destroyed) {
      const onData = httpDataListener(this)
      if (onData === undefined) streamPush.call(this, rest)
      else onData.call(this, rest) // what push() would emit at once, without its bookkeeping (fast-paths.ts, 4.)
    }
    return true
  }
  if (rest.length > 0) streamPush.call(this, rest)
  accept(p, header, undefined)
  return true
}

/**
 * push() between the header and the hand-off (an async onHeader may be pending). A FIN with nothing
 * buffered after the header refuses the connection, as onEnd does on the paused-mode path (no half-open
 * socket); with a request buffered, the server gets it and the end after the hand-off.
 */
function pushAccepted(this: Sock, chunk: Buffer | null, encoding?: BufferEncoding): boolean {
  const p = this[kPending]
  if (chunk === null && p !== undefined && this.readableLength === 0) {
    streamPush.call(this, null)
    onEnd.call(this)
    return false
  }
  return streamPush.call(this, chunk, encoding)
}

function onEnd(this: Sock): void {
  const p = this[kPending]
  if (p === undefined || healthCheck(p)) return
  refusePending(p, new ProxyProtocolError(ErrorCodes.CONNECTION_CLOSED, 'peer ended the connection before the PROXY header was complete'))
}

/**
 * Every destroy() of a socket read through the push() hook comes here while its header is pending: a read
 * error (ECONNRESET) or anything else that ends it. The error becomes the refusal's cause (or the socket a
 * health check) instead of an 'error' event, which no one listens to yet.
 */
function destroyPending(this: Sock, err: Error | null, callback: (error?: Error | null) => void): void {
  this._destroy = socketDestroy
  socketDestroy.call(this, null, callback)
  const p = this[kPending]
  if (p !== undefined && !healthCheck(p)) refuseClosed(p, err ?? undefined)
}

/** Refuses a connection that closed (reset, or destroyed) before its header was complete; `cause` is why. */
function refuseClosed(p: Waiting, cause: unknown): void {
  refusePending(p, new ProxyProtocolError(ErrorCodes.CONNECTION_CLOSED, 'connection closed before the PROXY header was complete', { cause }))
}

function onError(this: Sock, err: unknown): void {
  const p = this[kPending]
  if (p) p.lastError = err // 'close' follows
}

function onClose(this: Sock): void {
  const p = this[kPending]
  if (p && !healthCheck(p)) refuseClosed(p, p.lastError)
}

type Waiting = Pending<State>
type Sock = PendingSocket<State>

/**
 * A trusted peer closing (FIN or RST) before sending a single byte is a TCP health check (AWS NLB, GCP and
 * Kubernetes TCP probes connect and close): counted apart and closed without a refusal, event or warning,
 * unless reportHealthChecks asks for the old reporting. True when it was one.
 */
function healthCheck(p: Waiting): boolean {
  const state = stateOf(p)
  if (p.buffered !== undefined || p.socket.readableLength > 0 || state.options.reportHealthChecks) return false
  settle(p)
  state.stats.healthChecks++
  p.socket.on('error', noop)
  p.socket.destroy()
  return true
}

function stateOf(p: Waiting): State {
  return p.queue.owner
}

function settle(p: Waiting): void {
  const socket = p.socket as Sock
  socket[kPending] = undefined
  p.queue.remove(p)
  stateOf(p).stats.pending--
  if (socket.push !== streamPush) {
    socket.push = streamPush
    socket._destroy = socketDestroy
  } else {
    socket.removeListener('readable', onReadable)
    socket.removeListener('end', onEnd)
    socket.removeListener('error', onError)
    socket.removeListener('close', onClose)
  }
}

/** Refuses a connection still waiting for its header (core's `fail` is a different thing: it throws a parse error). */
function refusePending(p: Waiting, error: ProxyProtocolError): void {
  if ((p.socket as Sock)[kPending] !== p) return
  settle(p)
  refuse(stateOf(p), p.socket, p.peer, error)
}

function accept(p: Waiting, header: ProxyHeader | null, rest: Buffer | undefined): void {
  const { socket } = p
  // Give back what follows the header, in front of anything still buffered, before any reader sees it.
  if (rest !== undefined && rest.length > 0) socket.unshift(rest)
  const info = createInfo(header, p.peer)
  const onHeader = stateOf(p).options.onHeader
  if (header === null || onHeader === undefined) {
    finish(p, info)
    return
  }
  // The hook sees the socket as handlers will: remoteAddress is the client, getProxyInfo(socket) works.
  applyInfo(socket, info)
  let verdict: ReturnType<typeof onHeader>
  try {
    verdict = onHeader(header, socket)
    // Reading `then` is user code too (a getter may throw), and so is calling it: a thenable whose then
    // throws is a refusal, at once.
    const then = thenOf(verdict)
    if (then !== undefined) {
      // The header timeout, FIN/RST and server.close() still apply while the promise is pending.
      then.call(
        verdict,
        (ok: unknown) => outsidePromise(() => (ok === false ? refusePending(p, rejected()) : finish(p, info))),
        (err: unknown) => outsidePromise(() => refusePending(p, rejected(err))),
      )
      return
    }
  } catch (err) {
    refusePending(p, rejected(err))
    return
  }
  if (verdict === false) refusePending(p, rejected())
  else finish(p, info)
}

function thenOf(value: unknown): ((this: unknown, ...args: unknown[]) => unknown) | undefined {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined
  const then = (value as { then?: unknown }).then
  return typeof then === 'function' ? (then as (this: unknown, ...args: unknown[]) => unknown) : undefined
}

/**
 * Runs the hand-off after an async onHeader. A throw from the server's own 'connection' listeners (or a
 * 'proxyProtocolError' listener) must surface as it does without the library, an uncaughtException, not
 * as a rejection of a promise nobody holds, nor be taken for onHeader's own failure.
 */
function outsidePromise(fn: () => void): void {
  try {
    fn()
  } catch (err) {
    process.nextTick(rethrow, err)
  }
}

function rethrow(err: unknown): never {
  throw err
}

function finish(p: Waiting, info: ProxyInfo): void {
  if ((p.socket as Sock)[kPending] !== p) return // closed, timed out or dropped meanwhile
  const state = stateOf(p)
  settle(p)
  const { header } = info
  const stats = state.stats
  if (header === null) stats.direct++
  else if (header.command === 'LOCAL') stats.local++
  else if (header.version === 1) stats.accepted.v1++
  else stats.accepted.v2++
  deliver(state, p.socket, info)
}

function rejected(cause?: unknown): ProxyProtocolError {
  return new ProxyProtocolError(ErrorCodes.REJECTED, 'onHeader refused the connection', { cause })
}

function deliver(state: State, socket: Socket, info: ProxyInfo): void {
  applyInfo(socket, info)
  const tls = state.tls
  if (tls) {
    const key = peerKey(info.peer.address, info.peer.port)
    tls.set(key, info)
    socket.once('close', () => tls.get(key) === info && tls.delete(key))
  }
  state.emit.call(state.server, 'connection', socket)
}

/** How long a refused socket that a listener answered may stay open to let the answer out. */
const REFUSED_LINGER_MS = 1000

function refuse(state: State, socket: Socket, peer: Peer | undefined, error: ProxyProtocolError): void {
  const refused = state.stats.refused
  refused[error.code] = (refused[error.code] ?? 0) + 1
  socket.on('error', noop)
  try {
    if (state.server.listenerCount('proxyProtocolError') > 0) {
      state.emit.call(state.server, 'proxyProtocolError', error, socket, peer)
    } else warnOnce(state.warned, error, peer)
  } finally {
    // Even when a listener throws, the socket goes.
    if (socket.writableEnded && !socket.destroyed) {
      // A listener answered and ended the socket (a diagnostic echo server tells the client why): the
      // answer is let out, but the socket never outlives REFUSED_LINGER_MS.
      const timer = setTimeout(() => socket.destroy(), REFUSED_LINGER_MS)
      timer.unref()
      socket.once('close', () => clearTimeout(timer))
    } else socket.destroy()
  }
}
