import proxyProtocol, { type FastifyProxyProtocolOptions, type ProxyHeader, type ProxyProtocolOptions } from '@proxyproto/fastify'
import Fastify, { type FastifyPluginCallback, type FastifyRequest } from 'fastify'
import { describe, expectTypeOf, it } from 'vitest'

describe('@proxyproto/fastify types', () => {
  it('types request.proxyHeader as ProxyHeader | null on every FastifyRequest', () => {
    expectTypeOf<FastifyRequest['proxyHeader']>().toEqualTypeOf<ProxyHeader | null>()
    const app = Fastify()
    app.get('/', async (request) => {
      expectTypeOf(request.proxyHeader).toEqualTypeOf<ProxyHeader | null>()
      return request.proxyHeader?.source
    })
  })

  it('is a plugin taking ProxyProtocolOptions and tlsOffload', () => {
    expectTypeOf(proxyProtocol).toEqualTypeOf<FastifyPluginCallback<FastifyProxyProtocolOptions>>()
    expectTypeOf<ProxyProtocolOptions>().toExtend<FastifyProxyProtocolOptions>()
    const app = Fastify()
    app.register(proxyProtocol)
    app.register(proxyProtocol, { trust: ['10.0.0.0/8'], untrusted: 'refuse', headerTimeout: 3000 })
    app.register(proxyProtocol, { tlsOffload: false })
    // @ts-expect-error: tlsOffload is a boolean
    app.register(proxyProtocol, { tlsOffload: 'yes' })
    // @ts-expect-error: mode is 'require' or 'optional'
    app.register(proxyProtocol, { mode: 'sometimes' })
  })
})
