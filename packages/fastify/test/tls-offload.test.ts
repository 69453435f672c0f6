import http from 'node:http'
import type net from 'node:net'
import proxyProtocol from '@proxyproto/fastify'
import fastify5, { type FastifyInstance } from 'fastify'
import fastify4 from 'fastify4'
import { afterEach, describe, expect, it } from 'vitest'
import { v2Ssl } from '../../../test/helpers/headers.js'
import { get, h2get, h2session, headerAgent, tlsOptions, v2 } from './helpers.js'

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

function through(header: Buffer, secure = false): http.Agent {
  const a = headerAgent(header, secure)
  agents.push(a)
  return a
}

describe.each([
  ['Fastify 5', fastify5 as unknown as Factory],
  ['Fastify 4', fastify4 as unknown as Factory],
])('TLS offload with %s', (_name, factory) => {
  it("says request.protocol https when the header's SSL TLV has the client bit, and leaves request.socket a plain socket", async () => {
    const port = await serve(factory)
    expect((await get<Seen>(port, '/', through(v2Ssl()))).json).toEqual({
      protocol: 'https',
      encrypted: null,
    })
  })

  it('says http without an SSL TLV or with its client bit clear', async () => {
    const port = await serve(factory)
    for (const header of [v2(), v2Ssl(0x00)]) {
      expect((await get<Seen>(port, '/', through(header))).json, header.toString('hex')).toEqual({
        protocol: 'http',
        encrypted: null,
      })
    }
  })

  it('says http for an offloaded client with tlsOffload: false', async () => {
    const port = await serve(factory, {}, { tlsOffload: false })
    expect((await get<Seen>(port, '/', through(v2Ssl()))).json).toMatchObject({ protocol: 'http' })
  })

  it("with trustProxy, still lets a trusted proxy's X-Forwarded-Proto decide, as Fastify does", async () => {
    const port = await serve(factory, { trustProxy: true })
    const agent = through(v2Ssl())
    const res = await new Promise<Seen>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/', agent, headers: { 'x-forwarded-proto': 'http' } }, (r) => {
          let body = ''
          r.on('data', (c: Buffer) => {
            body += c
          })
          r.on('end', () => resolve(JSON.parse(body) as Seen))
        })
        .on('error', reject)
    })
    expect(res.protocol).toBe('http')
    expect((await get<Seen>(port, '/', agent)).json.protocol).toBe('https')
  })

  it('says https on an h2c connection whose header says the client used TLS', async () => {
    const port = await serve(factory, { http2: true })
    const session = await h2session(port, v2Ssl())
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
    expect((await get<Seen>(port, '/', through(v2(), true), true)).json).toEqual({
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
