/** The UDP side of `relay --udp` and `echo --udp`: a dgram socket of the right family, bound and closed. */
import dgram from 'node:dgram'
import { isIP } from 'node:net'
import { formatHostPort } from './address.js'
import type { Listening } from './server.js'

/** A socket that can reach (or listen on) `address`: udp6 for an IPv6 address, udp4 otherwise. */
export function createDatagramSocket(address: string): dgram.Socket {
  return dgram.createSocket(isIP(address) === 6 ? 'udp6' : 'udp4')
}

/** Binds `socket`; resolves with the address it got (port 0: any free port), rejects on a bind error. */
export async function bindDatagram(
  socket: dgram.Socket,
  at: { host: string; port: number },
): Promise<Listening> {
  socket.bind(at.port, at.host)
  await new Promise<void>((resolve, reject) => {
    socket.once('listening', resolve)
    socket.once('error', reject)
  })
  const a = socket.address()
  return { host: a.address, port: a.port, address: formatHostPort(a.address, a.port) }
}

export function closeDatagram(socket: dgram.Socket): Promise<void> {
  return new Promise<void>((resolve) => socket.close(() => resolve()))
}

/** The flags both `--udp` commands open with: `--udp` itself (what sent the command here) and `--listen`. */
export const UDP_FLAGS = {
  udp: { type: 'boolean' },
  listen: { type: 'string' },
} as const
