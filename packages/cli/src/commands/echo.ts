/**
 * A server prepared with withProxyProtocol that tells each client what header it received:
 * one JSON object per connection, printed on stdout and sent back to the client, then it closes.
 */

import net from 'node:net'
import { getProxyInfo, type Peer, type ProxyProtocolError, withProxyProtocol } from '@proxyproto/node'
import { parseCommandArgs, required } from '../args.js'
import { crc32cStatus } from '../crc32c-check.js'
import { headerFields, rawTlvsJson, receivedTlvsJson } from '../header-json.js'
import { RECEIVE_FLAGS, type ReceiveOptions, receiveFlags, receiveOptions } from '../receive-flags.js'
import { serveUntilSignal, stdoutRecord } from '../serve.js'
import { Connections, closeServer, type ListenInput, listen, positiveInt, resolveListen } from '../server.js'
import { runUdp } from './echo-udp.js'

export const summary = 'a server that sends each client back the PROXY header it received, as JSON'

export const help = `Usage: proxyproto echo --listen [HOST:]PORT [options]

A TCP server prepared with @proxyproto/node. For each connection it prints one JSON object
on stdout and sends the same line back to the client, then closes the connection:
  version, command, family, transport, source, destination   the header
  crc32c   "valid", "invalid" or "absent": a header with a wrong CRC32C is shown, not refused
  tlvs     decoded TLVs: authority, alpn, uniqueId (hex), awsVpceId, azureLinkId,
           gcpPscConnectionId, netns, ssl, crc32c (as above), unknown
  rawTlvs  every TLV in wire order, NOOP included: type, name, length, hex
  peer     the TCP peer (the load balancer)
  client   the client the connection is for
Without a header (--mode optional, or an untrusted peer with --untrusted direct) the object
has "header": null. A refused connection prints {"error": CODE, "message", "peer"} and sends
it to the client too before closing.

The first line on stdout is "listening on HOST:PORT". SIGINT/SIGTERM stop it (exit status 0).

Options:
  --listen [HOST:]PORT   where to listen (port 0: any free port); no HOST: every interface
  --trust LIST           peers allowed to send a header (addresses, CIDRs, loopback, private,
                         linklocal, uniquelocal; repeatable or comma-separated;
                         default loopback,private)
  --untrusted refuse|direct
                         what to do with other peers (default refuse)
  --mode require|optional
                         whether a trusted peer must send a header (default require)
  --header-timeout MS    time allowed for the header (default 5000)
  --json                 print errors as JSON too (the output already is)
  --udp                  a UDP socket instead (v2, v2-first or spp framing): see
                         "proxyproto echo --udp --help"
  -h, --help             show this help

Examples:
  proxyproto echo --listen 8080
  proxyproto echo --listen 0.0.0.0:8080 --trust 10.0.0.0/8 --mode optional
  proxyproto encode --version 2 --source 1.2.3.4:5678 --destination 10.0.0.1:443 \\
    --tlv authority=example.com | nc 127.0.0.1 8080`

export interface EchoOptions extends ReceiveOptions {
  /** `[HOST:]PORT`, a port, or { host, port }. Default: any free port on every interface. */
  listen?: ListenInput
  headerTimeout?: number
  /** Called with each JSON record (a connection, or a refused one). */
  onRecord?: (record: Record<string, unknown>) => void
}

export interface Echo {
  server: net.Server
  host: string
  port: number
  address: string
  close(): Promise<void>
}

/** How long a client has to close after its answer before the connection is dropped. */
const LINGER_MS = 5000

export function connectionRecord(socket: net.Socket): Record<string, unknown> {
  const info = getProxyInfo(socket)
  if (!info) return { header: null }
  const { header, peer, client } = info
  if (!header) return { header: null, peer, client }
  const crc32c = crc32cStatus(header)
  const tlvs = receivedTlvsJson(info, crc32c)
  return { ...headerFields(header), crc32c, tlvs, rawTlvs: rawTlvsJson(header.tlvs), peer, client }
}

/**
 * Sends `record` as the answer and closes. What the client sends is read and dropped: closing with
 * unread bytes would send a reset, and the client could lose the answer.
 */
function answer(socket: net.Socket, record: Record<string, unknown>, connections: Connections): void {
  connections.add(socket)
  socket.resume()
  socket.end(`${JSON.stringify(record)}\n`)
  socket.setTimeout(LINGER_MS, () => socket.destroy())
}

/** Starts an echo server; resolves once it listens. */
export async function startEcho(options: EchoOptions = {}): Promise<Echo> {
  const at = resolveListen(options.listen)
  const onRecord = options.onRecord ?? (() => {})
  const connections = new Connections()
  const server = net.createServer((socket) => {
    connections.add(socket)
    socket.on('error', () => {})
    const record = connectionRecord(socket)
    onRecord(record)
    answer(socket, record, connections)
  })
  withProxyProtocol(server, {
    ...receiveOptions(options),
    // Checked in connectionRecord instead: a wrong checksum is what echo is there to show.
    verifyChecksum: false,
  })
  server.on('proxyProtocolError', (err: ProxyProtocolError, socket: net.Socket, peer: Peer | undefined) => {
    const record = { error: err.code, message: err.message, peer: peer ?? null }
    onRecord(record)
    // withProxyProtocol lets a listener answer a refused client (and closes the socket soon after).
    if (!socket.destroyed) answer(socket, record, connections)
  })
  const listening = await listen(server, at)
  return { server, ...listening, close: () => closeServer(server, connections) }
}

export async function run(args: string[]): Promise<number> {
  if (args.includes('--udp')) return runUdp(args) // datagrams: echo-udp.ts
  // --json only makes errors JSON: the records are JSON anyway.
  const parsed = parseCommandArgs(args, {
    help,
    options: { listen: { type: 'string' }, ...RECEIVE_FLAGS, 'header-timeout': { type: 'string' } },
  })
  if (parsed === undefined) return 0
  const { values } = parsed
  const echo = await startEcho({
    listen: required(values.listen, '--listen [HOST:]PORT'),
    ...receiveFlags(values),
    headerTimeout: positiveInt(values['header-timeout'], '--header-timeout'),
    onRecord: stdoutRecord,
  })
  return serveUntilSignal(echo)
}
