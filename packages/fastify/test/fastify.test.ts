import type http from 'node:http'
import type net from 'node:net'
import fastifyWebsocket from '@fastify/websocket'
import proxyProtocol, { ErrorCodes, ProxyProtocolError } from '@proxyproto/fastify'
import { isProxyProtocolEnabled } from '@proxyproto/node'
import fastify5, { type FastifyInstance } from 'fastify'
import fastify4 from 'fastify4'
import fastifyWebsocket10 from 'fastify-websocket10'
import { afterEach, describe, expect, it } from 'vitest'
import { Agent as UndiciAgent, fetch as undiciFetch } from 'undici'
import { WebSocket } from 'ws'
import {
  as,
  CLIENT,
  get,
  h2get,
  h2session,
  keepAliveGets,
  type TestClientOptions,
  testAgent,
  testConnect,
  testConnector,
  tlsOptions,
} from './helpers.js'

interface Seen {
  ip: string
  ips?: string[]
  remoteAddress: string | undefined
  remotePort: number | undefined
  header: { version: number; command: string } | null
}

// Fastify 4 and 5 are used through the same calls; their types differ only in ways these tests don't touch.
type Factory = (options?: Record<string, unknown>) => FastifyInstance
type App = FastifyInstance

const apps: App[] = []
const agents: http.Agent[] = []
afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy()
  await Promise.all(apps.splice(0).map((app) => app.close()))
})
/** A testAgent (one kept-alive connection) whose connections carry `client`'s header. */
function agent(client: TestClientOptions): http.Agent {
  const a = testAgent({ keepAlive: true, maxSockets: 1, ...client })
  agents.push(a)
  return a
}

/** An app with the plugin registered and a route that answers with what Fastify says about the client. */
async function makeApp(factory: Factory, serverOptions: Record<string, unknown> = {}, pluginOptions: object = {}) {
  const app = factory({ ...serverOptions })
  apps.push(app)
  await app.register(proxyProtocol, pluginOptions)
  app.get('/', async (request): Promise<Seen> => {
    const header = request.proxyHeader
    return {
      ip: request.ip,
      ips: request.ips,
      remoteAddress: request.socket.remoteAddress,
      remotePort: request.socket.remotePort,
      header: header && { version: header.version, command: header.command },
    }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as net.AddressInfo).port
  return { app, port }
}

describe.each([
  ['Fastify 5', fastify5 as unknown as Factory],
  ['Fastify 4', fastify4 as unknown as Factory],
])('@proxyproto/fastify with %s', (_name, factory) => {
  it('sees the client named by testConnector through fetch (undici), and inject() sees no header', async () => {
    const { app, port } = await makeApp(factory)
    const dispatcher = new UndiciAgent({ connect: testConnector({ client: CLIENT }) })
    try {
      const res = await undiciFetch(`http://127.0.0.1:${port}/`, { dispatcher })
      expect(await res.json()).toMatchObject({ ip: CLIENT.address, remotePort: CLIENT.port, header: { version: 2 } })
    } finally {
      await dispatcher.close()
    }
    // What the README says of inject(): a stand-in socket, no header.
    expect((await app.inject({ method: 'GET', url: '/' })).json()).toMatchObject({ ip: '127.0.0.1', header: null })
  })

  it('gives request.ip and request.socket.remoteAddress the client from a v2 header, without trustProxy', async () => {
    const { port } = await makeApp(factory)
    const res = await get<Seen>(port, '/', agent(as('v2')))
    expect(res.status).toBe(200)
    expect(res.json).toMatchObject({
      ip: CLIENT.address,
      remoteAddress: CLIENT.address,
      remotePort: CLIENT.port,
      header: { version: 2, command: 'PROXY' },
    })
  })

  it('exposes a v1 header as request.proxyHeader', async () => {
    const { port } = await makeApp(factory)
    const res = await get<Seen>(port, '/', agent(as('v1')))
    expect(res.json).toMatchObject({ ip: CLIENT.address, header: { version: 1, command: 'PROXY' } })
  })

  it('reports the client on every keep-alive request of one connection', async () => {
    const { app, port } = await makeApp(factory)
    let connections = 0
    app.server.on('connection', () => connections++)
    const socket = await testConnect(port, as('v2'))
    for (const res of await keepAliveGets(socket)) expect(JSON.parse(res.body)).toMatchObject({ ip: CLIENT.address, remoteAddress: CLIENT.address })
    expect(connections).toBe(1)
  })

  it('sets request.proxyHeader to null and request.ip to the balancer for a LOCAL health check', async () => {
    const { port } = await makeApp(factory)
    const res = await get<Seen>(port, '/', agent(as('local')))
    expect(res.json).toMatchObject({ ip: '127.0.0.1', remoteAddress: '127.0.0.1', header: null })
  })

  it('reports the client with the https option', async () => {
    const { port } = await makeApp(factory, { https: tlsOptions })
    const res = await get<Seen>(port, '/', agent(as('v2', { tls: true })), true)
    expect(res.json).toMatchObject({ ip: CLIENT.address, remoteAddress: CLIENT.address, header: { version: 2 } })
  })

  it('reports the client with http2: true (h2c), on every stream of the session', async () => {
    const { port } = await makeApp(factory, { http2: true })
    const session = await h2session(port, as('v2'))
    try {
      for (let i = 0; i < 2; i++) {
        const res = await h2get(session, '/')
        expect(res.status).toBe(200)
        expect(JSON.parse(res.body)).toMatchObject({ ip: CLIENT.address, remoteAddress: CLIENT.address, header: { version: 2 } })
      }
    } finally {
      session.close()
    }
  })

  it('reports the client with http2 over TLS (http2: true plus https)', async () => {
    const { port } = await makeApp(factory, { http2: true, https: tlsOptions })
    const session = await h2session(port, as('v1', { tls: true }))
    try {
      const res = await h2get(session, '/')
      expect(JSON.parse(res.body)).toMatchObject({ ip: CLIENT.address, header: { version: 1 } })
    } finally {
      session.close()
    }
  })

  it('prepares fastify.server when registered and is known as @proxyproto/fastify', async () => {
    const app = factory()
    apps.push(app)
    expect(isProxyProtocolEnabled(app.server)).toBe(false)
    await app.register(proxyProtocol).ready()
    expect(isProxyProtocolEnabled(app.server)).toBe(true)
    expect(app.hasPlugin('@proxyproto/fastify')).toBe(true)
  })

  it('decorates requests in every encapsulated context, not only where it was registered', async () => {
    const app = factory()
    apps.push(app)
    await app.register(proxyProtocol)
    await app.register(async (child) => {
      child.get('/child', async (request) => ({ ip: request.ip, version: request.proxyHeader?.version }))
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const res = await get((app.server.address() as net.AddressInfo).port, '/child', agent(as('v2')))
    expect(res.json).toEqual({ ip: CLIENT.address, version: 2 })
  })

  it('ignores the register options Fastify itself reads (prefix, logLevel)', async () => {
    const { port } = await makeApp(factory, {}, { prefix: '/x', logLevel: 'warn', trust: 'loopback' })
    const res = await get<Seen>(port, '/', agent(as('v2')))
    expect(res.json.ip).toBe(CLIENT.address)
  })

  it('fails registration with a prefixed ERR_PROXY_INVALID_OPTION for invalid options', async () => {
    const cases: Array<[object, RegExp]> = [
      [{ trust: ['nope'] }, /^@proxyproto\/fastify: trust: "nope"/],
      [{ headerTimeout: 0 }, /^@proxyproto\/fastify: headerTimeout/],
      [{ untrusted: 'allow' }, /^@proxyproto\/fastify: untrusted/],
      [{ trustProxy: true }, /^@proxyproto\/fastify: unknown option "trustProxy"/],
    ]
    for (const [options, message] of cases) {
      const app = factory()
      apps.push(app)
      const error = await app.register(proxyProtocol, options).ready().then(
        () => undefined,
        (err: unknown) => err,
      )
      expect(error).toBeInstanceOf(ProxyProtocolError)
      expect((error as ProxyProtocolError).code).toBe(ErrorCodes.INVALID_OPTION)
      expect((error as Error).message).toMatch(message)
    }
  })
})

// Each Fastify major with the @fastify/websocket major made for it (11 for Fastify 5, 10 for Fastify 4).
describe.each([
  ['Fastify 5 and @fastify/websocket 11', fastify5 as unknown as Factory, fastifyWebsocket],
  ['Fastify 4 and @fastify/websocket 10', fastify4 as unknown as Factory, fastifyWebsocket10 as unknown as typeof fastifyWebsocket],
])('@proxyproto/fastify with %s', (_name, factory, websocketPlugin) => {
  it('sees the client on the upgrade request of a WebSocket route', async () => {
    const app = factory()
    apps.push(app)
    await app.register(proxyProtocol)
    await app.register(websocketPlugin)
    app.get('/ws', { websocket: true }, (socket, request) => {
      socket.send(JSON.stringify({ ip: request.ip, remoteAddress: request.socket.remoteAddress, version: request.proxyHeader?.version }))
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const port = (app.server.address() as net.AddressInfo).port
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { agent: agent(as('v2')) })
    try {
      const message = await new Promise<string>((resolve, reject) => {
        ws.once('message', (data) => resolve(String(data)))
        ws.once('error', reject)
      })
      expect(JSON.parse(message)).toEqual({ ip: CLIENT.address, remoteAddress: CLIENT.address, version: 2 })
    } finally {
      ws.terminate()
    }
  })
})
