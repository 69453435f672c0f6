import http from 'node:http'
import https from 'node:https'
import type net from 'node:net'
import { proxyProtocol } from '@proxyproto/express'
import express5 from 'express'
import express4 from 'express4'
import { afterEach, describe, expect, it } from 'vitest'
import { sslTlv } from '../../../test/helpers/headers.js'
import { as, closeServer, get, listen, type TestClientOptions, testAgent, tlsOptions } from './helpers.js'

const servers: net.Server[] = []
const agents: http.Agent[] = []
afterEach(async () => {
  for (const a of agents.splice(0)) a.destroy()
  await Promise.all(servers.splice(0).map(closeServer))
})

type ExpressFactory = typeof express5
interface Seen {
  protocol: string
  secure: boolean
  encrypted: unknown
  hasPeerCertificate: boolean
}

async function serve(
  express: ExpressFactory,
  options: Parameters<typeof proxyProtocol>[0] = {},
  configure: (app: ReturnType<ExpressFactory>) => void = () => {},
  secure = false,
): Promise<number> {
  const proxy = proxyProtocol(options)
  const app = express()
  configure(app)
  app.use(proxy)
  app.get('/', (req, res) => {
    const seen: Seen = {
      protocol: req.protocol,
      secure: req.secure,
      encrypted: (req.socket as { encrypted?: unknown }).encrypted ?? null,
      hasPeerCertificate:
        typeof (req.socket as { getPeerCertificate?: unknown }).getPeerCertificate === 'function',
    }
    res.json(seen)
  })
  const server = proxy.attach(secure ? https.createServer(tlsOptions, app) : http.createServer(app))
  servers.push(server)
  return listen(server)
}

/** A testAgent (one kept-alive connection) whose connections carry `client`'s header. */
function through(client: TestClientOptions): http.Agent {
  const a = testAgent({ keepAlive: true, maxSockets: 1, ...client })
  agents.push(a)
  return a
}

describe.each([
  ['Express 5', express5 as ExpressFactory],
  ['Express 4', express4 as unknown as ExpressFactory],
])('TLS offload with %s', (_name, express) => {
  it("says https (req.protocol, req.secure) when the header's SSL TLV has the client bit, and leaves req.socket a plain socket", async () => {
    const port = await serve(express)
    const { json } = await get<Seen>(port, '/', through(as('v2', { tlvs: [sslTlv()] })))
    expect(json).toEqual({ protocol: 'https', secure: true, encrypted: null, hasPeerCertificate: false })
  })

  it('says http without an SSL TLV or with its client bit clear', async () => {
    const port = await serve(express)
    for (const tlvs of [[], [sslTlv(0x00)]]) {
      const { json } = await get<Seen>(port, '/', through(as('v2', { tlvs })))
      expect(json, JSON.stringify(tlvs)).toMatchObject({ protocol: 'http', secure: false })
    }
  })

  it('says http for an offloaded client with tlsOffload: false', async () => {
    const port = await serve(express, { tlsOffload: false })
    const { json } = await get<Seen>(port, '/', through(as('v2', { tlvs: [sslTlv()] })))
    expect(json).toMatchObject({ protocol: 'http', secure: false })
  })

  it("still lets a trusted proxy's X-Forwarded-Proto decide, as Express does", async () => {
    const port = await serve(express, {}, (app) => app.set('trust proxy', true))
    const agent = through(as('v2', { tlvs: [sslTlv()] }))
    const res = (await get<Seen>(port, '/', agent, false, { 'x-forwarded-proto': 'http' })).json
    expect(res).toMatchObject({ protocol: 'http', secure: false })
    // Without the header, the offloaded connection is https again.
    expect((await get<Seen>(port, '/', agent)).json).toMatchObject({ protocol: 'https', secure: true })
  })

  it('changes nothing on a server that terminates TLS itself', async () => {
    const port = await serve(express, {}, () => {}, true)
    const { json } = await get<Seen>(port, '/', through(as('v2', { tls: true })), true)
    expect(json).toEqual({ protocol: 'https', secure: true, encrypted: true, hasPeerCertificate: true })
  })

  it('rejects a tlsOffload that is not a boolean', () => {
    expect(() => proxyProtocol({ tlsOffload: 'yes' as unknown as boolean })).toThrow(
      /tlsOffload must be a boolean/,
    )
  })
})
