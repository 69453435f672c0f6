import { once } from 'node:events'
import http from 'node:http'
import http2 from 'node:http2'
import https from 'node:https'
import net from 'node:net'
import tls from 'node:tls'
import { getProxyInfo, withProxyProtocol } from '@proxyproto/node'
import { afterEach, describe, expect, it } from 'vitest'
import { CLIENT, CLIENT6, closeServer, connect, h2get, listen, readAll, tlsOptions, v1, v2 } from './helpers.js'

const servers: net.Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer))
})
function track<S extends net.Server>(s: S): S {
  servers.push(s)
  return s
}

/** What a handler saw: remote address/port/family of the socket it was given, and the info. */
interface Seen {
  address: string | undefined
  port: number | undefined
  family: string | undefined
  peer: string | undefined
  header: number | undefined
}
function see(socket: net.Socket, target: Parameters<typeof getProxyInfo>[0] = socket): Seen {
  const info = getProxyInfo(target)
  return {
    address: socket.remoteAddress,
    port: socket.remotePort,
    family: socket.remoteFamily,
    peer: info?.peer.address,
    header: info?.header?.version,
  }
}

describe('withProxyProtocol on each kind of server', () => {
  it('makes a net.Server connection report the client from a v1 header', async () => {
    let seen: Seen | undefined
    const server = track(withProxyProtocol(net.createServer((s) => {
      seen = see(s)
      s.end('ok')
    })))
    const port = await listen(server)
    const c = await connect(port)
    c.write(v1())
    expect((await readAll(c)).toString()).toBe('ok')
    expect(seen).toEqual({ address: CLIENT.address, port: CLIENT.port, family: 'IPv4', peer: '127.0.0.1', header: 1 })
  })

  it('runs connection listeners added after withProxyProtocol only after the header', async () => {
    const server = track(withProxyProtocol(net.createServer()))
    let seen: Seen | undefined
    server.on('connection', (s) => {
      seen = see(s)
      s.end()
    })
    const port = await listen(server)
    const c = await connect(port)
    c.write(v2(CLIENT6))
    await readAll(c)
    expect(seen).toMatchObject({ address: CLIENT6.address, port: CLIENT6.port, family: 'IPv6', header: 2 })
  })

  it('gives http handlers the client on req.socket and the first request body intact', async () => {
    let seen: Seen | undefined
    const server = track(withProxyProtocol(http.createServer((req, res) => {
      seen = see(req.socket, req)
      res.end(`${req.method} ${req.url}`)
    })))
    const port = await listen(server)
    const c = await connect(port)
    c.end(Buffer.concat([v2(), Buffer.from('GET /first HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]))
    const reply = (await readAll(c)).toString()
    expect(reply).toMatch(/^HTTP\/1.1 200/)
    expect(reply).toMatch(/GET \/first$/)
    expect(seen).toMatchObject({ address: CLIENT.address, port: CLIENT.port, peer: '127.0.0.1', header: 2 })
  })

  it('can be applied after listen()', async () => {
    const server = track(http.createServer((req, res) => res.end(req.socket.remoteAddress)))
    const port = await listen(server)
    withProxyProtocol(server)
    const c = await connect(port)
    c.end(Buffer.concat([v1(), Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]))
    expect((await readAll(c)).toString()).toMatch(/203\.0\.113\.7$/)
  })

  it('gives https handlers the client on the TLSSocket', async () => {
    let seen: Seen | undefined
    const server = track(withProxyProtocol(https.createServer(tlsOptions, (req, res) => {
      seen = see(req.socket, req)
      res.end('secure')
    })))
    const port = await listen(server)
    const raw = await connect(port)
    raw.write(v2())
    const body = await new Promise<string>((resolve, reject) => {
      const req = https.request({ createConnection: () => tls.connect({ socket: raw, rejectUnauthorized: false }), path: '/' }, (res) => {
        let b = ''
        res.on('data', (d) => (b += d))
        res.on('end', () => resolve(b))
      })
      req.on('error', reject)
      req.end()
    })
    expect(body).toBe('secure')
    expect(seen).toMatchObject({ address: CLIENT.address, port: CLIENT.port, family: 'IPv4', peer: '127.0.0.1', header: 2 })
  })

  it('gives tls.Server secureConnection listeners the client', async () => {
    let seen: Seen | undefined
    const server = track(withProxyProtocol(tls.createServer(tlsOptions, (s) => {
      seen = see(s)
      s.end('tls ok')
    })))
    const port = await listen(server)
    const raw = await connect(port)
    raw.write(v1())
    const secure = tls.connect({ socket: raw, rejectUnauthorized: false })
    expect((await readAll(secure)).toString()).toBe('tls ok')
    expect(seen).toMatchObject({ address: CLIENT.address, port: CLIENT.port, header: 1 })
  })

  it('gives tlsClientError listeners the client when the handshake fails after the header', async () => {
    const server = track(withProxyProtocol(tls.createServer(tlsOptions, () => {})))
    const failed = once(server, 'tlsClientError') as Promise<[Error, tls.TLSSocket]>
    const port = await listen(server)
    const raw = await connect(port)
    raw.end(Buffer.concat([v2(), Buffer.from('GET / HTTP/1.1\r\n\r\n')])) // not a ClientHello
    const [, tlsSocket] = await failed
    expect(see(tlsSocket)).toMatchObject({ address: CLIENT.address, port: CLIENT.port, peer: '127.0.0.1', header: 2 })
  })

  it('gives h2c (http2.createServer) handlers the client and keeps the connection preface intact', async () => {
    let seen: Seen | undefined
    const server = track(withProxyProtocol(http2.createServer((req, res) => {
      seen = see(req.socket as net.Socket, req)
      res.end('h2c')
    })))
    const port = await listen(server)
    const raw = await connect(port)
    raw.write(v2())
    const session = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => raw })
    const { body } = await h2get(session, '/')
    session.close()
    expect(body).toBe('h2c')
    expect(seen).toMatchObject({ address: CLIENT.address, port: CLIENT.port, header: 2 })
  })

  it('gives h2 (http2.createSecureServer with ALPN) handlers the client', async () => {
    let seen: Seen | undefined
    const server = track(withProxyProtocol(http2.createSecureServer(tlsOptions, (req, res) => {
      seen = see(req.socket as net.Socket, req)
      res.end('h2')
    })))
    const port = await listen(server)
    const raw = await connect(port)
    raw.write(v1())
    const session = http2.connect(`https://127.0.0.1:${port}`, {
      createConnection: () => tls.connect({ socket: raw, rejectUnauthorized: false, ALPNProtocols: ['h2'] }),
    })
    const { body } = await h2get(session, '/')
    session.close()
    expect(body).toBe('h2')
    expect(seen).toMatchObject({ address: CLIENT.address, port: CLIENT.port, header: 1 })
  })
})
