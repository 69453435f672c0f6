/**
 * The Node internals the hand-off uses to cost less per connection, each chosen by a capability check
 * and each with the public-API path as its fallback (Deno, Bun, or a Node that changes them). The guard
 * tests (packages/node/test/fast-paths.test.ts) fail loudly when any check stops passing on Node.
 *
 * 1. `_peername`: net.Socket's remoteAddress/remotePort/remoteFamily getters all read
 *    `this._getpeername()`, which returns `this._peername` once it is set (and asks the kernel only while it
 *    is not). Setting it to the client makes the socket report the client with one property write, where
 *    the public path defines three accessor properties on every socket. The check runs once, at load.
 *    The same object gives the balancer's port and family once remoteAddress has asked the kernel for it
 *    (`peername()`): the public remotePort and remoteFamily would each call `_getpeername()` again, and each
 *    call reads the socket's handle through two accessors.
 * 2. push(): a net.Socket reads through its handle's `onread`, Node's `onStreamRead`
 *    (lib/internal/stream_base_commons.js), which hands each chunk to `stream.push()`. An own `push` on the
 *    socket sees the first bytes as they arrive, without switching the stream to paused mode ('readable'
 *    listener, read(), unshift(), and the nextTick hops each of those schedules): the bytes after the
 *    header go on to the real push() untouched. Checked per socket, since it depends on the socket's state.
 * 3. Pushing after the hand-off: when the server's one 'connection' listener is Node's own HTTP/1 one
 *    (lib/_http_server.js `connectionListener`, recognised by identity), it makes the socket flowing with
 *    `socket.on('data')` before it returns, so bytes pushed after it are emitted to its parser at once
 *    (Readable's addChunk: flowing, nothing buffered, a 'data' listener), where bytes pushed before it wait
 *    in the stream's buffer for three ticks (emitReadable_, maybeReadMore_, resume_). Any other listener
 *    (TLS, HTTP/2, user code that may hand the handle to another stream) gets the bytes before the hand-off.
 * 4. Handing them to http's parser: that listener leaves the socket flowing with one 'data' listener,
 *    `socketOnData` bound to its parser (lib/_http_server.js), which feeds a chunk to the parser with the
 *    chunk in hand for an upgrade's head or a parse error's rawPacket. Bytes pushed after the hand-off (3.)
 *    reach it through Readable's push(), which emits 'data' at once and then schedules a maybeReadMore_ tick
 *    that a socket whose handle the parser now reads has no use for; they are handed to that listener
 *    directly instead (~2,000 instructions less per connection under callgrind, bench/results/handoff-profile.md).
 *    The listener's name is read once per process, as a bound function's name is made, a new string, each
 *    time it is read (~700 instructions): after that, a socket shows that Node's HTTP/1 listener ran on it by
 *    the `setEncoding` override that listener puts on every socket (the same function each time), and the
 *    lone 'data' listener it has then is the one that listener added (a new binding of socketOnData each time).
 */
import { Server as HttpServer } from 'node:http'
import { Socket } from 'node:net'
import { Readable } from 'node:stream'

/**
 * net.Socket's own _destroy: a socket read through the push() hook has an own `_destroy` (the stream
 * implementer's hook every destroy() goes through) instead of 'error' and 'close' listeners while its header
 * is read, and gets this one back after.
 */
export const socketDestroy = Socket.prototype._destroy

/** Readable.prototype.push: what a socket's own push() hook hands bytes on to. */
export const streamPush: (this: Readable, chunk: unknown, encoding?: BufferEncoding) => boolean = Readable.prototype.push

type Internals = Socket & {
  _peername?: { address: string; port: number; family: string } | null
  _handle?: { onread?: unknown } | null
  _readableState?: { flowing: boolean | null; length: number; ended: boolean }
  _events?: Record<string | symbol, unknown>
}

/**
 * Node itself. Deno's and Bun's node:net are other code that may look the same (Deno ports these very
 * functions): they take the public paths, whatever their internals look like today.
 */
const onNode = (globalThis as { Deno?: unknown }).Deno === undefined && (globalThis as { Bun?: unknown }).Bun === undefined

function peernameWorks(): boolean {
  if (!onNode) return false
  try {
    const s = new Socket() as Internals
    s._peername = { address: '192.0.2.1', port: 9, family: 'IPv4' }
    return s.remoteAddress === '192.0.2.1' && s.remotePort === 9 && s.remoteFamily === 'IPv4'
  } catch {
    return false
  }
}

/**
 * The object net.Socket's remote* getters read (1. above) once remoteAddress has filled it, when it holds
 * `address`; else undefined (take remotePort and remoteFamily).
 */
export function peername(socket: Socket, address: string): { address: string; port: number; family: string } | undefined {
  if (!fastPaths.peername) return undefined
  const known = (socket as Internals)._peername
  // (A socket whose remote* getters someone shadowed still has Node's object here: only its address is checked.)
  return known != null && known.address === address && typeof known.port === 'number' ? known : undefined
}

/** Which path each fast path takes in this process; the guard tests read it, and may force the fallback. */
export const fastPaths = {
  /** Set `_peername` (true) or define accessor properties (false). */
  peername: peernameWorks(),
  /** Allow the push() hook where a socket passes canHookPush (false: always the paused-mode path). */
  push: onNode,
  /** Push the bytes after the header once the server has the socket, where pushesAfterHandOff says so. */
  afterHandOff: onNode,
  /** Hand those bytes straight to http's 'data' listener, where httpDataListener finds it (else push them). */
  dataListener: onNode,
}

/** Node's HTTP/1 'connection' listener, read off a server made once, at load. */
const httpConnectionListener: unknown = onNode ? new HttpServer().listeners('connection')[0] : undefined

/**
 * True when `server`'s only 'connection' listener is Node's HTTP/1 one (see 3. above). EventEmitter keeps a
 * lone listener as the function itself in `_events`: one property read per connection.
 */
export function pushesAfterHandOff(server: object): boolean {
  return (
    fastPaths.afterHandOff &&
    httpConnectionListener !== undefined &&
    (server as { _events?: Record<string | symbol, unknown> })._events?.connection === httpConnectionListener
  )
}

/** Node's onStreamRead, once a socket's handle has shown it. */
let onStreamRead: unknown

/**
 * True when the first bytes of `socket` will reach a push() hook: Node's own stream reader, not flowing,
 * nothing buffered or ended yet (a socket re-emitted by user code, or one a listener already read from,
 * takes the public path).
 */
export function canHookPush(socket: Socket): boolean {
  if (!fastPaths.push) return false
  const s = socket as Internals
  const onread = s._handle?.onread
  if (onread !== onStreamRead) {
    // Recognised by name once, then by identity (reading a function's name costs more than comparing it).
    if (typeof onread !== 'function' || onread.name !== 'onStreamRead') return false
    onStreamRead = onread
  }
  const state = s._readableState
  return (
    s.push === streamPush &&
    state !== undefined &&
    state.flowing === null &&
    state.length === 0 &&
    !state.ended
  )
}

/** The name V8 gives `socketOnData.bind(...)`, the 'data' listener Node's HTTP/1 server adds (see 4. above). */
const HTTP_DATA_LISTENER = 'bound socketOnData'
/**
 * The `setEncoding` override Node's HTTP/1 connection listener puts on each socket, learned from the first
 * socket whose 'data' listener had the name above.
 */
let httpSetEncoding: unknown

/**
 * Node's HTTP/1 'data' listener on `socket`, once the server's connection listener has run (4. above): the
 * socket's only 'data' listener, flowing, nothing buffered or ended ahead of the bytes it is to get. Else
 * undefined, and the bytes go through push().
 */
export function httpDataListener(socket: Socket): ((this: Socket, chunk: Buffer) => void) | undefined {
  if (!fastPaths.dataListener) return undefined
  const s = socket as Internals
  const onData = s._events?.data
  const state = s._readableState
  if (typeof onData !== 'function') return undefined
  const setEncoding = (s as { setEncoding?: unknown }).setEncoding
  if (httpSetEncoding === undefined || setEncoding !== httpSetEncoding) {
    // Not learned yet, or a socket Node's HTTP/1 listener may not have run on: read the name.
    if (onData.name !== HTTP_DATA_LISTENER) return undefined
    if (httpSetEncoding === undefined && Object.hasOwn(s, 'setEncoding') && setEncoding !== Socket.prototype.setEncoding) httpSetEncoding = setEncoding
  }
  if (state === undefined || state.flowing !== true || state.length !== 0 || state.ended) return undefined
  return onData as (this: Socket, chunk: Buffer) => void
}
