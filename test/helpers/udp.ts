/** The UDP side of the socket kit: bound sockets, the next datagram, DGRAM headers. Not a test file. */
import { encode, type HeaderInput } from '@proxyproto/core'
import dgram from 'node:dgram'
import { once } from 'node:events'

export interface Datagram {
  msg: Buffer
  rinfo: dgram.RemoteInfo
}

/** A udp4 (or udp6) socket bound to `address` on a free port; closed by the caller. */
export async function bindUdp(address = '127.0.0.1', type: 'udp4' | 'udp6' = 'udp4'): Promise<dgram.Socket> {
  const socket = dgram.createSocket(type)
  socket.bind(0, address)
  await once(socket, 'listening')
  return socket
}

/** Resolves with the socket's next datagram (rejects after `ms`, so a lost one fails the test rather than hanging). */
export function nextDatagram(socket: dgram.Socket, ms = 5000): Promise<Datagram> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.removeListener('message', on)
      reject(new Error(`no datagram within ${ms} ms`))
    }, ms)
    const on = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
      clearTimeout(timer)
      resolve({ msg, rinfo })
    }
    socket.once('message', on)
  })
}

/** Collects every datagram the socket delivers, in order. */
export function collect(socket: dgram.Socket): Datagram[] {
  const all: Datagram[] = []
  socket.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => all.push({ msg, rinfo }))
  return all
}

export function sendTo(
  socket: dgram.Socket,
  data: Uint8Array | readonly Uint8Array[],
  port: number,
  address = '127.0.0.1',
): Promise<void> {
  return new Promise((resolve, reject) =>
    socket.send(data as Uint8Array, port, address, (err) => (err ? reject(err) : resolve())),
  )
}

export function portOf(socket: dgram.Socket): number {
  return socket.address().port
}

/** A v2 PROXY header for a UDP datagram (0x12 / 0x22) from `source` to `destination`. */
export function dgramHeader(
  source: { address: string; port: number },
  destination?: { address: string; port: number },
  extra: Partial<HeaderInput> = {},
): Buffer {
  const family = source.address.includes(':') ? 'IPv6' : 'IPv4'
  destination ??=
    family === 'IPv6' ? { address: '2001:db8::1', port: 53 } : { address: '192.0.2.1', port: 53 }
  return Buffer.from(encode({ version: 2, family, transport: 'DGRAM', source, destination, ...extra }))
}

export async function closeUdp(...sockets: dgram.Socket[]): Promise<void> {
  await Promise.all(
    sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve())).catch(() => {})),
  )
}
