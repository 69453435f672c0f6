import http from 'node:http'
import https from 'node:https'
import type net from 'node:net'
import { ErrorCodes, isProxyProtocolError, ProxyProtocolError } from '@proxyproto/node'
import { proxyProtocol } from '@proxyproto/express'
import express5 from 'express'
import express4 from 'express4'
import request from 'supertest'
import { afterEach, describe, expect, it } from 'vitest'
import {
  as,
  CLIENT,
  closeServer,
  connect,
  listen,
  keepAliveGets,
  responses,
  type TestClientOptions,
  testAgent,
  testConnect,
  tlsOptions,
} from './helpers.js'

const servers: net.Server[] = []
const agents: http.Agent[] = []
afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy()
  await Promise.all(servers.splice(0).map(closeServer))
})
function track<S extends net.Server>(server: S): S {
  servers.push(server)
  return server
}
/** supertest's `.agent()`: a testAgent (one kept-alive connection) whose connections carry `client`'s header. */
function agent(client: TestClientOptions): http.Agent {
  const a = testAgent({ keepAlive: true, maxSockets: 1, ...client })
  agents.push(a)
  return a
}

type ExpressFactory = typeof express5

/** An app that answers with what Express tells it about the client. */
function makeApp(express: ExpressFactory, proxy: ReturnType<typeof proxyProtocol>) {
  const app = express()
  app.use(proxy)
  app.get('/', (req, res) => {
    res.json({
      ip: req.ip,
      ips: req.ips,
      remoteAddress: req.socket.remoteAddress,
      remotePort: req.socket.remotePort,
      header: req.proxyHeader === null ? null : { version: req.proxyHeader?.version, command: req.proxyHeader?.command },
    })
  })
  return app
}

describe.each([
  ['Express 5', express5 as ExpressFactory],
  ['Express 4', express4 as unknown as ExpressFactory],
])('proxyProtocol() middleware with %s', (_name, express) => {
  it('gives req.ip, req.ips and req.socket.remoteAddress the client from a v2 header (supertest)', async () => {
    const proxy = proxyProtocol()
    const app = makeApp(express, proxy)
    const server = track(proxy.attach(http.createServer(app)))
    await listen(server)
    const res = await request(server).get('/').agent(agent(as('v2'))).expect(200)
    expect(res.body).toEqual({
      ip: CLIENT.address,
      ips: [],
      remoteAddress: CLIENT.address,
      remotePort: CLIENT.port,
      header: { version: 2, command: 'PROXY' },
    })
  })

  it('exposes a v1 header as req.proxyHeader', async () => {
    const proxy = proxyProtocol({ versions: [1] })
    const server = track(proxy.attach(http.createServer(makeApp(express, proxy))))
    await listen(server)
    const res = await request(server).get('/').agent(agent(as('v1'))).expect(200)
    expect(res.body).toMatchObject({ ip: CLIENT.address, header: { version: 1, command: 'PROXY' } })
  })

  it('works with proxy.attach(app.listen(port))', async () => {
    const proxy = proxyProtocol()
    const app = makeApp(express, proxy)
    const server = track(proxy.attach(app.listen(0, '127.0.0.1')))
    expect(server).toBeInstanceOf(http.Server)
    await listen(server)
    const res = await request(server).get('/').agent(agent(as('v2'))).expect(200)
    expect(res.body.ip).toBe(CLIENT.address)
  })

  it('reports the client on the first and every later keep-alive request of one connection (raw socket)', async () => {
    const proxy = proxyProtocol()
    let connections = 0
    const server = track(proxy.attach(http.createServer(makeApp(express, proxy))))
    server.on('connection', () => connections++)
    const port = await listen(server)
    const socket = await testConnect(port, as('v2'))
    for (const res of await keepAliveGets(socket)) {
      expect(res.status).toBe(200)
      expect(JSON.parse(res.body)).toMatchObject({ ip: CLIENT.address, remoteAddress: CLIENT.address, ips: [] })
    }
    expect(connections).toBe(1)
  })

  it('reports the client on keep-alive requests that supertest sends through one agent', async () => {
    const proxy = proxyProtocol()
    let connections = 0
    const server = track(proxy.attach(http.createServer(makeApp(express, proxy))))
    server.on('connection', () => connections++)
    await listen(server)
    const a = agent(as('v2'))
    for (let i = 0; i < 3; i++) {
      const res = await request(server).get('/').agent(a).expect(200)
      expect(res.body.ip).toBe(CLIENT.address)
    }
    expect(connections).toBe(1)
  })

  it('reports the client over https (proxy.attach(https.createServer(options, app)))', async () => {
    const proxy = proxyProtocol()
    const server = track(proxy.attach(https.createServer(tlsOptions, makeApp(express, proxy))))
    await listen(server)
    const res = await request(server).get('/').agent(agent(as('v2', { tls: true }))).expect(200)
    expect(res.body).toMatchObject({ ip: CLIENT.address, remoteAddress: CLIENT.address, header: { version: 2 } })
  })

  it('sets req.proxyHeader to null and req.ip to the balancer for a LOCAL health check', async () => {
    const proxy = proxyProtocol()
    const server = track(proxy.attach(http.createServer(makeApp(express, proxy))))
    await listen(server)
    const res = await request(server).get('/').agent(agent(as('local'))).expect(200)
    expect(res.body).toMatchObject({ ip: '127.0.0.1', remoteAddress: '127.0.0.1', header: null })
  })

  it('sets req.proxyHeader to null for an untrusted peer served as a direct connection', async () => {
    const proxy = proxyProtocol({ trust: ['10.0.0.0/8'], untrusted: 'direct' })
    const server = track(proxy.attach(http.createServer(makeApp(express, proxy))))
    const port = await listen(server)
    const socket = await connect(port)
    const next = responses(socket)
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    const res = await next()
    expect(JSON.parse(res.body)).toMatchObject({ ip: '127.0.0.1', header: null })
  })

  it('passes ERR_PROXY_SERVER_NOT_PREPARED to next() naming proxy.attach when the server was not attached', async () => {
    const proxy = proxyProtocol()
    const app = makeApp(express, proxy)
    let seen: unknown
    app.use((err: unknown, _req: express5.Request, res: express5.Response, _next: express5.NextFunction) => {
      seen = err
      res.status(500).send('not prepared')
    })
    // supertest creates and listens on a plain http server of its own: not prepared.
    const res = await request(app).get('/')
    expect(res.status).toBe(500)
    expect(res.text).toBe('not prepared')
    expect(isProxyProtocolError(seen)).toBe(true)
    const error = seen as ProxyProtocolError
    expect(error.code).toBe(ErrorCodes.SERVER_NOT_PREPARED)
    expect(error.message).toMatch(/^@proxyproto\/express: /)
    expect(error.message).toContain('proxy.attach(server)')
    expect(error.message).toContain('proxy.attach(app.listen(port))')
  })

  it('never answers with the balancer address when not attached, even without an error handler', async () => {
    const proxy = proxyProtocol()
    const res = await request(makeApp(express, proxy)).get('/')
    expect(res.status).toBe(500)
    expect(res.text).not.toContain('127.0.0.1')
  })
})

describe('proxyProtocol() options', () => {
  it('validates options when called, prefixing the message and keeping the code', () => {
    const attempt = (options: unknown) => () => proxyProtocol(options as Parameters<typeof proxyProtocol>[0])
    expect(attempt({ trust: ['not-an-address'] })).toThrow(/^@proxyproto\/express: trust: "not-an-address"/)
    expect(attempt({ headerTimeout: -1 })).toThrow(/^@proxyproto\/express: headerTimeout/)
    expect(attempt({ trsut: [] })).toThrow(/^@proxyproto\/express: unknown option "trsut"/)
    try {
      proxyProtocol({ mode: 'sometimes' as 'require' })
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(ProxyProtocolError)
      expect((err as ProxyProtocolError).code).toBe(ErrorCodes.INVALID_OPTION)
      expect((err as Error).message).toMatch(/^@proxyproto\/express: mode/)
    }
  })

  it('refuses to attach to a server that is already prepared, with a prefixed message', () => {
    const proxy = proxyProtocol()
    const server = proxy.attach(http.createServer())
    expect(() => proxy.attach(server)).toThrow(/^@proxyproto\/express: this server is already prepared/)
  })

  it('uses the options as they were when proxyProtocol() was called', async () => {
    const options: { trust: string[] } = { trust: ['loopback'] }
    const proxy = proxyProtocol(options)
    options.trust = ['10.0.0.0/8']
    const server = track(proxy.attach(http.createServer(makeApp(express5, proxy))))
    await listen(server)
    const res = await request(server).get('/').agent(agent(as('v2'))).expect(200)
    expect(res.body.ip).toBe(CLIENT.address)
  })
})
