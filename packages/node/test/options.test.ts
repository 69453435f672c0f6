import net from 'node:net'
import { ProxyProtocolError, withProxyProtocol } from '@proxyproto/node'
import { describe, expect, it } from 'vitest'

function codeOf(fn: () => unknown): { code?: string; message: string } {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(ProxyProtocolError)
    return e as ProxyProtocolError
  }
  throw new Error('expected a throw')
}

describe('withProxyProtocol options', () => {
  it.each([
    [{ mode: 'maybe' }, 'mode'],
    [{ untrusted: 'allow' }, 'untrusted'],
    [{ headerTimeout: 0 }, 'headerTimeout'],
    [{ headerTimeout: Number.NaN }, 'headerTimeout'],
    [{ maxHeaderSize: 10 }, 'maxHeaderSize'],
    [{ maxHeaderSize: 70000 }, 'maxHeaderSize'],
    [{ versions: [3] }, 'versions'],
    [{ verifyChecksum: 'yes' }, 'verifyChecksum'],
    [{ onHeader: 'x' }, 'onHeader'],
    [{ trust: ['nope'] }, 'trust'],
    [{ trusted: ['10.0.0.0/8'] }, 'trusted'],
  ])('rejects %j with ERR_PROXY_INVALID_OPTION naming %s', (options, name) => {
    const err = codeOf(() => withProxyProtocol(net.createServer(), options as never))
    expect(err.code).toBe('ERR_PROXY_INVALID_OPTION')
    expect(err.message).toContain(name)
  })

  it('refuses to prepare the same server twice', () => {
    const server = withProxyProtocol(net.createServer())
    expect(codeOf(() => withProxyProtocol(server)).code).toBe('ERR_PROXY_INVALID_OPTION')
  })

  it('refuses something that is not a net.Server', () => {
    expect(codeOf(() => withProxyProtocol({} as net.Server)).code).toBe('ERR_PROXY_INVALID_OPTION')
  })

  it('returns the same server', () => {
    const server = net.createServer()
    expect(withProxyProtocol(server, { trust: 'loopback', mode: 'optional', headerTimeout: 3000 })).toBe(server)
  })
})
