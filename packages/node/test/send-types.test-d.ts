import type http from 'node:http'
import type net from 'node:net'
import type tls from 'node:tls'
import { connect, type ProxyHeaderInput, ProxyProtocolAgent, proxyProtocolConnector } from '@proxyproto/node'
import { testAgent, testConnector } from '@proxyproto/node/testing'
import { Agent } from 'undici'
import { describe, expectTypeOf, it } from 'vitest'

describe('@proxyproto/node sending types', () => {
  it('connect() returns a TLSSocket with tls and a Socket without', () => {
    const proxyHeader: ProxyHeaderInput = { source: '203.0.113.7:1' }
    expectTypeOf(connect({ host: '127.0.0.1', port: 1, proxyHeader })).toEqualTypeOf<net.Socket>()
    expectTypeOf(connect({ host: '127.0.0.1', port: 1, proxyHeader, tls: true })).toEqualTypeOf<tls.TLSSocket>()
    // @ts-expect-error: a shorthand header names its source
    connect({ host: '127.0.0.1', port: 1, proxyHeader: { destination: '192.0.2.1:443' } })
  })

  it('http request options take a proxyHeader, and the agent is an http(s) Agent', () => {
    const agent = new ProxyProtocolAgent({ keepAlive: true, proxyHeader: (options) => ({ source: `${options.host}:1` }) })
    expectTypeOf(agent).toMatchTypeOf<http.Agent>()
    const options: http.RequestOptions = { agent, proxyHeader: { version: 1, source: { address: '203.0.113.7', port: 1 } } }
    expectTypeOf(options.proxyHeader).toEqualTypeOf<ProxyHeaderInput | undefined>()
    expectTypeOf(testAgent({ client: '203.0.113.7', keepAlive: true })).toEqualTypeOf<ProxyProtocolAgent>()
  })

  it("the connector fits undici's connect option", () => {
    new Agent({ connect: proxyProtocolConnector({ proxyHeader: { source: '203.0.113.7:1' } }) })
    new Agent({ connect: testConnector({ client: '203.0.113.7' }) })
  })
})
