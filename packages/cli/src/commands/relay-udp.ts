/**
 * `proxyproto relay --udp`: a UDP relay that frames datagrams the way UDP balancers do (a local Spectrum).
 * Each client flow (address and port) gets its own upstream socket, so the target sees one proxy port per
 * client (as Spectrum does, and as 'v2-first' needs); replies from the target go back to that client.
 * Flows end after --idle-timeout without traffic either way, or when --max-flows would be exceeded
 * (least recently used first): memory stays bounded.
 *
 * Framings: v2 = a PROXY v2 DGRAM header (spec §2.2, 0x12/0x22) on every datagram (dnsdist's way);
 * v2-first = on the first datagram of a flow only; spp = Cloudflare's 38-byte Simple Proxy Protocol
 * header on every datagram (https://developers.cloudflare.com/spectrum/reference/simple-proxy-protocol-header/).
 * A reply that starts with an SPP header has it removed before it reaches the client (Tencent EdgeOne's
 * SPP guide: the origin's replies carry the header and the proxy takes it off).
 */
import type dgram from 'node:dgram'
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { encode, encodeSpp, parseSpp, type Tlv } from '@proxyproto/core'
import { commonFamily } from '@proxyproto/node/adapter'
import type { HostPort } from '../address.js'
import { parseCommandArgs, required } from '../args.js'
import { bindDatagram, closeDatagram, createDatagramSocket, UDP_FLAGS } from '../datagram.js'
import { UsageError } from '../errors.js'
import { serveUntilSignal, stderrLog } from '../serve.js'
import { formatPeer, type ListenInput, positiveInt, resolveListen, resolveTarget } from '../server.js'
import { parseTlvFlags } from '../tlv-flags.js'

export type UdpFraming = 'v2' | 'v2-first' | 'spp'

export const udpHelp = `Usage: proxyproto relay --udp --listen [HOST:]PORT --target HOST:PORT --send v2|v2-first|spp [options]

Relays UDP datagrams to the target, each with the client's address in front:
  v2        a PROXY v2 header (UDP over IPv4/IPv6) on every datagram, as dnsdist sends
  v2-first  a PROXY v2 header on the first datagram of each client flow only
  spp       Cloudflare's Simple Proxy Protocol (38 bytes) on every datagram, as Spectrum sends
Each client (address and port) gets its own upstream socket; the target's replies go back to that
client (an SPP header on a reply is taken off). A flow ends after --idle-timeout without a datagram
either way, or when --max-flows would be exceeded (the least recently used goes first).

Prints "listening on HOST:PORT" on stdout when ready and one line per ended flow on stderr.

Options:
  --listen [HOST:]PORT   where to listen (port 0: any free port); no HOST: 0.0.0.0
  --target HOST:PORT     where to relay to ([IPv6]:PORT for IPv6)
  --send v2|v2-first|spp the framing (default v2)
  --tlv NAME=VALUE       add a TLV to every v2 header (repeatable; see "proxyproto relay --help")
  --crc32c               append a CRC32C TLV (v2 framings)
  --idle-timeout MS      end a flow after this long without a datagram (default 60000)
  --max-flows N          most flows at once (default 10000)
  --json                 log flows as JSON lines (still on stderr), and errors as JSON
  -h, --help             show this help

Examples:
  proxyproto relay --udp --listen 5353 --target 127.0.0.1:5300 --send v2
  proxyproto relay --udp --listen 127.0.0.1:7777 --target 127.0.0.1:7000 --send spp`

export interface UdpFlowLogEntry {
  event: 'flow'
  client: string
  target: string
  datagramsUp: number
  datagramsDown: number
  durationMs: number
  /** Why it ended: idle, evicted (max flows), closed (relay stopped), error. */
  ended: 'idle' | 'evicted' | 'closed' | 'error'
  error?: string
}

export interface UdpRelayOptions {
  listen?: ListenInput
  target: string | HostPort
  send?: UdpFraming
  tlvs?: readonly Tlv[]
  crc32c?: boolean
  idleTimeout?: number
  maxFlows?: number
  onLog?: (entry: UdpFlowLogEntry) => void
}

export interface UdpRelay {
  socket: dgram.Socket
  host: string
  port: number
  address: string
  /** Flows open now. */
  flows(): number
  close(): Promise<void>
}

interface Flow {
  key: string
  client: { address: string; port: number }
  upstream: dgram.Socket
  first: boolean
  up: number
  down: number
  started: number
  timer: NodeJS.Timeout
}

function framingOf(send: unknown): UdpFraming {
  if (send === undefined || send === 'v2' || send === 2) return 'v2'
  if (send === 'v2-first' || send === 'spp') return send
  throw new UsageError(`--send must be v2, v2-first or spp with --udp, not ${JSON.stringify(send)}`)
}

export async function startUdpRelay(options: UdpRelayOptions): Promise<UdpRelay> {
  const framing = framingOf(options.send)
  const tlvs = options.tlvs ?? []
  const crc32c = options.crc32c === true
  if (framing === 'spp' && (tlvs.length > 0 || crc32c))
    throw new UsageError('TLVs and --crc32c need a v2 framing')
  const idleTimeout = options.idleTimeout ?? 60_000
  const maxFlows = options.maxFlows ?? 10_000
  const log = options.onLog ?? (() => {})
  const target = resolveTarget(options.target)
  const targetAddress = isIP(target.host) ? target.host : (await lookup(target.host)).address
  const targetText = formatPeer({ address: target.host, port: target.port })
  const at = resolveListen(options.listen)
  const listenHost = at.host ?? '0.0.0.0'
  const socket = createDatagramSocket(listenHost)
  const flows = new Map<string, Flow>() // least recently used first
  let local = { address: listenHost, port: 0 }

  function end(flow: Flow, ended: UdpFlowLogEntry['ended'], error?: string): void {
    if (flows.get(flow.key) !== flow) return
    flows.delete(flow.key)
    clearTimeout(flow.timer)
    flow.upstream.close()
    log({
      event: 'flow',
      client: formatPeer(flow.client),
      target: targetText,
      datagramsUp: flow.up,
      datagramsDown: flow.down,
      durationMs: Date.now() - flow.started,
      ended,
      ...(error !== undefined && { error }),
    })
  }

  function touch(flow: Flow): void {
    flow.timer.refresh()
    flows.delete(flow.key)
    flows.set(flow.key, flow)
  }

  function open(key: string, client: { address: string; port: number }): Flow {
    while (flows.size >= maxFlows) end(flows.values().next().value!, 'evicted')
    const upstream = createDatagramSocket(targetAddress)
    const flow: Flow = {
      key,
      client,
      upstream,
      first: true,
      up: 0,
      down: 0,
      started: Date.now(),
      timer: setTimeout(() => end(flow, 'idle'), idleTimeout),
    }
    flow.timer.unref()
    flows.set(key, flow)
    upstream.on('error', (err: NodeJS.ErrnoException) =>
      end(flow, 'error', `${err.code ?? err.name}: ${err.message}`),
    )
    upstream.on('message', (msg, rinfo) => {
      if (rinfo.address !== targetAddress || rinfo.port !== target.port) return // only the target answers
      let payload = msg
      if (framing === 'spp') {
        try {
          const r = parseSpp(msg)
          if (r.status === 'complete') payload = msg.subarray(r.length)
        } catch {
          return // starts like an SPP header but is cut short: not a reply we can pass on
        }
      }
      flow.down++
      touch(flow)
      socket.send(payload, flow.client.port, flow.client.address)
    })
    return flow
  }

  function header(flow: Flow): Uint8Array | undefined {
    // v2-first: every datagram after a flow's first goes bare, before any work on the addresses.
    if (framing === 'v2-first' && !flow.first) return undefined
    flow.first = false
    // One family for both ends (IPv4-mapped clients of a dual-stack socket as IPv4): the senders' rule.
    const { family, source, destination } = commonFamily(flow.client, local)
    if (framing === 'spp') return encodeSpp(source, destination)
    return encode(
      { version: 2, command: 'PROXY', family, transport: 'DGRAM', source, destination, tlvs },
      { crc32c },
    )
  }

  socket.on('message', (msg, rinfo) => {
    const key = `${rinfo.address}|${rinfo.port}`
    let flow = flows.get(key)
    if (flow) touch(flow)
    else flow = open(key, { address: rinfo.address, port: rinfo.port })
    flow.up++
    const h = header(flow)
    flow.upstream.send(h ? [h, msg] : msg, target.port, targetAddress)
  })
  socket.on('error', () => {}) // ICMP port unreachable etc. on a listening socket: nothing to do

  const listening = await bindDatagram(socket, { host: listenHost, port: at.port })
  local = { address: listening.host, port: listening.port }
  return {
    socket,
    ...listening,
    flows: () => flows.size,
    close: async () => {
      for (const flow of [...flows.values()]) end(flow, 'closed')
      await closeDatagram(socket)
    },
  }
}

function formatLog(e: UdpFlowLogEntry): string {
  const tail = e.error ? `, ${e.error}` : ''
  return `${e.client} -> ${e.target}: ${e.datagramsUp} datagrams up, ${e.datagramsDown} down, ${e.durationMs} ms, ${e.ended}${tail}`
}

export async function runUdp(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, {
    help: udpHelp,
    options: {
      ...UDP_FLAGS,
      target: { type: 'string' },
      send: { type: 'string', default: 'v2' },
      tlv: { type: 'string', multiple: true },
      crc32c: { type: 'boolean' },
      'idle-timeout': { type: 'string' },
      'max-flows': { type: 'string' },
    },
  })
  if (parsed === undefined) return 0
  const { values } = parsed
  const listen = required(values.listen, '--listen [HOST:]PORT')
  const target = required(values.target, '--target HOST:PORT')
  const framing = framingOf(values.send)
  const tlvs = parseTlvFlags(values.tlv, 2)
  const json = values.json === true
  const relay = await startUdpRelay({
    listen,
    target,
    send: framing,
    tlvs,
    crc32c: values.crc32c === true,
    idleTimeout: positiveInt(values['idle-timeout'], '--idle-timeout'),
    maxFlows: positiveInt(values['max-flows'], '--max-flows'),
    onLog: stderrLog(json, formatLog),
  })
  return serveUntilSignal(relay, { sayClosing: !json })
}
