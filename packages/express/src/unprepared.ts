/**
 * The mistake this catches: `app.use(proxy)` without `proxy.attach(server)` behind a balancer. The
 * middleware never runs then: Node's HTTP parser meets the PROXY header first and answers every
 * connection 400, and by default logs nothing. So once a middleware exists, each http.Server in the
 * process that receives a connection without being prepared is watched (through the documented
 * 'net.server.socket' diagnostics channel): a parser error whose raw bytes begin with a PROXY header
 * becomes one process warning per server, naming the line to add. The server's emit is wrapped rather
 * than given a 'clientError' listener, so Node's own answer (400 and close) is exactly what it was.
 */
import { subscribe } from 'node:diagnostics_channel'
import http from 'node:http'
import type { Socket } from 'node:net'
import { ErrorCodes, isProxyProtocolEnabled, ProxyProtocolError } from '@proxyproto/node'

const V1 = Buffer.from('PROXY')
const V2 = Buffer.from('0d0a0d0a000d0a515549540a', 'hex')
const watched = new WeakSet<http.Server>()
let subscribed = false

/** Starts watching (once per process). */
export function watchUnpreparedServers(prefix: string): void {
  if (subscribed) return
  subscribed = true
  subscribe('net.server.socket', (message) => {
    const server = (message as { socket?: Socket & { server?: unknown } }).socket?.server
    if (!(server instanceof http.Server) || watched.has(server) || isProxyProtocolEnabled(server)) return
    watched.add(server)
    const emit = server.emit
    let warned = false
    server.emit = function emit_(this: http.Server, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'clientError' && !warned && !isProxyProtocolEnabled(this) && startsWithHeader(args[0])) {
        warned = true
        const socket = args[1] as Socket | undefined
        process.emitWarning(
          new ProxyProtocolError(
            ErrorCodes.SERVER_NOT_PREPARED,
            `${prefix}a PROXY protocol header from ${socket?.remoteAddress ?? 'a peer'} reached an http server that ` +
              "was not prepared for it, so Node's HTTP parser answers every such connection 400 before any middleware " +
              'runs. Add proxy.attach(server) where the server is created, e.g. proxy.attach(app.listen(port)) or ' +
              'proxy.attach(http.createServer(app)).listen(port)',
          ),
        )
      }
      return Reflect.apply(emit, this, [event, ...args]) as boolean
    } as http.Server['emit']
  })
}

function startsWithHeader(err: unknown): boolean {
  const raw = (err as { rawPacket?: unknown } | null)?.rawPacket
  if (!Buffer.isBuffer(raw)) return false
  return raw.subarray(0, V1.length).equals(V1) || raw.subarray(0, V2.length).equals(V2)
}
