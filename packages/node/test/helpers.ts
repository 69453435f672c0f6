import { encode } from '@proxyproto/core'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import net from 'node:net'

export const tlsOptions = {
  key: readFileSync(new URL('../../../test/fixtures/key.pem', import.meta.url)),
  cert: readFileSync(new URL('../../../test/fixtures/cert.pem', import.meta.url)),
}

/** The client a load balancer reports in our headers; the balancer itself is the test process on 127.0.0.1. */
export const CLIENT = { address: '203.0.113.7', port: 51234 }
export const CLIENT6 = { address: '2001:db8::7', port: 40000 }

export function v1(source = CLIENT, destination = { address: '192.0.2.1', port: 443 }): Buffer {
  return Buffer.from(encode({ version: 1, family: 'IPv4', source, destination }))
}

export function v2(source = CLIENT, destination?: { address: string; port: number }, opts: { crc32c?: boolean } = {}): Buffer {
  const family = source.address.includes(':') ? 'IPv6' : 'IPv4'
  destination ??= family === 'IPv6' ? { address: '2001:db8::1', port: 443 } : { address: '192.0.2.1', port: 443 }
  return Buffer.from(encode({ version: 2, family, source, destination }, opts))
}

export async function listen<S extends net.Server>(server: S, host = '127.0.0.1'): Promise<number> {
  server.listen(0, host)
  await once(server, 'listening')
  return (server.address() as net.AddressInfo).port
}

export async function close(server: net.Server): Promise<void> {
  ;(server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

/** Connects from `localAddress` (a distinct loopback address tells client from balancer). */
export async function connect(port: number, localAddress = '127.0.0.1', host = '127.0.0.1'): Promise<net.Socket> {
  const socket = net.connect({ port, host, localAddress })
  await once(socket, 'connect')
  return socket
}

/** Reads until the peer closes; resolves with everything received. */
export function readAll(socket: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  return new Promise((resolve) => {
    socket.on('error', () => {})
    socket.on('close', () => resolve(Buffer.concat(chunks)))
  })
}

/** Resolves with true when the peer closes the socket within `ms`, false otherwise. */
export function closedWithin(socket: net.Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms)
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(t)
      resolve(true)
    })
    socket.resume()
  })
}
