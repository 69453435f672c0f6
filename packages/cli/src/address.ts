import { isIP } from 'node:net'
import { canonicalAddress } from '@proxyproto/core'
import { UsageError } from './errors.js'

export interface HostPort {
  host: string
  port: number
}

function parsePort(text: string, what: string, allowZero: boolean): number {
  const port = Number(text)
  if (!/^\d{1,5}$/.test(text) || port > 65535 || (!allowZero && port === 0)) {
    throw new UsageError(`${what}: ${JSON.stringify(text)} is not a port number (${allowZero ? 0 : 1}-65535)`)
  }
  return port
}

/** Splits `HOST:PORT`, `[IPv6]:PORT`; `PORT` alone when `defaultHost` is given. */
export function parseHostPort(
  text: string,
  what: string,
  options: { defaultHost?: string; allowZero?: boolean } = {},
): HostPort {
  const allowZero = options.allowZero ?? false
  if (/^\d+$/.test(text) && options.defaultHost !== undefined) {
    return { host: options.defaultHost, port: parsePort(text, what, allowZero) }
  }
  let host: string
  let port: string
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    if (close === -1 || text[close + 1] !== ':')
      throw new UsageError(`${what}: expected [IPv6]:PORT, got ${JSON.stringify(text)}`)
    host = text.slice(1, close)
    port = text.slice(close + 2)
    if (isIP(host) !== 6) throw new UsageError(`${what}: ${JSON.stringify(host)} is not an IPv6 address`)
  } else {
    const colon = text.lastIndexOf(':')
    if (colon === -1) {
      throw new UsageError(
        `${what}: expected ${options.defaultHost !== undefined ? '[HOST:]PORT' : 'HOST:PORT'}, got ${JSON.stringify(text)}`,
      )
    }
    host = text.slice(0, colon)
    port = text.slice(colon + 1)
    if (host.includes(':'))
      throw new UsageError(`${what}: write an IPv6 address in brackets, as [${host}]:${port}`)
    if (host === '') {
      if (options.defaultHost === undefined)
        throw new UsageError(`${what}: the host is missing in ${JSON.stringify(text)}`)
      host = options.defaultHost
    }
  }
  return { host, port: parsePort(port, what, allowZero) }
}

/** An endpoint for a header: an IP address (not a name) and a port; `2001:db8::1` is written `[2001:db8::1]:443`. */
export function parseEndpoint(
  text: string,
  what: string,
): { address: string; port: number; family: 'IPv4' | 'IPv6' } {
  const { host, port } = parseHostPort(text, what, { allowZero: true })
  const ip = canonicalAddress(host)
  if (!ip) throw new UsageError(`${what}: ${JSON.stringify(host)} is not an IPv4 or IPv6 address`)
  return { address: ip.address, port, family: ip.family }
}

/** `127.0.0.1:80`, `[::1]:80`. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
