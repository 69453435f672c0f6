/**
 * The trust list, compiled once into a function (the proxy-addr model), matching with net.BlockList.
 * Words: loopback, linklocal, uniquelocal (proxy-addr's vocabulary) and private = RFC 1918 + RFC 4193
 * + link-local. IPv4-mapped IPv6 peers (::ffff:10.0.0.1 on a dual-stack listener) match IPv4 rules.
 */
import { BlockList, isIP } from 'node:net'
import { ErrorCodes, ProxyProtocolError } from '@proxyproto/core'

export type TrustFunction = (address: string, family: 'IPv4' | 'IPv6') => boolean
export type TrustInput = string | readonly string[] | TrustFunction

const WORDS: Record<string, ReadonlyArray<[string, number, 'ipv4' | 'ipv6']>> = {
  loopback: [
    ['127.0.0.0', 8, 'ipv4'],
    ['::1', 128, 'ipv6'],
  ],
  linklocal: [
    ['169.254.0.0', 16, 'ipv4'],
    ['fe80::', 10, 'ipv6'],
  ],
  uniquelocal: [
    ['10.0.0.0', 8, 'ipv4'],
    ['172.16.0.0', 12, 'ipv4'],
    ['192.168.0.0', 16, 'ipv4'],
    ['fc00::', 7, 'ipv6'],
  ],
}
WORDS['private'] = [...WORDS['linklocal']!, ...WORDS['uniquelocal']!]

export const DEFAULT_TRUST: readonly string[] = ['loopback', 'private']

function bad(entry: unknown): never {
  throw new ProxyProtocolError(
    ErrorCodes.INVALID_OPTION,
    `trust: ${JSON.stringify(entry)} is not an IP address, a CIDR, or one of ${Object.keys(WORDS).join(', ')}`,
  )
}

/** Compiles `trust` into a predicate. Throws ERR_PROXY_INVALID_OPTION naming the bad entry. */
export function compileTrust(trust: TrustInput = DEFAULT_TRUST): TrustFunction {
  if (typeof trust === 'function') return trust
  const entries = typeof trust === 'string' ? trust.split(',').map((s) => s.trim()) : trust
  if (!Array.isArray(entries)) bad(trust)
  const list = new BlockList()
  for (const entry of entries) {
    if (typeof entry !== 'string') bad(entry)
    const word = WORDS[entry]
    if (word) {
      for (const [net, prefix, type] of word) list.addSubnet(net, prefix, type)
      continue
    }
    const slash = entry.indexOf('/')
    const address = slash === -1 ? entry : entry.slice(0, slash)
    const v = address.includes('%') ? 0 : isIP(address) // zone ids mean nothing to a peer check
    if (v === 0) bad(entry)
    const type = v === 4 ? 'ipv4' : 'ipv6'
    if (slash === -1) {
      list.addAddress(address, type)
      continue
    }
    const prefixText = entry.slice(slash + 1)
    const prefix = Number(prefixText)
    if (!/^\d{1,3}$/.test(prefixText) || prefix > (v === 4 ? 32 : 128)) bad(entry)
    list.addSubnet(address, prefix, type)
  }
  // BlockList.check builds a SocketAddress on every call; a balancer is a handful of addresses, so the
  // verdicts are remembered (bounded: cleared when it grows past CACHE_SIZE, e.g. with untrusted: 'direct').
  const cache = new Map<string, boolean>()
  return (address, family) => {
    let verdict = cache.get(address)
    if (verdict === undefined) {
      verdict = list.check(address, family === 'IPv6' ? 'ipv6' : 'ipv4')
      if (cache.size >= CACHE_SIZE) cache.clear()
      cache.set(address, verdict)
    }
    return verdict
  }
}

const CACHE_SIZE = 1024
