import { once } from 'node:events'
import http from 'node:http'
import https from 'node:https'
import type net from 'node:net'
import { tlv } from '@proxyproto/core'
import { ErrorCodes, type ProxyHeaderInput, ProxyProtocolAgent, withProxyProtocol } from '@proxyproto/node'
import { afterEach, describe, expect, it } from 'vitest'
import { closeServer, listen, tlsOptions } from './helpers.js'

const servers: net.Server[] = []
const agents: http.Agent[] = []
afterEach(async () => {
  for (const a of agents.splice(0)) a.destroy()
  await Promise.all(servers.splice(0).map(closeServer))
})

interface Backend {
  port: number
  /** Connections accepted so far. */
  opened: () => number
  /** Connections open right now, and the most that were ever open at once. */
  open: () => number
  peak: () => number
  /** Resolves when `n` connections have closed. */
  closed: (n: number) => Promise<void>
}

/**
 * An http(s) server prepared with withProxyProtocol that answers `client conn` : the client its header
 * named and the server-side number of the connection the request came on.
 */
async function backend(secure = false): Promise<Backend> {
  const ids = new WeakMap<net.Socket, number>()
  let opened = 0
  let open = 0
  let peak = 0
  let closedCount = 0
  const handler: http.RequestListener = (req, res) => {
    res.end(`${req.socket.remoteAddress}:${req.socket.remotePort} ${ids.get(req.socket)}`)
  }
  const server = withProxyProtocol(
    secure ? https.createServer(tlsOptions, handler) : http.createServer(handler),
  )
  server.on(secure ? 'secureConnection' : 'connection', (socket: net.Socket) => {
    ids.set(socket, ++opened)
    open++
    peak = Math.max(peak, open)
    socket.on('close', () => {
      open--
      closedCount++
      server.emit('closed-one')
    })
  })
  servers.push(server)
  const port = await listen(server)
  return {
    port,
    opened: () => opened,
    open: () => open,
    peak: () => peak,
    closed: async (n) => {
      while (closedCount < n) await once(server, 'closed-one')
    },
  }
}

interface Answer {
  client: string
  connection: number
  reused: boolean
}

function get(
  port: number,
  agent: http.Agent,
  proxyHeader?: ProxyHeaderInput,
  secure = false,
  extra: http.RequestOptions = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).get(
      { host: '127.0.0.1', port, agent, ...(proxyHeader && { proxyHeader }), ...extra },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => {
          body += d
        })
        res.on('end', () => {
          const [client = '', connection = ''] = body.split(' ')
          resolve({ client, connection: Number(connection), reused: req.reusedSocket })
        })
      },
    )
    req.on('error', reject)
  })
}

const A = '203.0.113.1:1111'
const B = '203.0.113.2:2222'

function agent(options: ConstructorParameters<typeof ProxyProtocolAgent>[0] = {}): ProxyProtocolAgent {
  const a = new ProxyProtocolAgent(options)
  agents.push(a)
  return a
}

describe('ProxyProtocolAgent keep-alive', () => {
  for (const secure of [false, true]) {
    it(`${secure ? 'https' : 'http'}: requests for A, B, A, B are each seen from their own client, and each reuses only its own client's connection`, async () => {
      const server = await backend(secure)
      const a = agent({ keepAlive: true, tls: secure, rejectUnauthorized: false })
      const answers: Answer[] = []
      for (const client of [A, B, A, B]) answers.push(await get(server.port, a, { source: client }, secure))
      expect(answers.map((x) => x.client)).toEqual([A, B, A, B])
      expect(answers.map((x) => x.reused)).toEqual([false, false, true, true])
      expect(answers.map((x) => x.connection)).toEqual([1, 2, 1, 2])
      expect(server.opened()).toBe(2)
    })
  }

  it('never shares a connection between two headers for one client that differ in their TLVs', async () => {
    const server = await backend()
    const a = agent({ keepAlive: true })
    const one = { source: A, tlvs: [tlv.authority('one.example')] }
    const two = { source: A, tlvs: [tlv.authority('two.example')] }
    const answers = [
      await get(server.port, a, one),
      await get(server.port, a, two),
      await get(server.port, a, one),
    ]
    expect(answers.map((x) => x.connection)).toEqual([1, 2, 1])
    expect(answers.map((x) => x.reused)).toEqual([false, false, true])
  })

  it('applies maxSockets per header: three concurrent requests per client use one connection per client', async () => {
    const server = await backend()
    const a = agent({ keepAlive: true, maxSockets: 1 })
    const answers = await Promise.all(
      [A, B, A, B, A, B].map((client) => get(server.port, a, { source: client })),
    )
    expect(answers.map((x) => x.client)).toEqual([A, B, A, B, A, B])
    expect(new Set(answers.filter((x) => x.client === A).map((x) => x.connection)).size).toBe(1)
    expect(new Set(answers.filter((x) => x.client === B).map((x) => x.connection)).size).toBe(1)
    expect(server.opened()).toBe(2)
  })

  it('applies maxFreeSockets per header: of three idle connections for one client, one is kept', async () => {
    const server = await backend()
    const a = agent({ keepAlive: true, maxSockets: 3, maxFreeSockets: 1 })
    await Promise.all([A, A, A].map((client) => get(server.port, a, { source: client })))
    await server.closed(2)
    expect(server.opened()).toBe(3)
    expect(Object.values(a.freeSockets).map((s) => s?.length)).toEqual([1])
    // The one kept is reused for that client only.
    expect((await get(server.port, a, { source: A })).reused).toBe(true)
    expect((await get(server.port, a, { source: B })).reused).toBe(false)
  })

  it('keeps maxTotalSockets a bound on open connections with more clients than the bound', async () => {
    const server = await backend()
    const bound = 3
    const a = agent({ keepAlive: true, maxTotalSockets: bound })
    // Counted at the agent when each new connection is established (the server may accept a new one
    // before it has seen the close of the one the agent closed to make room).
    let peak = 0
    const live = (): number =>
      [...Object.values(a.sockets), ...Object.values(a.freeSockets)].flat().filter((s) => s && !s.destroyed)
        .length
    const create = a.createConnection.bind(a)
    a.createConnection = (options, callback) => {
      const socket = create(options, callback)
      socket?.once('connect', () => {
        peak = Math.max(peak, live())
      })
      return socket
    }
    const clients = Array.from({ length: 10 }, (_, i) => `203.0.113.${i + 1}:${1000 + i}`)
    // Two rounds: the second finds idle connections of other clients holding the whole bound.
    for (let round = 0; round < 2; round++) {
      const answers = await Promise.all(clients.map((client) => get(server.port, a, { source: client })))
      expect(answers.map((x) => x.client)).toEqual(clients)
    }
    console.log(
      `maxTotalSockets ${bound}, ${clients.length} clients x 2 rounds: ${server.opened()} connections opened, at most ${peak} open at the agent, ${server.peak()} seen open at once by the server`,
    )
    expect(peak).toBeLessThanOrEqual(bound)
    expect(server.opened()).toBeGreaterThanOrEqual(clients.length)
  })

  it('closes idle connections as http.Agent does (socket timeout)', async () => {
    const server = await backend()
    const a = agent({ keepAlive: true, timeout: 100 })
    await get(server.port, a, { source: A })
    await server.closed(1)
    expect(server.open()).toBe(0)
  })
})

describe('ProxyProtocolAgent headers', () => {
  it('uses the agent-wide header for requests without their own, and a request header over it', async () => {
    const server = await backend()
    const a = agent({ proxyHeader: { source: A } })
    expect((await get(server.port, a)).client).toBe(A)
    expect((await get(server.port, a, { source: B })).client).toBe(B)
  })

  it('computes the header from the request options when proxyHeader is a function', async () => {
    const server = await backend()
    const a = agent({
      keepAlive: true,
      proxyHeader: (options) => ({ source: `203.0.113.${(options.headers as http.OutgoingHttpHeaders)['x-client']}:1` }),
    })
    const first = await get(server.port, a, undefined, false, { headers: { 'x-client': '8' } })
    const second = await get(server.port, a, undefined, false, { headers: { 'x-client': '9' } })
    expect([first.client, second.client]).toEqual(['203.0.113.8:1', '203.0.113.9:1'])
    expect(second.reused).toBe(false)
  })

  it('fails a request whose header cannot be encoded with an error event and opens no socket', async () => {
    const server = await backend()
    const a = agent()
    const bad: Array<ProxyHeaderInput | undefined> = [
      undefined,
      { source: 'nope' },
      { source: A, version: 1, tlvs: [tlv.authority('x')] },
    ]
    for (const proxyHeader of bad) {
      await expect(get(server.port, a, proxyHeader), JSON.stringify(proxyHeader)).rejects.toMatchObject({
        code: ErrorCodes.ENCODE_INVALID,
      })
    }
    const throwing = agent({
      proxyHeader: () => {
        throw new Error('no client')
      },
    })
    await expect(get(server.port, throwing)).rejects.toMatchObject({
      code: ErrorCodes.ENCODE_INVALID,
      message: expect.stringContaining('no client'),
    })
    expect(server.opened()).toBe(0)
  })

  it('throws from the constructor for an agent-wide header that cannot be encoded', () => {
    expect(() => new ProxyProtocolAgent({ proxyHeader: { source: '203.0.113.7' } })).toThrow(
      expect.objectContaining({ code: ErrorCodes.ENCODE_INVALID }),
    )
  })
})
