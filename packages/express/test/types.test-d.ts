import http from 'node:http'
import { type ProxyHeader, proxyProtocol } from '@proxyproto/express'
import express, { type Request } from 'express'
import { describe, expectTypeOf, it } from 'vitest'

describe('@proxyproto/express types', () => {
  it('adds proxyHeader to Express.Request', () => {
    expectTypeOf<Request['proxyHeader']>().toEqualTypeOf<ProxyHeader | null | undefined>()
  })

  it('is accepted by app.use, and attach() returns the server it was given', () => {
    const app = express()
    const proxy = proxyProtocol({ trust: ['10.0.0.0/8'] })
    app.use(proxy)
    expectTypeOf(proxy.attach(http.createServer(app))).toEqualTypeOf<http.Server>()
    expectTypeOf(proxy.attach(app.listen(0))).toEqualTypeOf<ReturnType<typeof app.listen>>()
    proxyProtocol({ tlsOffload: false })
    // @ts-expect-error: tlsOffload is a boolean
    proxyProtocol({ tlsOffload: 'yes' })
    // @ts-expect-error: untrusted is 'refuse' or 'direct'
    proxyProtocol({ untrusted: 'allow' })
  })
})
