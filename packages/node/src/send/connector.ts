/**
 * `proxyProtocolConnector()`: a function with undici's `connect` signature (`buildConnector`'s result),
 * so `new undici.Agent({ connect: proxyProtocolConnector({ proxyHeader }) })` sends a PROXY header on
 * every connection it opens. undici is not imported: this package gains no dependency.
 */
import type net from 'node:net'
import type tls from 'node:tls'
import { openWithHeader, wrapTls } from './connect.js'
import { type PreparedHeader, type ProxyHeaderInput, prepareHeader, resolveHeader } from './header.js'

/** What undici passes its connector (undici's `buildConnector.Options`). */
export interface ConnectorOptions {
  hostname: string
  host?: string
  protocol: string
  port: string
  servername?: string | null
  localAddress?: string | null
  httpSocket?: net.Socket
}

export type ConnectorCallback = (...args: [null, net.Socket | tls.TLSSocket] | [Error, null]) => void

export interface ProxyProtocolConnectorOptions
  extends Omit<tls.ConnectionOptions, 'socket' | 'host' | 'port'> {
  /** The header for every connection; a function gets undici's connect options (hostname, port, ...). */
  proxyHeader: ProxyHeaderInput | ((options: ConnectorOptions) => ProxyHeaderInput)
  /** Milliseconds to wait for the connection (and TLS handshake). Default 10000, as undici's. */
  timeout?: number
}

const DEFAULT_TIMEOUT = 10_000

/**
 * undici dispatchers pool connections per origin, not per header: one dispatcher speaks for one client.
 * Give each client its own `undici.Agent` (or a `proxyHeader` that is the same for every connection).
 */
export function proxyProtocolConnector(
  options: ProxyProtocolConnectorOptions,
): (connectOptions: ConnectorOptions, callback: ConnectorCallback) => net.Socket | tls.TLSSocket | undefined {
  const {
    proxyHeader,
    timeout = DEFAULT_TIMEOUT,
    ...tlsOptions
  } = options ?? ({} as ProxyProtocolConnectorOptions)
  if (typeof proxyHeader !== 'function') prepareHeader(proxyHeader) // bad input is a setup error
  return (connectOptions, callback) => {
    let header: PreparedHeader
    try {
      header = resolveHeader(proxyHeader, connectOptions)
    } catch (err) {
      callback(err as Error, null)
      return undefined
    }
    const secure = connectOptions.protocol === 'https:'
    const host = connectOptions.hostname.replace(/^\[(.*)\]$/, '$1') // undici passes IPv6 hosts in brackets
    const port = Number(connectOptions.port) || (secure ? 443 : 80)
    const raw = openWithHeader(
      { host, port, ...(connectOptions.localAddress ? { localAddress: connectOptions.localAddress } : {}) },
      header,
    )
    const servername = connectOptions.servername ?? tlsOptions.servername
    const socket = secure
      ? wrapTls(
          raw,
          { ALPNProtocols: ['http/1.1'], ...tlsOptions, ...(servername ? { servername } : {}) },
          host,
        )
      : raw
    // As undici's own connector: no Nagle delay, TCP keep-alive probes.
    raw.setNoDelay(true)
    raw.setKeepAlive(true, 60_000)
    let settled = false
    const settle = (err: Error | null): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.off('error', settle)
      if (err) {
        socket.destroy()
        callback(err, null)
      } else callback(null, socket)
    }
    const timer = setTimeout(
      () =>
        settle(
          Object.assign(new Error(`connect timeout after ${timeout} ms`), {
            code: 'UND_ERR_CONNECT_TIMEOUT',
          }),
        ),
      timeout,
    )
    socket.once(secure ? 'secureConnect' : 'connect', () => settle(null))
    socket.once('error', settle)
    return socket
  }
}
