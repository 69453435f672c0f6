/** What `relay` and `echo` share: where to listen and send, listening, connection bookkeeping, trust flags. */

import { once } from 'node:events'
import type { AddressInfo, Server, Socket } from 'node:net'
import type { TrustInput } from '@proxyproto/node'
import { formatHostPort, type HostPort, parseHostPort } from './address.js'
import { required } from './args.js'
import { UsageError } from './errors.js'

export type ListenInput = string | number | { host?: string; port?: number }

/** `[HOST:]PORT`, a port, or { host, port }; no host means every interface. */
export function resolveListen(listen: ListenInput | undefined): { host: string | undefined; port: number } {
  if (listen === undefined) return { host: undefined, port: 0 }
  if (typeof listen === 'number') return { host: undefined, port: listen }
  if (typeof listen === 'string') {
    const { host, port } = parseHostPort(listen, '--listen', { defaultHost: '', allowZero: true })
    return { host: host === '' ? undefined : host, port }
  }
  return { host: listen.host, port: listen.port ?? 0 }
}

export function resolveTarget(target: string | HostPort | undefined): HostPort {
  const given = required(target, '--target HOST:PORT')
  return typeof given === 'string' ? parseHostPort(given, '--target') : given
}

export interface Listening {
  host: string
  port: number
  /** `HOST:PORT`, IPv6 in brackets. */
  address: string
}

export async function listen(
  server: Server,
  at: { host: string | undefined; port: number },
): Promise<Listening> {
  server.listen(at.port, at.host)
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([err]) => {
      throw err
    }),
  ])
  const a = server.address() as AddressInfo
  return { host: a.address, port: a.port, address: formatHostPort(a.address, a.port) }
}

/** Sockets of a server, so that close() can end them. */
export class Connections {
  readonly sockets = new Set<Socket>()

  add(socket: Socket): void {
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
  }

  destroyAll(): void {
    for (const s of this.sockets) s.destroy()
    this.sockets.clear()
  }
}

/** Stops listening, destroys every open connection, resolves when the server is closed. */
export async function closeServer(server: Server, connections: Connections): Promise<void> {
  const closed = server.listening
    ? new Promise<void>((resolve) => server.close(() => resolve()))
    : Promise.resolve()
  connections.destroyAll()
  await closed
}

/** Repeatable `--trust`, each one a list: `--trust 10.0.0.0/8,127.0.0.1 --trust private`. */
export function trustFlag(values: readonly string[] | undefined): TrustInput | undefined {
  if (!values || values.length === 0) return undefined
  return values.flatMap((v) => v.split(',').map((s) => s.trim())).filter((s) => s !== '')
}

export function positiveInt(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined
  if (!/^\d+$/.test(text) || Number(text) === 0)
    throw new UsageError(`${flag}: ${JSON.stringify(text)} is not a positive integer`)
  return Number(text)
}

export function formatPeer(p: { address: string; port: number } | undefined): string {
  return p ? formatHostPort(p.address, p.port) : '?'
}
