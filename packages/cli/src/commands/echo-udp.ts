/**
 * `proxyproto echo --udp`: a dgram socket prepared with @proxyproto/node that prints what a UDP balancer
 * sends, one JSON object per datagram, and answers each datagram with the same line. The answer is a
 * reply to the client, so it goes back through the balancer that brought the datagram (with an SPP
 * header for --framing spp): it also shows that reply routing works.
 */
import dgram from 'node:dgram'
import { isIP } from 'node:net'
import { parseArgs } from 'node:util'
import type { ProxyHeader, ProxyProtocolError } from '@proxyproto/core'
import { type Framing, getProxyInfo, type TrustInput, withProxyProtocol } from '@proxyproto/node'
import { formatHostPort } from '../address.js'
import { UsageError } from '../errors.js'
import { headerFields, rawTlvsJson, tlvsJson } from '../header-json.js'
import { type ListenInput, resolveListen, trustFlag, untilSignal } from '../server.js'

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

export interface UdpEchoOptions {
  listen?: ListenInput
  framing?: Framing
  trust?: TrustInput
  untrusted?: 'refuse' | 'direct'
  mode?: 'require' | 'optional'
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
  let tlvs: Record<string, unknown>
  try {
    tlvs = tlvsJson(info!.tlvs)
  } catch (err) {
    const e = err as ProxyProtocolError
    tlvs = { error: e.code ?? 'ERR', message: e.message }
  }
  return {
    framing,
    ...headerFields(v2),
    tlvs,
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
  const socket = withProxyProtocol(dgram.createSocket(isIP(host) === 6 ? 'udp6' : 'udp4'), {
    framing,
    ...(options.trust !== undefined && { trust: options.trust }),
    ...(options.untrusted !== undefined && { untrusted: options.untrusted }),
    ...(options.mode !== undefined && { mode: options.mode }),
  })
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
  socket.bind(at.port, host)
  await new Promise<void>((resolve, reject) => {
    socket.once('listening', resolve)
    socket.once('error', reject)
  })
  const a = socket.address()
  return {
    socket,
    host: a.address,
    port: a.port,
    address: formatHostPort(a.address, a.port),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  }
}

export async function runUdp(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      udp: { type: 'boolean' },
      listen: { type: 'string' },
      framing: { type: 'string' },
      trust: { type: 'string', multiple: true },
      untrusted: { type: 'string' },
      mode: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
  if (values.help) {
    process.stdout.write(`${udpHelp}\n`)
    return 0
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`)
  if (values.listen === undefined) throw new UsageError('--listen [HOST:]PORT is required')
  const { framing, mode, untrusted } = values
  if (framing !== undefined && framing !== 'v2' && framing !== 'v2-first' && framing !== 'spp')
    throw new UsageError('--framing must be v2, v2-first or spp')
  if (mode !== undefined && mode !== 'require' && mode !== 'optional')
    throw new UsageError('--mode must be require or optional')
  if (untrusted !== undefined && untrusted !== 'refuse' && untrusted !== 'direct')
    throw new UsageError('--untrusted must be refuse or direct')
  const echo = await startUdpEcho({
    listen: values.listen,
    framing,
    trust: trustFlag(values.trust),
    untrusted,
    mode,
    onRecord: (record) => process.stdout.write(`${JSON.stringify(record)}\n`),
  })
  const stopped = untilSignal()
  process.stdout.write(`listening on ${echo.address}\n`)
  await stopped
  await echo.close()
  return 0
}
