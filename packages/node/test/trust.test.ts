import { compileTrust, ProxyProtocolError } from '@proxyproto/node'
import { describe, expect, it } from 'vitest'

describe('compileTrust', () => {
  it('trusts loopback and private ranges by default', () => {
    const trust = compileTrust()
    for (const a of ['127.0.0.1', '127.9.9.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.1.1']) {
      expect(trust(a, 'IPv4'), a).toBe(true)
    }
    for (const a of ['::1', 'fd00::1', 'fc00::1', 'fe80::1']) expect(trust(a, 'IPv6'), a).toBe(true)
    for (const a of ['8.8.8.8', '172.32.0.1', '192.169.0.1', '100.64.0.1']) expect(trust(a, 'IPv4'), a).toBe(false)
    expect(trust('2001:db8::1', 'IPv6')).toBe(false)
  })

  it('matches IPv4-mapped IPv6 peers against IPv4 rules', () => {
    const trust = compileTrust(['10.0.0.0/8'])
    expect(trust('::ffff:10.2.3.4', 'IPv6')).toBe(true)
    expect(trust('::ffff:11.2.3.4', 'IPv6')).toBe(false)
  })

  it('takes single addresses, CIDRs and comma-separated strings', () => {
    const trust = compileTrust('203.0.113.9, 198.51.100.0/24,2001:db8::/32')
    expect(trust('203.0.113.9', 'IPv4')).toBe(true)
    expect(trust('203.0.113.10', 'IPv4')).toBe(false)
    expect(trust('198.51.100.200', 'IPv4')).toBe(true)
    expect(trust('2001:db8:ffff::1', 'IPv6')).toBe(true)
    expect(trust('127.0.0.1', 'IPv4')).toBe(false)
  })

  it('uses a function as it is', () => {
    const fn = (a: string) => a === '1.2.3.4'
    expect(compileTrust(fn)).toBe(fn)
  })

  it('trusts nothing with an empty list', () => {
    expect(compileTrust([])('127.0.0.1', 'IPv4')).toBe(false)
  })

  it.each([['10.0.0.0/33'], ['::/129'], ['10.0.0.0/'], ['10.0.0.0/8/8'], ['localhost'], ['10.0.0.256'], ['fe80::1%eth0'], [''], ['10.0.0.0/-1']])(
    'rejects %j with a coded error that names it',
    (entry) => {
      let err: unknown
      try {
        compileTrust([entry])
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(ProxyProtocolError)
      expect((err as ProxyProtocolError).code).toBe('ERR_PROXY_INVALID_OPTION')
      expect((err as Error).message).toContain(JSON.stringify(entry))
    },
  )
})

describe('compileTrust cache', () => {
  it('gives the same verdicts with a warm cache and after it overflows', () => {
    const trust = compileTrust(['10.0.0.0/8'])
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 1500; i++) {
        const inside = `10.0.${i >> 8}.${i & 255}`
        const outside = `11.0.${i >> 8}.${i & 255}`
        expect(trust(inside, 'IPv4')).toBe(true)
        expect(trust(outside, 'IPv4')).toBe(false)
      }
    }
  })
})
