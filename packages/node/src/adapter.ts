/**
 * `@proxyproto/node/adapter`: what every framework adapter (@proxyproto/express, fastify, ws) and the CLI need
 * from the node layer, in one place so their behaviour cannot drift apart. A subpath of its own, apart from
 * the user API of the main entry.
 */
import { type ProxyHeader, ProxyProtocolError } from '@proxyproto/core'
import { getProxyInfo } from './info.js'

/**
 * The header a handler is shown as `req.proxyHeader`: the PROXY header, or null for LOCAL (health checks)
 * and for connections served without one. Undefined when the server was not prepared.
 */
export function proxyHeaderOf(target: Parameters<typeof getProxyInfo>[0]): ProxyHeader | null | undefined {
  const info = getProxyInfo(target)
  if (info === undefined) return undefined
  return info.header?.command === 'PROXY' ? info.header : null
}

/** Runs fn; a ProxyProtocolError it throws is thrown again with `prefix` (the package name) in front. */
export function withErrorPrefix<R>(prefix: string, fn: () => R): R {
  try {
    return fn()
  } catch (err) {
    throw prefixError(prefix, err)
  }
}

/** The same error with `prefix` in front of its message, when it is a ProxyProtocolError. */
export function prefixError(prefix: string, err: unknown): unknown {
  return err instanceof ProxyProtocolError ? new ProxyProtocolError(err.code, prefix + err.message, { cause: err }) : err
}

export { applyTlsOffload } from './tls-offload.js'
// The one address-family rule of every sender (connect, the Agent, the CLI's TCP and UDP relays).
export { commonFamily } from './send/header.js'
