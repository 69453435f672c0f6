/**
 * `proxyproto echo --udp`: a dgram socket prepared with @proxyproto/node that prints what a UDP balancer
 * sends, one JSON object per datagram, and answers each datagram with the same line. The answer is a
 * reply to the client, so it goes back through the balancer that brought the datagram (with an SPP
 * header for --framing spp): it also shows that reply routing works.
 */
import type dgram from 'node:dgram'
import type { ProxyHeader, ProxyProtocolError } from '@proxyproto/core'
import { type Framing, getProxyInfo, withProxyProtocol } from '@proxyproto/node'
import { parseCommandArgs, required } from '../args.js'
import { bindDatagram, closeDatagram, createDatagramSocket, UDP_FLAGS } from '../datagram.js'
import { UsageError } from '../errors.js'
import { headerFields, rawTlvsJson, receivedTlvsJson } from '../header-json.js'
import { RECEIVE_FLAGS, type ReceiveOptions, receiveFlags, receiveOptions } from '../receive-flags.js'
import { serveUntilSignal, stdoutRecord } from '../serve.js'
import { type ListenInput, resolveListen } from '../server.js'

export const udpHelp = `Usage: proxyproto echo --udp --listen [HOST:]PORT [--framing v2|v2-first|spp] [options]

A UDP socket prepared with @proxyproto/node. For each datagram it prints one JSON object on stdout
and sends the same line back as a reply to the client (routed through the balancer):
  framing, version, command, family, transport, source, destination   the header
  tlvs, rawTlvs   v2 TLVs, decoded and raw
  payload         the datagram's payload as text (payloadHex when it is not UTF-8)
  peer            the UDP peer (the balancer)
  client          the client the datagram is for
A dropped datagram prints {"error": CODE, "message", "peer"} (nothing is sent back).

Options:
  --listen [HOST:]PORT   where to listen (port 0: any free port); no HOST: 0.0.0.0
  --framing v2|v2-first|spp
                         how the balancer frames datagrams (default v2)
  --trust LIST           peers allowed to send a header (default loopback,private)
  --untrusted refuse|direct
  --mode require|optional  (optional is refused with spp)
  --json                 print errors as JSON too (the output already is)
  -h, --help             show this help

Examples:
  proxyproto echo --udp --listen 5300
  proxyproto relay --udp --listen 5353 --target 127.0.0.1:5300 --send v2`

export interface UdpEchoOptions extends ReceiveOptions {
  listen?: ListenInput
  framing?: Framing
  onRecord?: (record: Record<string, unknown>) => void
}

export interface UdpEcho {
  socket: dgram.Socket
  host: string
  port: number
  address: string
  close(): Promise<void>
}

function payloadFields(payload: Buffer): Record<string, unknown> {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(payload)
  return Buffer.from(text).equals(payload) ? { payload: text } : { payloadHex: payload.toString('hex') }
}

export function datagramRecord(
  payload: Buffer,
  rinfo: dgram.RemoteInfo,
  framing: Framing,
): Record<string, unknown> {
  const info = getProxyInfo(rinfo)
  const header = info?.header ?? null
  const client = { address: rinfo.address, port: rinfo.port, family: rinfo.family }
  if (!header) return { framing, header: null, ...payloadFields(payload), peer: info?.peer ?? client, client }
  if (header.version === 'spp') {
    const { version, command, family, transport, source, destination } = header
    return {
      framing,
      version,
      command,
      family,
      transport,
      source,
      destination,
      ...payloadFields(payload),
      peer: info!.peer,
      client,
    }
  }
  const v2 = header as ProxyHeader
  return {
    framing,
    ...headerFields(v2),
    tlvs: receivedTlvsJson(info!),
    rawTlvs: rawTlvsJson(v2.tlvs),
    ...payloadFields(payload),
    peer: info!.peer,
    client,
  }
}

export async function startUdpEcho(options: UdpEchoOptions = {}): Promise<UdpEcho> {
  const framing = options.framing ?? 'v2'
  const at = resolveListen(options.listen)
  const host = at.host ?? '0.0.0.0'
  const onRecord = options.onRecord ?? (() => {})
  const socket = withProxyProtocol(createDatagramSocket(host), { framing, ...receiveOptions(options) })
  socket.on('message', (payload: Buffer, rinfo: dgram.RemoteInfo) => {
    const record = datagramRecord(payload, rinfo, framing)
    onRecord(record)
    socket.send(`${JSON.stringify(record)}\n`, rinfo.port, rinfo.address)
  })
  socket.on('proxyProtocolError', (err: ProxyProtocolError, rinfo?: { address: string; port: number }) => {
    onRecord({
      error: err.code,
      message: err.message,
      peer: rinfo ? { address: rinfo.address, port: rinfo.port } : null,
    })
  })
  socket.on('error', () => {})
  const listening = await bindDatagram(socket, { host, port: at.port })
  return { socket, ...listening, close: () => closeDatagram(socket) }
}

export async function runUdp(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, {
    help: udpHelp,
    options: {
      ...UDP_FLAGS,
      framing: { type: 'string' },
      ...RECEIVE_FLAGS,
    },
  })
  if (parsed === undefined) return 0
  const { values } = parsed
  const listen = required(values.listen, '--listen [HOST:]PORT')
  const { framing } = values
  if (framing !== undefined && framing !== 'v2' && framing !== 'v2-first' && framing !== 'spp')
    throw new UsageError('--framing must be v2, v2-first or spp')
  const echo = await startUdpEcho({ listen, framing, ...receiveFlags(values), onRecord: stdoutRecord })
  return serveUntilSignal(echo)
}
