import http from 'node:http'
import https from 'node:https'
import type net from 'node:net'
import { ErrorCodes, getProxyInfo, proxyProtocolConnector, withProxyProtocol } from '@proxyproto/node'
import { Agent, fetch } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { closeServer, listen, tlsOptions } from './helpers.js'

const servers: net.Server[] = []
const dispatchers: Agent[] = []
afterEach(async () => {
  await Promise.all(dispatchers.splice(0).map((d) => d.close()))
  await Promise.all(servers.splice(0).map(closeServer))
})

/** Answers `client vN` for each request; counts connections. */
async function backend(secure = false): Promise<{ url: string; connections: () => number }> {
  let connections = 0
  const handler: http.RequestListener = (req, res) => {
    res.end(`${req.socket.remoteAddress}:${req.socket.remotePort} v${getProxyInfo(req)?.header?.version}`)
  }
  const server = withProxyProtocol(
    secure ? https.createServer(tlsOptions, handler) : http.createServer(handler),
  )
  server.on('connection', () => connections++)
  servers.push(server)
  const port = await listen(server)
  return { url: `${secure ? 'https' : 'http'}://127.0.0.1:${port}/`, connections: () => connections }
}

function dispatcher(connect: ReturnType<typeof proxyProtocolConnector>): Agent {
  const d = new Agent({ connect })
  dispatchers.push(d)
  return d
}

describe('proxyProtocolConnector (undici)', () => {
  it('makes fetch requests arrive from the named client', async () => {
    const server = await backend()
    const d = dispatcher(proxyProtocolConnector({ proxyHeader: { source: '203.0.113.7:51234' } }))
    expect(await (await fetch(server.url, { dispatcher: d })).text()).toBe('203.0.113.7:51234 v2')
    expect(await (await fetch(server.url, { dispatcher: d })).text()).toBe('203.0.113.7:51234 v2')
  })

  it('sends the header before the TLS handshake for https origins', async () => {
    const server = await backend(true)
    const d = dispatcher(
      proxyProtocolConnector({
        proxyHeader: { version: 1, source: '203.0.113.7:1' },
        rejectUnauthorized: false,
      }),
    )
    expect(await (await fetch(server.url, { dispatcher: d })).text()).toBe('203.0.113.7:1 v1')
  })

  it("computes the header from undici's connect options when proxyHeader is a function", async () => {
    const server = await backend()
    const seen: string[] = []
    const d = dispatcher(
      proxyProtocolConnector({
        proxyHeader: (options) => {
          seen.push(`${options.protocol}//${options.hostname}:${options.port}`)
          return { source: '203.0.113.8:8' }
        },
      }),
    )
    expect(await (await fetch(server.url, { dispatcher: d })).text()).toBe('203.0.113.8:8 v2')
    expect(seen).toEqual([server.url.slice(0, -1)])
  })

  it('rejects the request when the header cannot be encoded, and opens no socket', async () => {
    const server = await backend()
    const d = dispatcher(
      proxyProtocolConnector({
        proxyHeader: () => {
          throw new Error('no client')
        },
      }),
    )
    const err = await fetch(server.url, { dispatcher: d }).catch((e: Error) => e)
    expect((err as Error & { cause?: unknown }).cause).toMatchObject({ code: ErrorCodes.ENCODE_INVALID })
    expect(server.connections()).toBe(0)
  })

  it('throws at setup for a fixed header that cannot be encoded', () => {
    expect(() =>
      proxyProtocolConnector({ proxyHeader: { source: '203.0.113.7:1', version: 1, crc32c: true } }),
    ).toThrow(expect.objectContaining({ code: ErrorCodes.ENCODE_INVALID }))
  })
})
