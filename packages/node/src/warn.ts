/**
 * Refusals are never silent: with no 'proxyProtocolError' listener, the first refusal of each error code
 * on a server becomes one process warning (as Node warns once about a listener leak), naming the peer and
 * the setting to change. Later ones of the same code are only counted in the stats.
 */
import { ErrorCodes, type ErrorCode, type ProxyProtocolError } from '@proxyproto/core'
import type { Peer } from './info.js'

const HINTS: Partial<Record<ErrorCode, (peer: string) => string>> = {
  [ErrorCodes.UNTRUSTED_PEER]: (peer) =>
    `If ${peer} is your load balancer, add it to the trust option, e.g. withProxyProtocol(server, { trust: ['${peer}'] }).`,
  [ErrorCodes.HEADER_MISSING]: () =>
    "The balancer is not sending a PROXY header: enable it there (HAProxy send-proxy, nginx stream proxy_protocol on), or serve such peers with untrusted: 'direct'.",
  [ErrorCodes.HEADER_TIMEOUT]: () =>
    'A trusted peer sent no complete header within headerTimeout: check that the balancer sends one before waiting for the server to speak.',
  [ErrorCodes.TOO_MANY_PENDING]: () =>
    'More connections were waiting for their header than maxPending allows: raise maxPending if this is a legitimate burst.',
  [ErrorCodes.REJECTED]: () => 'Your onHeader callback refused it (the error cause says why).',
}

/** Emits the warning for `error` unless this server already warned about its code. */
export function warnOnce(warned: Set<string>, error: ProxyProtocolError, peer: Peer | undefined): void {
  if (warned.has(error.code)) return
  warned.add(error.code)
  const who = peer === undefined ? 'a peer' : peer.address
  const hint = HINTS[error.code]?.(who) ?? `See docs/errors.md#${error.code.toLowerCase()}.`
  process.emitWarning(
    `proxyproto refused a connection from ${who} (${error.code}): ${error.message}. ${hint} ` +
      "Listen for the server's 'proxyProtocolError' event to handle refusals yourself; this warning is shown once per code and server.",
    { type: 'ProxyProtocolWarning', code: error.code },
  )
}
