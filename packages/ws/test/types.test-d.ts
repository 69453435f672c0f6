import type { IncomingMessage } from 'node:http'
import { type ProxyHeader, WebSocketServer } from '@proxyproto/ws'
import type { WebSocketServer as WsWebSocketServer } from 'ws'
import { describe, expectTypeOf, it } from 'vitest'

describe('@proxyproto/ws types', () => {
  it('is a ws WebSocketServer taking a proxyProtocol option', () => {
    const wss = new WebSocketServer({ port: 0, proxyProtocol: { trust: 'loopback' } })
    expectTypeOf(wss).toMatchTypeOf<WsWebSocketServer>()
    wss.on('connection', (_ws, req) => {
      expectTypeOf(req).toEqualTypeOf<IncomingMessage>()
      expectTypeOf(req.proxyHeader).toEqualTypeOf<ProxyHeader | null | undefined>()
    })
    // @ts-expect-error: versions are 1 and 2
    new WebSocketServer({ noServer: true, proxyProtocol: { versions: [3] } })
  })
})
