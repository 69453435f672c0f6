/**
 * TLS offload reaches the frameworks, behind a real HAProxy that terminates TLS:
 *
 *   https client (127.0.0.23) --TLS--> HAProxy `bind … ssl crt` --send-proxy-v2-ssl, plaintext-->
 *       Express / Fastify app with @proxyproto/express / @proxyproto/fastify
 *
 * `send-proxy-v2-ssl` adds the SSL TLV (0x20) with the PP2_CLIENT_SSL bit to the v2 header; the apps must
 * then say `req.protocol` https (and Express `req.secure` true). The same backend reached through a
 * plain `bind` says http. The certificate is made by openssl in a temp dir.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import type net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { proxyProtocol as expressProxyProtocol } from '@proxyproto/express'
import fastifyProxyProtocol from '@proxyproto/fastify'
import express from 'express'
import Fastify from 'fastify'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { haproxyGlobalExclusive, startHaproxyOnFreePorts } from './helpers/balancers.js'
import { describePeer, findBinary, type PeerProcess } from './helpers/peers.js'
import { CLIENT_ADDRESS, closeServer, listen } from './helpers/sockets.js'

interface Seen {
  protocol: string
  secure?: boolean
  address: string | undefined
  encrypted: unknown
}

/** A self-signed certificate for `localhost`, cert and key in one PEM as HAProxy's `crt` wants. */
async function makeCertificate(dir: string): Promise<string> {
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  await promisify(execFile)(findBinary('openssl')!, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
  ])
  const pem = join(dir, 'site.pem')
  await writeFile(pem, Buffer.concat([await readFile(cert), await readFile(key)]))
  return pem
}

/** GET / from 127.0.0.23 through the balancer, over TLS or not; resolves with the app's JSON. */
function fetchSeen(port: number, secure: boolean): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const options = {
      host: '127.0.0.1',
      port,
      path: '/',
      localAddress: CLIENT_ADDRESS,
      agent: false as const,
    }
    const req = secure
      ? https.get({ ...options, servername: 'localhost', rejectUnauthorized: false }, onResponse)
      : http.get(options, onResponse)
    req.on('error', reject)
    function onResponse(res: http.IncomingMessage): void {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        body += c
      })
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as Seen)
        } catch {
          reject(new Error(`status ${res.statusCode}: ${body}`))
        }
      })
    }
  })
}

describePeer('TLS offload behind HAProxy (bind ssl + send-proxy-v2-ssl)', ['haproxy', 'openssl'], () => {
  let dir: string
  let pem: string
  const cleanups: Array<() => Promise<void>> = []

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'proxyproto-tls-offload-'))
    pem = await makeCertificate(dir)
  })
  afterAll(async () => {
    for (const f of cleanups.splice(0).reverse()) await f()
    await rm(dir, { recursive: true, force: true })
  })

  /** HAProxy with a TLS frontend and a plain one, both sending v2 + SSL TLV to `appPort`. */
  async function balancer(appPort: number): Promise<{ tlsPort: number; plainPort: number }> {
    const { haproxy, ports } = await startHaproxyOnFreePorts(2, ([tlsPort, plainPort]) =>
      [
        haproxyGlobalExclusive(),
        'frontend fe_tls',
        `  bind 127.0.0.1:${tlsPort} ssl crt ${pem}`,
        '  default_backend app',
        'frontend fe_plain',
        `  bind 127.0.0.1:${plainPort}`,
        '  default_backend app',
        'backend app',
        `  server app 127.0.0.1:${appPort} send-proxy-v2-ssl`,
        '',
      ].join('\n'),
    )
    cleanups.push(() => (haproxy as PeerProcess).stop())
    return { tlsPort: ports[0]!, plainPort: ports[1]! }
  }

  it('Express says req.protocol https and req.secure for a client that spoke TLS to HAProxy, http for one that did not', async () => {
    const proxy = expressProxyProtocol()
    const app = express()
    app.use(proxy)
    app.get('/', (req, res) => {
      res.json({
        protocol: req.protocol,
        secure: req.secure,
        address: req.socket.remoteAddress,
        encrypted: (req.socket as { encrypted?: unknown }).encrypted ?? null,
      } satisfies Seen)
    })
    const server = proxy.attach(http.createServer(app))
    cleanups.push(() => closeServer(server))
    const { tlsPort, plainPort } = await balancer(await listen(server))

    expect(await fetchSeen(tlsPort, true)).toEqual({
      protocol: 'https',
      secure: true,
      address: CLIENT_ADDRESS,
      encrypted: null,
    })
    expect(await fetchSeen(plainPort, false)).toEqual({
      protocol: 'http',
      secure: false,
      address: CLIENT_ADDRESS,
      encrypted: null,
    })
  })

  it('Fastify says request.protocol https for a client that spoke TLS to HAProxy, http for one that did not', async () => {
    const app = Fastify({ forceCloseConnections: true })
    await app.register(fastifyProxyProtocol)
    app.get(
      '/',
      async (request): Promise<Seen> => ({
        protocol: request.protocol,
        address: request.socket.remoteAddress,
        encrypted: (request.socket as { encrypted?: unknown }).encrypted ?? null,
      }),
    )
    await app.listen({ port: 0, host: '127.0.0.1' })
    cleanups.push(() => app.close())
    const { tlsPort, plainPort } = await balancer((app.server.address() as net.AddressInfo).port)

    expect(await fetchSeen(tlsPort, true)).toEqual({
      protocol: 'https',
      address: CLIENT_ADDRESS,
      encrypted: null,
    })
    expect(await fetchSeen(plainPort, false)).toEqual({
      protocol: 'http',
      address: CLIENT_ADDRESS,
      encrypted: null,
    })
  })
})
