/**
 * `connect()`: a TCP (or TLS) connection whose first bytes are a PROXY header.
 */
import net from 'node:net'
import tls from 'node:tls'
import { type PreparedHeader, type ProxyHeaderInput, prepareHeader } from './header.js'

export interface ProxyConnectOptions extends Omit<net.TcpNetConnectOpts, 'path'> {
  /** The header to send: `{ source: 'ip:port', destination?, tlvs?, version? }` or a whole HeaderInput. */
  proxyHeader: ProxyHeaderInput
  /**
   * `true` or TLS options: TLS over the connection, the header written before the ClientHello (the
   * receiver reads the header, then terminates TLS: HAProxy `bind … accept-proxy ssl`).
   */
  tls?: boolean | tls.ConnectionOptions
}

/**
 * Opens the raw socket and writes `header` first. The bytes are built on `'connect'`, when the address
 * actually reached is known (the default destination), and written from a `'connect'` listener added
 * here, before the caller can add one: net runs a write made while connecting from its own later
 * `'connect'` listener, and TLS sends its ClientHello from a later one too, so the header goes first.
 */
export function openWithHeader(options: net.TcpNetConnectOpts, header: PreparedHeader): net.Socket {
  const socket = net.connect(options)
  socket.once('connect', () => {
    let bytes: Uint8Array
    try {
      bytes = header.build({ address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 })
    } catch (err) {
      socket.destroy(err as Error) // never a connection without its header
      return
    }
    // Straight to the handle (Socket#_write), not through write(): a write() made while connecting is
    // still queued in the Writable state and would come out first.
    ;(socket as unknown as WriteImpl)._write(
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length),
      'buffer',
      (err) => {
        if (err) socket.destroy(err)
      },
    )
  })
  return socket
}

interface WriteImpl {
  _write(chunk: Buffer, encoding: string, callback: (err?: Error | null) => void): void
}

/** Wraps `raw` in TLS (SNI from the host name unless given). */
export function wrapTls(
  raw: net.Socket,
  options: tls.ConnectionOptions,
  host: string | undefined,
): tls.TLSSocket {
  const servername = options.servername ?? (host && net.isIP(host) === 0 ? host : undefined)
  // Errors of the raw connection (refused, reset) reach the TLS socket through tls itself.
  return tls.connect({ ...options, ...(servername !== undefined && { servername }), socket: raw })
}

/** Splits connect() options into net's, TLS's and ours. */
function netOptionsOf(options: ProxyConnectOptions): net.TcpNetConnectOpts {
  const { proxyHeader: _h, tls: _t, ...rest } = options
  return rest as net.TcpNetConnectOpts
}

/**
 * A connection whose first bytes are the PROXY header, then whatever you write (with `tls`, then the TLS
 * handshake). Throws ERR_PROXY_ENCODE_INVALID synchronously for a header that cannot be encoded; no
 * socket is opened then.
 */
export function connect(options: ProxyConnectOptions & { tls: true | tls.ConnectionOptions }): tls.TLSSocket
export function connect(options: ProxyConnectOptions): net.Socket
export function connect(options: ProxyConnectOptions): net.Socket | tls.TLSSocket {
  const header = prepareHeader(options?.proxyHeader)
  const netOptions = netOptionsOf(options)
  const raw = openWithHeader(netOptions, header)
  if (!options.tls) return raw
  const tlsOptions = options.tls === true ? {} : options.tls
  return wrapTls(raw, tlsOptions, netOptions.host)
}
