/**
 * The receiving side's flags, shared by `echo` and `echo --udp` (and `relay --accept-proxy`'s trust):
 * who may send a header, what happens to others, whether a header is required.
 */
import type { TrustInput } from '@proxyproto/node'
import { UsageError } from './errors.js'
import { trustFlag } from './server.js'

export const RECEIVE_FLAGS = {
  trust: { type: 'string', multiple: true },
  untrusted: { type: 'string' },
  mode: { type: 'string' },
} as const

export interface ReceiveOptions {
  /** Peers allowed to send a header. Default loopback + private. */
  trust?: TrustInput
  untrusted?: 'refuse' | 'direct'
  mode?: 'require' | 'optional'
}

/** The flags' values checked and turned into options. */
export function receiveFlags(values: {
  trust?: string[] | undefined
  untrusted?: string | undefined
  mode?: string | undefined
}): ReceiveOptions {
  const { mode, untrusted } = values
  if (mode !== undefined && mode !== 'require' && mode !== 'optional')
    throw new UsageError('--mode must be require or optional')
  if (untrusted !== undefined && untrusted !== 'refuse' && untrusted !== 'direct')
    throw new UsageError('--untrusted must be refuse or direct')
  return { trust: trustFlag(values.trust), untrusted, mode }
}

/** The options withProxyProtocol takes, those given only (an undefined one would override its default). */
export function receiveOptions(
  options: ReceiveOptions & { headerTimeout?: number | undefined },
): ReceiveOptions & {
  headerTimeout?: number
} {
  return {
    ...(options.trust !== undefined && { trust: options.trust }),
    ...(options.untrusted !== undefined && { untrusted: options.untrusted }),
    ...(options.mode !== undefined && { mode: options.mode }),
    ...(options.headerTimeout !== undefined && { headerTimeout: options.headerTimeout }),
  }
}
