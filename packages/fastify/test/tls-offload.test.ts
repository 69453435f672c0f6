import type http from 'node:http'
import type net from 'node:net'
import proxyProtocol from '@proxyproto/fastify'
import fastify5, { type FastifyInstance } from 'fastify'
import fastify4 from 'fastify4'
import { afterEach, describe, expect, it } from 'vitest'
import { sslTlv } from '../../../test/helpers/headers.js'
import { as, get, h2get, h2session, type TestClientOptions, testAgent, tlsOptions } from './helpers.js'

interface Seen {
  protocol: string
  encrypted: unknown
}

type Factory = (options?: Record<string, unknown>) => FastifyInstance
const apps: FastifyInstance[] = []
const agents: http.Agent[] = []
afterEach(async () => {
  for (const a of agents.splice(0)) a.destroy()
  await Promise.all(apps.splice(0).map((app) => app.close()))
})

async function serve(
  factory: Factory,
  serverOptions: Record<string, unknown> = {},
  pluginOptions: object = {},
): Promise<number> {
  const app = factory({ forceCloseConnections: true, ...serverOptions })
  apps.push(app)
  await app.register(proxyProtocol, pluginOptions)
  app.get(
    '/',
    async (request): Promise<Seen> => ({
      protocol: request.protocol,
      encrypted: (request.socket as { encrypted?: unknown }).encrypted ?? null,
    }),
  )
  await app.listen({ port: 0, host: '127.0.0.1' })
  return (app.server.address() as net.AddressInfo).port
}

/** A testAgent (one kept-alive connection) whose connections carry `client`'s header. */
function through(client: TestClientOptions): http.Agent {
  const a = testAgent({ keepAlive: true, maxSockets: 1, ...client })
  agents.push(a)
  return a
}

describe.each([
  ['Fastify 5', fastify5 as unknown as Factory],
  ['Fastify 4', fastify4 as unknown as Factory],
])('TLS offload with %s', (_name, factory) => {
  it("says request.protocol https when the header's SSL TLV has the client bit, and leaves request.socket a plain socket", async () => {
    const port = await serve(factory)
    expect((await get<Seen>(port, '/', through(as('v2', { tlvs: [sslTlv()] })))).json).toEqual({
      protocol: 'https',
      encrypted: null,
    })
  })

  it('says http without an SSL TLV or with its client bit clear', async () => {
    const port = await serve(factory)
    for (const tlvs of [[], [sslTlv(0x00)]]) {
      expect((await get<Seen>(port, '/', through(as('v2', { tlvs })))).json, JSON.stringify(tlvs)).toEqual({
        protocol: 'http',
        encrypted: null,
      })
    }
  })

  it('says http for an offloaded client with tlsOffload: false', async () => {
    const port = await serve(factory, {}, { tlsOffload: false })
    expect((await get<Seen>(port, '/', through(as('v2', { tlvs: [sslTlv()] })))).json).toMatchObject({ protocol: 'http' })
  })

  it("with trustProxy, still lets a trusted proxy's X-Forwarded-Proto decide, as Fastify does", async () => {
    const port = await serve(factory, { trustProxy: true })
    const agent = through(as('v2', { tlvs: [sslTlv()] }))
    const res = (await get<Seen>(port, '/', agent, false, { 'x-forwarded-proto': 'http' })).json
    expect(res.protocol).toBe('http')
    expect((await get<Seen>(port, '/', agent)).json.protocol).toBe('https')
  })

  it('says https on an h2c connection whose header says the client used TLS', async () => {
    const port = await serve(factory, { http2: true })
    const session = await h2session(port, as('v2', { tlvs: [sslTlv()] }))
    try {
      const { status, body } = await h2get(session, '/')
      expect(status).toBe(200)
      expect(JSON.parse(body)).toEqual({ protocol: 'https', encrypted: null })
    } finally {
      session.close()
    }
  })

  it('changes nothing on a server that terminates TLS itself', async () => {
    const port = await serve(factory, { https: tlsOptions })
    expect((await get<Seen>(port, '/', through(as('v2', { tls: true })), true)).json).toEqual({
      protocol: 'https',
      encrypted: true,
    })
  })

  it('refuses a tlsOffload that is not a boolean', async () => {
    const app = factory()
    apps.push(app)
    await expect(app.register(proxyProtocol, { tlsOffload: 'yes' } as object)).rejects.toThrow(
      /tlsOffload must be a boolean/,
    )
  })
})
