/**
 * withProxyProtocol for a dgram.Socket: every datagram's header is taken off before 'message' listeners
 * see it, and they get the payload with the real client as rinfo. Replies sent to such a client go back
 * through its proxy (send.ts, flows.ts).
 *
 * The PROXY protocol spec defines v2 headers for DGRAM transports (§2.2: 0x12 UDP over IPv4, 0x22 over
 * IPv6) but not how datagrams are framed; `framing` says which of the senders' conventions to expect.
 * A datagram is whole: a header that parse() calls incomplete is truncated, not "more to come", and
 * nothing is buffered across datagrams. Bad datagrams are dropped and counted, never thrown and never
 * delivered with the header inside the payload.
 */
import type { Socket as DgramSocket, RemoteInfo } from 'node:dgram'
import {
  ErrorCodes,
  type ParseResult,
  ProxyProtocolError,
  parse,
  parseSpp,
  type SppParseResult,
} from '@proxyproto/core'
import { createInfo, kProxyInfo, type Peer, type ProxyInfo } from '../info.js'
import { flowKey, FlowTable } from './flows.js'
import {
  type DatagramHeader,
  type DatagramProxyProtocolOptions,
  type ResolvedDatagramOptions,
  resolveDatagramOptions,
} from './options.js'
import { wrapSend } from './send.js'
import { createDatagramStats, type DatagramStats } from './stats.js'

/** The same registry symbol as the TCP side: isProxyProtocolEnabled and proxyProtocolStats work on both. */
const kState = Symbol.for('proxyproto.server')

type Emit = (this: DgramSocket, event: string | symbol, ...args: unknown[]) => boolean

interface State {
  socket: DgramSocket
  options: ResolvedDatagramOptions
  stats: DatagramStats
  flows: FlowTable
  emit: Emit
  /** Codes already reported with process.emitWarning (no 'proxyProtocolError' listener): one warning each. */
  warned: Set<string>
}

export function withProxyProtocolDgram<S extends DgramSocket>(
  socket: S,
  options?: DatagramProxyProtocolOptions,
): S {
  if ((socket as unknown as Record<symbol, unknown>)[kState]) {
    throw new ProxyProtocolError(
      ErrorCodes.INVALID_OPTION,
      'this socket is already prepared by withProxyProtocol',
    )
  }
  const resolved = resolveDatagramOptions(options)
  const stats = createDatagramStats()
  const emit = socket.emit as Emit
  const state: State = {
    socket,
    options: resolved,
    stats,
    flows: new FlowTable(resolved.flowTtl, resolved.maxFlows, stats, resolved.framing === 'v2-first'),
    emit,
    warned: new Set(),
  }
  Object.defineProperty(socket, kState, { value: state })
  socket.emit = function emit_(this: DgramSocket, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'message') {
      onMessage(state, args[0] as Buffer, args[1] as RemoteInfo)
      return true
    }
    return emit.call(this, event, ...args)
  } as DgramSocket['emit']
  wrapSend(socket, {
    flows: state.flows,
    stats,
    spp: resolved.framing === 'spp',
    report: (error, target) => report(state, error, target),
  })
  return socket
}

function peerOf(rinfo: RemoteInfo): Peer {
  return { address: rinfo.address, port: rinfo.port, family: rinfo.family === 'IPv6' ? 'IPv6' : 'IPv4' }
}

function onMessage(state: State, msg: Buffer, rinfo: RemoteInfo): void {
  const { options, stats } = state
  stats.datagrams++
  const peer = peerOf(rinfo)
  let trusted = false
  let cause: unknown
  try {
    trusted = options.trust(peer.address, peer.family) === true
  } catch (err) {
    cause = err
  }
  if (!trusted) {
    if (options.untrusted === 'direct' && cause === undefined) {
      stats.direct++
      deliver(state, msg, createInfo(null, peer))
    } else {
      drop(
        state,
        new ProxyProtocolError(
          ErrorCodes.UNTRUSTED_PEER,
          `peer ${peer.address} is not trusted to send a PROXY header`,
          { cause },
        ),
        rinfo,
      )
    }
    return
  }
  let result: ParseResult | SppParseResult
  try {
    result = options.framing === 'spp' ? parseSpp(msg) : parse(msg, options.parse)
  } catch (err) {
    drop(state, err as ProxyProtocolError, rinfo)
    return
  }
  if (result.status === 'incomplete') {
    drop(
      state,
      new ProxyProtocolError(
        ErrorCodes.DATAGRAM_TRUNCATED,
        `datagram of ${msg.length} bytes ends inside its PROXY header`,
      ),
      rinfo,
    )
    return
  }
  if (result.status === 'absent') {
    bare(state, msg, rinfo, peer)
    return
  }
  const header: DatagramHeader = result.header
  if (header.transport === 'STREAM') {
    drop(
      state,
      new ProxyProtocolError(
        ErrorCodes.TRANSPORT_MISMATCH,
        'PROXY header names a STREAM (TCP) transport on a datagram socket',
      ),
      rinfo,
    )
    return
  }
  const payload = msg.subarray(result.length)
  const info = createInfo(header as Parameters<typeof createInfo>[0], peer)
  const onHeader = options.onHeader
  if (onHeader === undefined) {
    accept(state, header, payload, info)
    return
  }
  // The hook sees the rinfo handlers will see: the client, and getProxyInfo(rinfo) works.
  let verdict: ReturnType<typeof onHeader>
  try {
    verdict = onHeader(header, rinfoOf(info, payload.length))
  } catch (err) {
    drop(state, rejected(err), rinfo)
    return
  }
  if (verdict && typeof (verdict as Promise<unknown>).then === 'function') {
    ;(verdict as Promise<boolean | undefined | void>).then(
      (ok) => (ok === false ? drop(state, rejected(), rinfo) : accept(state, header, payload, info)),
      (err) => drop(state, rejected(err), rinfo),
    )
  } else if (verdict === false) drop(state, rejected(), rinfo)
  else accept(state, header, payload, info)
}

/** A datagram from a trusted peer without a header. */
function bare(state: State, msg: Buffer, rinfo: RemoteInfo, peer: Peer): void {
  const { options, stats } = state
  if (options.framing === 'v2-first') {
    const flow = state.flows.proxy(flowKey(peer.address, peer.port), Date.now())
    if (flow) {
      stats.accepted.flow++
      deliver(state, msg, flow.info)
      return
    }
  }
  if (options.mode === 'optional') {
    stats.direct++
    deliver(state, msg, createInfo(null, peer))
    return
  }
  if (options.framing === 'v2-first') {
    drop(
      state,
      new ProxyProtocolError(
        ErrorCodes.FLOW_UNKNOWN,
        `datagram from ${peer.address}:${peer.port} has no PROXY header and belongs to no live flow (was the flow's first datagram lost?)`,
      ),
      rinfo,
    )
  } else {
    drop(
      state,
      new ProxyProtocolError(
        ErrorCodes.HEADER_MISSING,
        `trusted peer sent a datagram without a${options.framing === 'spp' ? 'n SPP' : ' PROXY v2'} header`,
      ),
      rinfo,
    )
  }
}

function accept(state: State, header: DatagramHeader, payload: Buffer, info: ProxyInfo): void {
  const { stats } = state
  if (header.command === 'LOCAL') stats.local++
  else if (header.version === 'spp') stats.accepted.spp++
  else stats.accepted.v2++
  if (info.client !== info.peer) {
    const sppProxy = header.version === 'spp' ? header.destination : undefined
    state.flows.upsert(flowKey(info.client.address, info.client.port), info.peer, sppProxy, info, Date.now())
  }
  deliver(state, payload, info)
}

function rinfoOf(info: ProxyInfo, size: number): RemoteInfo {
  const { client } = info
  const rinfo: RemoteInfo = { address: client.address, family: client.family, port: client.port, size }
  Object.defineProperty(rinfo, kProxyInfo, { value: info })
  return rinfo
}

function deliver(state: State, payload: Buffer, info: ProxyInfo): void {
  state.emit.call(state.socket, 'message', payload, rinfoOf(info, payload.length))
}

function rejected(cause?: unknown): ProxyProtocolError {
  return new ProxyProtocolError(ErrorCodes.REJECTED, 'onHeader refused the datagram', { cause })
}

function drop(state: State, error: ProxyProtocolError, rinfo?: RemoteInfo): void {
  const dropped = state.stats.dropped
  dropped[error.code] = (dropped[error.code] ?? 0) + 1
  report(state, error, rinfo)
}

/** 'proxyProtocolError' (error, rinfo) when listened to; otherwise one process warning per code, never a throw. */
function report(
  state: State,
  error: ProxyProtocolError,
  target: { address: string; port: number } | undefined,
): void {
  if (state.socket.listenerCount('proxyProtocolError') > 0) {
    state.emit.call(state.socket, 'proxyProtocolError', error, target)
    return
  }
  if (state.warned.has(error.code)) return
  state.warned.add(error.code)
  const who = target === undefined ? 'a peer' : `${target.address}:${target.port}`
  process.emitWarning(
    `proxyproto dropped a datagram ${error.code === ErrorCodes.FLOW_EXPIRED ? 'to' : 'from'} ${who} (${error.code}): ${error.message}. ` +
      "Listen for the socket's 'proxyProtocolError' event to handle drops yourself; this warning is shown once per code and socket (see docs/udp.md).",
    { type: 'ProxyProtocolWarning', code: error.code },
  )
}
