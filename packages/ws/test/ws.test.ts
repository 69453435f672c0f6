import { once } from 'node:events'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import tls from 'node:tls'
import { isProxyProtocolEnabled, proxyProtocolStats, withProxyProtocol } from '@proxyproto/node'
import { ErrorCodes, ProxyProtocolError, WebSocketServer } from '@proxyproto/ws'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer as WsWebSocketServer } from 'ws'
import { CLIENT, closeServer, connect, listen, local, tlsOptions, v1, v2 } from './helpers.js'

const cleanup: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})
function closeWss(wss: WebSocketServer): Promise<void> {
  for (const client of wss.clients) client.terminate()
  return new Promise((resolve) => wss.close(() => resolve()))
}
function track(wss: WebSocketServer): WebSocketServer {
  cleanup.push(() => closeWss(wss))
  return wss
}
function trackServer<S extends net.Server>(server: S): S {
  cleanup.push(() => closeServer(server))
  return server
}

interface Seen {
  remoteAddress: string | undefined
  remotePort: number | undefined
  header: { version: number; command: string } | null | undefined
}

/** Every connection is answered with one message: what the 'connection' handler saw. */
function reportClient(wss: WebSocketServer): void {
  wss.on('connection', (ws, req) => {
    const seen: Seen = {
      remoteAddress: req.socket.remoteAddress,
      remotePort: req.socket.remotePort,
      header: req.proxyHeader && { version: req.proxyHeader.version, command: req.proxyHeader.command },
    }
    ws.send(JSON.stringify(seen))
  })
}

/** A ws client whose TCP connection starts with `header` (the load balancer's part). */
async function firstMessage(port: number, header: Buffer | null, path = '/', secure = false): Promise<Seen> {
  const ws = new WebSocket(`${secure ? 'wss' : 'ws'}://127.0.0.1:${port}${path}`, {
    createConnection: () => {
      const raw = net.connect({ host: '127.0.0.1', port })
      if (header) raw.write(header)
      return secure ? tls.connect({ socket: raw, rejectUnauthorized: false }) : raw
    },
  })
  cleanup.push(() => ws.terminate())
  const [data] = await Promise.race([
    once(ws, 'message'),
    once(ws, 'error').then(([err]) => Promise.reject(err)),
    once(ws, 'unexpected-response').then(([, res]) => Promise.reject(new Error(`HTTP ${res.statusCode}`))),
  ])
  return JSON.parse(String(data)) as Seen
}

const UPGRADE = [
  'GET /chat HTTP/1.1',
  'Host: example.com',
  'Upgrade: websocket',
  'Connection: Upgrade',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version: 13',
  '',
  '',
].join('\r\n')

describe('WebSocketServer with port', () => {
  it('creates, prepares and listens on its own server; connection handlers see the client', async () => {
    let called = false
    const wss = track(new WebSocketServer({ port: 0, host: '127.0.0.1', proxyProtocol: {} }, () => (called = true)))
    await once(wss, 'listening')
    expect(called).toBe(true)
    reportClient(wss)
    const { port } = wss.address() as net.AddressInfo
    expect(await firstMessage(port, v2())).toEqual({
      remoteAddress: CLIENT.address,
      remotePort: CLIENT.port,
      header: { version: 2, command: 'PROXY' },
    })
  })

  it('answers plain HTTP requests with 426 Upgrade Required, like ws', async () => {
    const wss = track(new WebSocketServer({ port: 0, host: '127.0.0.1', proxyProtocol: {} }))
    await once(wss, 'listening')
    const { port } = wss.address() as net.AddressInfo
    const socket = await connect(port)
    socket.end(Buffer.concat([v1(), Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]))
    const [reply] = await once(socket, 'data')
    expect(String(reply)).toMatch(/^HTTP\/1\.1 426 Upgrade Required\r\n/)
    expect(String(reply)).toMatch(/\r\n\r\nUpgrade Required$/)
  })

  it('closes the server it created in close(), and calls back once it is closed', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', proxyProtocol: {} })
    await once(wss, 'listening')
    const { port } = wss.address() as net.AddressInfo
    let closeEvent = false
    wss.on('close', () => (closeEvent = true))
    await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())))
    expect(closeEvent).toBe(true)
    const refused = net.connect({ port, host: '127.0.0.1' })
    const [err] = await once(refused, 'error')
    expect((err as NodeJS.ErrnoException).code).toBe('ECONNREFUSED')
  })

  it('forwards a listen error to the error event, like ws', async () => {
    const taken = trackServer(net.createServer())
    const port = await listen(taken)
    const wss = new WebSocketServer({ port, host: '127.0.0.1', proxyProtocol: {} })
    const [err] = await once(wss, 'error')
    expect((err as NodeJS.ErrnoException).code).toBe('EADDRINUSE')
  })

  it('refuses connections whose header is missing, like withProxyProtocol', async () => {
    const wss = track(new WebSocketServer({ port: 0, host: '127.0.0.1', proxyProtocol: {} }))
    await once(wss, 'listening')
    const { port } = wss.address() as net.AddressInfo
    let connected = false
    wss.on('connection', () => (connected = true))
    await expect(firstMessage(port, null)).rejects.toThrow()
    expect(connected).toBe(false)
    expect(proxyProtocolStats(wss.options.server as http.Server)!.refused).toEqual({ ERR_PROXY_HEADER_MISSING: 1 })
  })

  it('behaves as plain ws without the proxyProtocol option (req.proxyHeader is null)', async () => {
    const wss = track(new WebSocketServer({ port: 0, host: '127.0.0.1' }))
    await once(wss, 'listening')
    reportClient(wss)
    const { port } = wss.address() as net.AddressInfo
    expect(await firstMessage(port, null)).toMatchObject({ remoteAddress: '127.0.0.1', header: null })
  })
})

describe('WebSocketServer with server', () => {
  it('prepares the http server it is given', async () => {
    const server = trackServer(http.createServer())
    expect(isProxyProtocolEnabled(server)).toBe(false)
    const wss = track(new WebSocketServer({ server, proxyProtocol: { versions: [1] } }))
    expect(isProxyProtocolEnabled(server)).toBe(true)
    reportClient(wss)
    const port = await listen(server)
    expect(await firstMessage(port, v1())).toMatchObject({ remoteAddress: CLIENT.address, header: { version: 1 } })
  })

  it('leaves a server that is already prepared as it is (its own options apply)', async () => {
    const server = trackServer(withProxyProtocol(http.createServer(), { trust: ['127.0.0.1'] }))
    const wss = track(new WebSocketServer({ server, proxyProtocol: { trust: ['10.0.0.0/8'] } }))
    reportClient(wss)
    const port = await listen(server)
    expect(await firstMessage(port, v2())).toMatchObject({ remoteAddress: CLIENT.address })
  })

  it('sees the client on an https server (wss://)', async () => {
    const server = trackServer(https.createServer(tlsOptions))
    const wss = track(new WebSocketServer({ server, proxyProtocol: {} }))
    reportClient(wss)
    const port = await listen(server)
    expect(await firstMessage(port, v2(), '/', true)).toMatchObject({ remoteAddress: CLIENT.address, header: { version: 2 } })
  })

  it('sets req.proxyHeader to null and reports the balancer for a LOCAL health check', async () => {
    const server = trackServer(http.createServer())
    const wss = track(new WebSocketServer({ server, proxyProtocol: {} }))
    reportClient(wss)
    const port = await listen(server)
    expect(await firstMessage(port, local())).toMatchObject({ remoteAddress: '127.0.0.1', header: null })
  })

  it('handles the AWS Classic ELB case: a v1 line and the upgrade request in the same write', async () => {
    const server = trackServer(http.createServer())
    const wss = track(new WebSocketServer({ server, proxyProtocol: {} }))
    const seen = new Promise<Seen>((resolve) => {
      wss.on('connection', (_ws, req) =>
        resolve({ remoteAddress: req.socket.remoteAddress, remotePort: req.socket.remotePort, header: req.proxyHeader ?? null }),
      )
    })
    const port = await listen(server)
    const socket = await connect(port)
    cleanup.push(() => void socket.destroy())
    socket.write(`PROXY TCP4 203.0.113.7 10.0.0.5 51234 80\r\n${UPGRADE}`)
    const [reply] = await once(socket, 'data')
    expect(String(reply)).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/)
    expect(String(reply)).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=')
    const s = await seen
    expect(s.remoteAddress).toBe('203.0.113.7')
    expect(s.remotePort).toBe(51234)
    expect(s.header).toMatchObject({ version: 1, command: 'PROXY', destination: { address: '10.0.0.5', port: 80 } })
  })
})

describe('WebSocketServer with noServer', () => {
  function route(server: http.Server, wss: WebSocketServer): void {
    server.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
    })
  }

  it('sees the client when the user prepared the server with withProxyProtocol(server, sameOptions)', async () => {
    const options = { trust: ['loopback'] }
    const server = trackServer(withProxyProtocol(http.createServer(), options))
    const wss = track(new WebSocketServer({ noServer: true, proxyProtocol: options }))
    reportClient(wss)
    route(server, wss)
    const port = await listen(server)
    expect(await firstMessage(port, v2())).toMatchObject({ remoteAddress: CLIENT.address, header: { version: 2 } })
  })

  it('refuses an upgrade from an unprepared server with ERR_PROXY_SERVER_NOT_PREPARED on wsClientError', async () => {
    const server = trackServer(http.createServer())
    const wss = track(new WebSocketServer({ noServer: true, proxyProtocol: {} }))
    let connected = false
    wss.on('connection', () => (connected = true))
    const refused = new Promise<[Error, Duplex]>((resolve) => wss.on('wsClientError', (err, socket) => resolve([err, socket])))
    route(server, wss)
    const port = await listen(server)
    const socket = await connect(port)
    socket.write(UPGRADE)
    const [[error, serverSocket]] = await Promise.all([refused, once(socket, 'close')])
    expect(error).toBeInstanceOf(ProxyProtocolError)
    expect((error as ProxyProtocolError).code).toBe(ErrorCodes.SERVER_NOT_PREPARED)
    expect(error.message).toMatch(/^@proxyproto\/ws: upgrade refused/)
    expect(error.message).toContain('withProxyProtocol(server, options)')
    expect(serverSocket.destroyed).toBe(true)
    expect(connected).toBe(false)
  })

  it('without a wsClientError listener, closes the upgrade, warns once with the coded error and never throws', async () => {
    const server = trackServer(http.createServer())
    const wss = track(new WebSocketServer({ noServer: true, proxyProtocol: {} }))
    const thrown: unknown[] = []
    let called = false
    server.on('upgrade', (req, socket, head) => {
      try {
        wss.handleUpgrade(req, socket, head, () => (called = true))
      } catch (err) {
        thrown.push(err)
      }
    })
    const warnings: Error[] = []
    const onWarning = (w: Error): void => {
      if (w instanceof ProxyProtocolError) warnings.push(w)
    }
    process.on('warning', onWarning)
    try {
      const port = await listen(server)
      for (let i = 0; i < 2; i++) {
        const socket = await connect(port)
        socket.write(UPGRADE)
        await once(socket, 'close')
      }
      await new Promise((resolve) => setImmediate(resolve)) // 'warning' is emitted on a later tick
    } finally {
      process.off('warning', onWarning)
    }
    expect(thrown).toEqual([])
    expect(called).toBe(false)
    expect(warnings.map((w) => (w as ProxyProtocolError).code)).toEqual([ErrorCodes.SERVER_NOT_PREPARED])
  })

  it('without proxyProtocol, handles upgrades from unprepared servers exactly like ws', async () => {
    const server = trackServer(http.createServer())
    const wss = track(new WebSocketServer({ noServer: true }))
    reportClient(wss)
    route(server, wss)
    const port = await listen(server)
    expect(await firstMessage(port, null)).toMatchObject({ remoteAddress: '127.0.0.1', header: null })
  })
})

describe('WebSocketServer options', () => {
  it('is a ws WebSocketServer', () => {
    const wss = new WebSocketServer({ noServer: true, proxyProtocol: {} })
    expect(wss).toBeInstanceOf(WsWebSocketServer)
    wss.close()
  })

  it('validates proxyProtocol in every mode, prefixing the message and keeping the code', () => {
    const bad = { trust: ['not-an-ip'] }
    const modes = [
      { port: 0, host: '127.0.0.1', proxyProtocol: bad },
      { server: http.createServer(), proxyProtocol: bad },
      { noServer: true, proxyProtocol: bad },
    ]
    for (const options of modes) {
      let error: unknown
      try {
        new WebSocketServer(options)
      } catch (err) {
        error = err
      }
      expect(error).toBeInstanceOf(ProxyProtocolError)
      expect((error as ProxyProtocolError).code).toBe(ErrorCodes.INVALID_OPTION)
      expect((error as Error).message).toMatch(/^@proxyproto\/ws: trust: "not-an-ip"/)
    }
    expect(() => new WebSocketServer({ noServer: true, proxyProtocol: { mode: 'maybe' as 'require' } })).toThrow(
      /^@proxyproto\/ws: mode/,
    )
  })

  it('keeps ws own option checks', () => {
    expect(() => new WebSocketServer({ proxyProtocol: {} })).toThrow(/One and only one of the "port", "server", or "noServer"/)
  })

  it('counts connections on the prepared server', async () => {
    const server = trackServer(http.createServer())
    const wss = track(new WebSocketServer({ server, proxyProtocol: {} }))
    reportClient(wss)
    const port = await listen(server)
    await firstMessage(port, v2())
    expect(proxyProtocolStats(server)?.accepted.v2).toBe(1)
  })
})
