/**
 * A TCP relay that sends a PROXY header to its target: a load balancer on your own machine.
 * Each client gets its own connection to the target; the header goes first, then both directions
 * are piped with backpressure, and a FIN in one direction is passed on as a FIN (half-close).
 */

import net from 'node:net'
import { type Tlv, TlvType } from '@proxyproto/core'
import {
  connect,
  getProxyInfo,
  type ProxyProtocolError,
  type TrustInput,
  withProxyProtocol,
} from '@proxyproto/node'
import type { HostPort } from '../address.js'
import { parseCommandArgs, required } from '../args.js'
import { formatError, UsageError } from '../errors.js'
import { receiveOptions } from '../receive-flags.js'
import { serveUntilSignal, stderrLog } from '../serve.js'
import {
  Connections,
  closeServer,
  formatPeer,
  type ListenInput,
  listen,
  positiveInt,
  resolveListen,
  resolveTarget,
  trustFlag,
} from '../server.js'
import { parseTlvFlags, parseTlvTypeFlags, TLV_FLAG_HELP } from '../tlv-flags.js'
import { runUdp } from './relay-udp.js'

export const summary = 'a TCP relay that sends a PROXY header to its target (a local load balancer)'

export const help = `Usage: proxyproto relay --listen [HOST:]PORT --target HOST:PORT --send v1|v2 [options]

Accepts TCP connections and relays each one to the target, after writing a PROXY header:
source = the client's address and port, destination = the address and port the client
connected to. Both directions are piped with backpressure; when one side ends its writes
the other side's writes are ended too (half-close).

Prints "listening on HOST:PORT" on stdout when ready and one line per connection on stderr
(client -> target, bytes each way, duration). SIGINT/SIGTERM stop it cleanly (exit status 0).

Options:
  --listen [HOST:]PORT   where to listen (port 0: any free port); no HOST: every interface
  --target HOST:PORT     where to relay to ([IPv6]:PORT for IPv6)
  --send v1|v2           header version to send (default v2)
  --tlv NAME=VALUE       add a TLV to every header, replacing a forwarded one of the same type
                         (repeatable, v2 only; see below)
  --crc32c               append a CRC32C TLV (v2 only)
  --accept-proxy         expect a PROXY header on incoming connections (from another balancer)
                         and forward the original client, the destination and the TLVs it names
                         (all but a CRC32C, which --crc32c computes afresh; with --send v1, which
                         cannot carry TLVs, they are dropped and the relay says so once on stderr)
  --drop-tlv TYPE        with --accept-proxy: do not forward TLVs of this type (a name from the
                         list below, or a number such as 0xEA; repeatable)
  --trust LIST           with --accept-proxy: peers allowed to send one (addresses, CIDRs,
                         loopback, private, linklocal, uniquelocal; repeatable or comma-separated;
                         default loopback,private)
  --header-timeout MS    with --accept-proxy: time allowed for the incoming header (default 5000)
  --json                 log connections as JSON lines (still on stderr), and errors as JSON
  --udp                  relay UDP datagrams instead (v2, v2-first or spp framing): see
                         "proxyproto relay --udp --help"
  -h, --help             show this help

${TLV_FLAG_HELP}

Examples:
  proxyproto relay --listen 8080 --target 127.0.0.1:3000 --send v2 --tlv authority=example.com
  proxyproto relay --listen 127.0.0.1:8443 --target [::1]:443 --send v1
  proxyproto relay --listen 9000 --target 127.0.0.1:8080 --send v2 --accept-proxy --trust 10.0.0.0/8
  proxyproto relay --listen 9000 --target 127.0.0.1:8080 --accept-proxy --drop-tlv aws-vpce --crc32c`

export interface RelayLogEntry {
  /**
   * 'connection' when a relayed connection is over; 'refused' when --accept-proxy refused one; 'notice'
   * once for something the relay does on its own (dropping TLVs that v1 cannot carry).
   */
  event: 'connection' | 'refused' | 'notice'
  /** What a notice says. */
  message?: string
  /** The client as sent in the header (from the incoming header with acceptProxy). */
  client?: string
  /** The TCP peer, when it is not the client (acceptProxy). */
  peer?: string
  target: string
  /** Bytes relayed client → target (header excluded) and target → client. */
  bytesUp?: number
  bytesDown?: number
  durationMs?: number
  error?: string
}

export interface RelayOptions {
  /** `[HOST:]PORT`, a port, or { host, port }. Default: any free port on every interface. */
  listen?: ListenInput
  /** `HOST:PORT` or { host, port }. */
  target: string | HostPort
  /** Header version. Default 2. */
  send?: 1 | 2 | 'v1' | 'v2'
  /** TLVs added to every v2 header (each replaces a forwarded TLV of the same type). */
  tlvs?: readonly Tlv[]
  /** With acceptProxy: TLV types not forwarded. */
  dropTlvs?: readonly number[]
  /** Append a CRC32C TLV (v2). */
  crc32c?: boolean
  /** Expect a PROXY header from the peer and forward the client it names. */
  acceptProxy?: boolean
  /** With acceptProxy: peers allowed to send a header. Default loopback + private. */
  trust?: TrustInput
  /** With acceptProxy: milliseconds allowed for the incoming header. Default 5000. */
  headerTimeout?: number
  /** Called once per connection when it is over (and per refused connection). */
  onLog?: (entry: RelayLogEntry) => void
}

export interface Relay {
  server: net.Server
  host: string
  port: number
  /** `HOST:PORT` the relay listens on. */
  address: string
  /** Stops listening, destroys open connections. */
  close(): Promise<void>
}

// For the log line only: a dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d, which the header
// carries as IPv4 (connect() picks the header's family), so the log names them as IPv4 too.
const unmapped = (p: { address: string; port: number }): { address: string; port: number } => ({
  address: p.address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, ''),
  port: p.port,
})

/**
 * The TLVs a relayed header carries: the incoming header's (acceptProxy), minus a CRC32C (it covers the
 * old header; `crc32c` adds a fresh one) and the dropped types, then the relay's own, each replacing a
 * forwarded one of its type.
 */
function relayedTlvs(incoming: readonly Tlv[], own: readonly Tlv[], drop: ReadonlySet<number>): Tlv[] {
  const replaced = new Set(own.map((t) => t.type))
  const kept = incoming.filter((t) => t.type !== TlvType.CRC32C && !drop.has(t.type) && !replaced.has(t.type))
  return [...kept, ...own]
}

function versionOf(send: unknown): 1 | 2 {
  if (send === undefined || send === 2 || send === 'v2' || send === '2') return 2
  if (send === 1 || send === 'v1' || send === '1') return 1
  throw new UsageError(`--send must be v1 or v2, not ${JSON.stringify(send)}`)
}

/** Starts a relay; resolves once it listens. */
export async function startRelay(options: RelayOptions): Promise<Relay> {
  const version = versionOf(options.send)
  const target = resolveTarget(options.target)
  const at = resolveListen(options.listen)
  const tlvs = options.tlvs ?? []
  const drop = new Set(options.dropTlvs ?? [])
  const crc32c = options.crc32c === true
  if (version === 1 && (tlvs.length > 0 || crc32c)) throw new UsageError('TLVs and --crc32c need --send v2')
  if (drop.size > 0 && !options.acceptProxy) throw new UsageError('--drop-tlv goes with --accept-proxy')
  const log = options.onLog ?? (() => {})
  let toldV1Drops = false
  const targetText = formatPeer({ address: target.host, port: target.port })
  const connections = new Connections()

  const server = net.createServer({ allowHalfOpen: true }, (client) => relay(client))
  if (options.acceptProxy) {
    withProxyProtocol(server, receiveOptions({ trust: options.trust, headerTimeout: options.headerTimeout }))
    server.on(
      'proxyProtocolError',
      (err: ProxyProtocolError, _socket: net.Socket, peer?: { address: string; port: number }) => {
        log({
          event: 'refused',
          peer: formatPeer(peer),
          target: targetText,
          error: `${err.code}: ${err.message}`,
        })
      },
    )
  }

  function relay(client: net.Socket): void {
    const started = Date.now()
    connections.add(client)
    const info = options.acceptProxy ? getProxyInfo(client) : undefined
    const source = info?.client ?? { address: client.remoteAddress ?? '', port: client.remotePort ?? 0 }
    // With an incoming header, forward the destination it names (as HAProxy does); else the address we were reached at.
    const h = info?.header
    const named =
      h?.command === 'PROXY' && (h.family === 'IPv4' || h.family === 'IPv6') ? h.destination : undefined
    const destination =
      named && 'address' in named
        ? named
        : { address: client.localAddress ?? '', port: client.localPort ?? 0 }
    const entry: RelayLogEntry = { event: 'connection', client: formatPeer(unmapped(source)), target: targetText }
    if (info && info.client !== info.peer) entry.peer = formatPeer(info.peer)

    const incoming = h?.command === 'PROXY' ? h.tlvs : []
    const sent = version === 2 ? relayedTlvs(incoming, tlvs, drop) : []
    if (version === 1 && !toldV1Drops && relayedTlvs(incoming, [], drop).length > 0) {
      toldV1Drops = true
      log({
        event: 'notice',
        target: targetText,
        message: 'v1 headers cannot carry TLVs: the incoming TLVs are not forwarded',
      })
    }

    let upstream: net.Socket
    try {
      // The header is written first, before any byte of the client's (connect() in @proxyproto/node).
      upstream = connect({
        host: target.host,
        port: target.port,
        allowHalfOpen: true,
        proxyHeader: { version, source, destination, tlvs: sent, crc32c },
      })
    } catch (err) {
      client.on('error', () => {})
      client.destroy()
      log({ ...entry, durationMs: 0, error: formatError(err).replace(/^error:? /, '') })
      return
    }
    connections.add(upstream)
    let bytesUp = 0
    client.on('data', (chunk: Buffer) => {
      bytesUp += chunk.length
    })
    let error: string | undefined
    let open = 2
    const done = (): void => {
      if (--open > 0) return
      log({
        ...entry,
        bytesUp,
        bytesDown: client.bytesWritten,
        durationMs: Date.now() - started,
        ...(error !== undefined && { error }),
      })
    }
    const wire = (a: net.Socket, b: net.Socket, side: string): void => {
      a.on('error', (err: NodeJS.ErrnoException) => {
        error ??= `${side}: ${err.code ?? err.name}: ${err.message}`
      })
      a.on('close', () => {
        // An abrupt end (reset, error, destroy) of one side ends the other; a clean FIN was passed on by pipe().
        if (!a.readableEnded || !a.writableFinished) b.destroy()
        done()
      })
      a.pipe(b) // backpressure; b.end() when a ends (half-close)
    }
    wire(client, upstream, 'client')
    wire(upstream, client, 'target')
  }

  const listening = await listen(server, at)
  return {
    server,
    ...listening,
    close: () => closeServer(server, connections),
  }
}

function formatLog(e: RelayLogEntry): string {
  if (e.event === 'refused') return `refused ${e.peer}: ${e.error}`
  if (e.event === 'notice') return `note: ${e.message}`
  const via = e.peer ? ` (via ${e.peer})` : ''
  const tail = e.error ? `, ${e.error}` : ''
  return `${e.client}${via} -> ${e.target}: ${e.bytesUp} B up, ${e.bytesDown} B down, ${e.durationMs} ms${tail}`
}

export async function run(args: string[]): Promise<number> {
  if (args.includes('--udp')) return runUdp(args) // datagrams: relay-udp.ts
  const parsed = parseCommandArgs(args, {
    help,
    options: {
      listen: { type: 'string' },
      target: { type: 'string' },
      send: { type: 'string', default: 'v2' },
      tlv: { type: 'string', multiple: true },
      'drop-tlv': { type: 'string', multiple: true },
      crc32c: { type: 'boolean' },
      'accept-proxy': { type: 'boolean' },
      trust: { type: 'string', multiple: true },
      'header-timeout': { type: 'string' },
    },
  })
  if (parsed === undefined) return 0
  const { values } = parsed
  const listen = required(values.listen, '--listen [HOST:]PORT')
  const target = required(values.target, '--target HOST:PORT')
  const acceptProxy = values['accept-proxy'] === true
  if (!acceptProxy && (values.trust || values['header-timeout'] || values['drop-tlv']))
    throw new UsageError('--trust, --header-timeout and --drop-tlv go with --accept-proxy')
  const version = versionOf(values.send)
  const tlvs = parseTlvFlags(values.tlv, version)
  if (values.crc32c && version !== 2) throw new UsageError('--crc32c needs --send v2')

  const json = values.json === true
  const relay = await startRelay({
    listen,
    target,
    send: version,
    tlvs,
    dropTlvs: parseTlvTypeFlags(values['drop-tlv']),
    crc32c: values.crc32c === true,
    acceptProxy,
    trust: trustFlag(values.trust),
    headerTimeout: positiveInt(values['header-timeout'], '--header-timeout'),
    onLog: stderrLog(json, formatLog),
  })
  return serveUntilSignal(relay, { sayClosing: !json })
}
