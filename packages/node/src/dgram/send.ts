/**
 * Reply routing: a prepared socket's send() looks its destination up in the flow table. A client learned
 * from a header is answered through the proxy that brought it (bare payload for v2, as dnsdist expects;
 * with an SPP header for 'spp', as Tencent EdgeOne's SPP guide requires of origin replies); an address
 * that was never a client is sent to unchanged; a client whose flow ended is not sent to at all.
 *
 * dgram.Socket#send's arguments are read the way Node reads them (lib/dgram.js): with a 4th argument
 * (port) or a 5th (address) the 2nd and 3rd are offset and length, else they are port and address.
 */
import type { Socket as DgramSocket } from 'node:dgram'
import { isIP } from 'node:net'
import { canonicalAddress, encodeSpp, ErrorCodes, ProxyProtocolError } from '@proxyproto/core'
import { type Flow, type FlowTable, flowKey } from './flows.js'
import type { DatagramStats } from './stats.js'

type Send = DgramSocket['send']
type Callback = (error: Error | null, bytes: number) => void

export interface SendContext {
  flows: FlowTable
  stats: DatagramStats
  spp: boolean
  /** Reports a reply that was dropped (no callback given): 'proxyProtocolError' or a one-time warning. */
  report(error: ProxyProtocolError, target: { address: string; port: number }): void
}

type Msg = string | NodeJS.ArrayBufferView | ReadonlyArray<string | NodeJS.ArrayBufferView>

function toBuffer(m: string | NodeJS.ArrayBufferView): Buffer {
  return typeof m === 'string' ? Buffer.from(m) : Buffer.from(m.buffer, m.byteOffset, m.byteLength)
}

/** The message as a list of buffers, sliced when send() was given an offset and a length. */
function pieces(msg: Msg, offset: unknown, length: unknown, sliced: boolean): Buffer[] {
  if (Array.isArray(msg)) return (msg as ReadonlyArray<string | NodeJS.ArrayBufferView>).map(toBuffer)
  const whole = toBuffer(msg as string | NodeJS.ArrayBufferView)
  if (!sliced) return [whole]
  const start = Number(offset) || 0
  return [whole.subarray(start, length === undefined ? undefined : start + Number(length))]
}

export function wrapSend(socket: DgramSocket, ctx: SendContext): void {
  const send = socket.send as (...args: unknown[]) => void
  socket.send = function send_(this: DgramSocket, ...args: unknown[]): void {
    const sliced = Boolean(args[4]) || (Boolean(args[3]) && typeof args[3] !== 'function')
    const pi = sliced ? 3 : 1
    const port = args[pi]
    const given = args[pi + 1]
    // Connected sockets (no port) and sends without an address literal are not routed: they go as given.
    if (
      (typeof port !== 'number' && typeof port !== 'string') ||
      typeof given !== 'string' ||
      isIP(given) === 0
    ) {
      send.apply(this, args)
      return
    }
    let address: string = given
    const now = Date.now()
    let key = flowKey(address, port)
    let flow = ctx.flows.client(key, now)
    if (flow === undefined) {
      const canonical = canonicalAddress(address)?.address
      if (canonical !== undefined && canonical !== address) {
        address = canonical
        key = flowKey(canonical, port)
        flow = ctx.flows.client(key, now)
      }
    }
    const cbIndex = args.findIndex((a, i) => i > 0 && typeof a === 'function')
    const callback = cbIndex === -1 ? undefined : (args[cbIndex] as Callback)
    if (flow === undefined) {
      if (ctx.flows.hasEnded(key)) {
        ctx.stats.replies.dropped++
        const error = new ProxyProtocolError(
          ErrorCodes.FLOW_EXPIRED,
          `reply to ${address}:${port} dropped: its flow through the proxy has ended, and sending it directly would bypass the proxy`,
        )
        if (callback) process.nextTick(callback, error, 0)
        else ctx.report(error, { address, port: Number(port) })
        return
      }
      ctx.stats.replies.direct++
      send.apply(this, args)
      return
    }
    ctx.stats.replies.routed++
    routed(this, send, flow, args, sliced, callback, ctx.spp, Number(port), address)
  } as Send
}

function routed(
  socket: DgramSocket,
  send: (...args: unknown[]) => void,
  flow: Flow,
  args: unknown[],
  sliced: boolean,
  callback: Callback | undefined,
  spp: boolean,
  port: number,
  address: string,
): void {
  const { proxy } = flow
  if (!spp) {
    // The payload unchanged, to the proxy instead of the client.
    const copy = args.slice()
    copy[sliced ? 3 : 1] = proxy.port
    copy[sliced ? 4 : 2] = proxy.address
    send.apply(socket, copy)
    return
  }
  // SPP replies carry the header with the roles swapped: from the origin's side, the datagram goes to the
  // client, via the proxy endpoint the client reached.
  const header = Buffer.from(encodeSpp(flow.sppProxy ?? proxy, { address, port }))
  const list = [header, ...pieces(args[0] as Msg, args[1], args[2], sliced)]
  if (callback) send.call(socket, list, proxy.port, proxy.address, callback)
  else send.call(socket, list, proxy.port, proxy.address)
}
