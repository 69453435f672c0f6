/**
 * The front-listener path on Node, with a stand-in for Bun's http.Server: an EventEmitter that is not a
 * net.Server, has listen(), and serves sockets emitted to it as 'connection' (here by handing them to a
 * real http.Server). The real thing runs under Bun in test/runtime-bun.test.ts.
 */
import { EventEmitter, once } from 'node:events'
import http from 'node:http'
import type net from 'node:net'
import {
  ErrorCodes,
  getProxyInfo,
  isProxyProtocolEnabled,
  type ProxyProtocolError,
  proxyProtocolStats,
  withProxyProtocol,
} from '@proxyproto/node'
import { afterEach, describe, expect, it } from 'vitest'
import { CLIENT, connect, readAll, v1, v2 } from './helpers.js'

interface Injectable extends EventEmitter {
  listen(...args: unknown[]): unknown
  close(cb?: (err?: Error) => void): unknown
  address(): net.AddressInfo | string | null
  listening: boolean
  closeIdleConnections(): void
}

/** A server that cannot listen itself and serves what it is given, as Bun's http.Server does. */
function injectable(handler: http.RequestListener): { server: Injectable; inner: http.Server } {
  const inner = http.createServer(handler)
  const server = new EventEmitter() as Injectable
  server.listen = () => {
    throw new Error('this stand-in cannot listen by itself')
  }
  server.close = () => {
    throw new Error('this stand-in cannot close by itself')
  }
  server.address = () => null
  server.listening = false
  server.closeIdleConnections = () => inner.closeIdleConnections()
  server.on('connection', (socket: net.Socket) => inner.emit('connection', socket))
  // Node's http.Server starts tracking connections (for closeIdleConnections) when it emits 'listening'.
  server.on('listening', () => inner.emit('listening'))
  server.on('close', () => inner.emit('close'))
  return { server, inner }
}

const prepared: Injectable[] = []
afterEach(async () => {
  for (const s of prepared.splice(0)) if (s.listening) await new Promise((r) => s.close(r))
})

function prepare(
  handler: http.RequestListener = (req, res) =>
    res.end(`${req.socket.remoteAddress}:${req.socket.remotePort}`),
  options?: object,
): Injectable {
  const { server } = injectable(handler)
  withProxyProtocol(server as unknown as net.Server, options)
  prepared.push(server)
  return server
}

async function listening(server: Injectable): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as net.AddressInfo).port
}

const get = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')

describe('withProxyProtocol on a server that is not a net.Server but serves injected connections', () => {
  it('listens through a front net.Server and hands each peeled socket on: the handler sees the client', async () => {
    const server = prepare()
    const port = await listening(server)
    expect(server.listening).toBe(true)
    const c = await connect(port)
    c.write(Buffer.concat([v2(), get]))
    expect((await readAll(c)).toString()).toMatch(new RegExp(`\\r\\n\\r\\n${CLIENT.address}:${CLIENT.port}$`))
  })

  it('shares options, stats and proxyProtocolError with the ordinary path, emitted on the server itself', async () => {
    const server = prepare(undefined, { trust: ['192.0.2.1'] })
    const errors: ProxyProtocolError[] = []
    server.on('proxyProtocolError', (err: ProxyProtocolError) => errors.push(err))
    const port = await listening(server)
    const c = await connect(port)
    c.write(Buffer.concat([v1(), get]))
    expect((await readAll(c)).length).toBe(0)
    expect(errors.map((e) => e.code)).toEqual([ErrorCodes.UNTRUSTED_PEER])
    expect(isProxyProtocolEnabled(server)).toBe(true)
    expect(proxyProtocolStats(server as unknown as net.Server)).toMatchObject({
      connections: 1,
      refused: { [ErrorCodes.UNTRUSTED_PEER]: 1 },
    })
  })

  it('lets a proxyProtocolError listener of the server answer the refused client, as on a net.Server', async () => {
    const server = prepare(undefined, { trust: ['192.0.2.1'] })
    server.on('proxyProtocolError', (err: ProxyProtocolError, socket: net.Socket) =>
      socket.end(`refused: ${err.code}\n`),
    )
    const port = await listening(server)
    const c = await connect(port)
    c.write(Buffer.concat([v1(), get]))
    expect((await readAll(c)).toString()).toBe(`refused: ${ErrorCodes.UNTRUSTED_PEER}\n`)
  })

  it('warns once per code when the server has no proxyProtocolError listener, and not when it has one', async () => {
    const warnings: Array<Error & { code?: string }> = []
    const onWarning = (w: Error & { code?: string }): void => {
      if (w.name === 'ProxyProtocolWarning') warnings.push(w)
    }
    process.on('warning', onWarning)
    try {
      const quiet = prepare(undefined, { trust: ['192.0.2.1'] })
      const heard = prepare(undefined, { trust: ['192.0.2.1'] })
      heard.on('proxyProtocolError', () => {})
      for (const server of [quiet, heard]) {
        const port = await listening(server)
        for (let i = 0; i < 2; i++) {
          const c = await connect(port)
          c.write(Buffer.concat([v1(), get]))
          await readAll(c)
        }
      }
      await new Promise((r) => setImmediate(r))
    } finally {
      process.off('warning', onWarning)
    }
    expect(warnings.map((w) => w.code)).toEqual([ErrorCodes.UNTRUSTED_PEER])
  })

  it('emits connection listeners added later only after the header, with the info on the socket', async () => {
    const server = prepare()
    const seen: Array<string | undefined> = []
    server.on('connection', (s: net.Socket) => seen.push(getProxyInfo(s)?.client.address))
    const port = await listening(server)
    const c = await connect(port)
    c.write(Buffer.concat([v1(), get]))
    await readAll(c)
    expect(seen).toEqual([CLIENT.address])
  })

  it('close() drops connections still sending their header, ends idle keep-alive ones, then calls back and emits close', async () => {
    const server = prepare()
    const port = await listening(server)
    const partial = await connect(port)
    partial.write('PROXY TCP4 ')
    const idle = await connect(port)
    idle.write(Buffer.concat([v1(), Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]))
    await once(idle, 'data')
    const closed = once(server, 'close')
    const err = await new Promise((resolve) => server.close(resolve))
    await closed
    expect(err).toBeUndefined()
    await Promise.all([once(partial, 'close'), once(idle, 'close')])
    expect(server.listening).toBe(false)
    expect(await new Promise((resolve) => server.close(resolve))).toMatchObject({
      code: 'ERR_SERVER_NOT_RUNNING',
    })
  })

  it("reports a failed listen as the server's 'error'", async () => {
    const first = prepare()
    const port = await listening(first)
    const second = prepare()
    second.listen(port, '127.0.0.1')
    const [err] = await once(second, 'error')
    expect(err).toMatchObject({ code: 'EADDRINUSE' })
  })

  it('refuses a server that is already listening with ERR_PROXY_UNSUPPORTED_SERVER', () => {
    const { server } = injectable(() => {})
    server.listening = true
    expect(() => withProxyProtocol(server as unknown as net.Server)).toThrow(
      expect.objectContaining({ code: ErrorCodes.UNSUPPORTED_SERVER }),
    )
    expect(isProxyProtocolEnabled(server)).toBe(false)
  })

  it('refuses a second preparation, and an EventEmitter with listen() that serves no connection, with ERR_PROXY_INVALID_OPTION', () => {
    const server = prepare()
    expect(() => withProxyProtocol(server as unknown as net.Server)).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_OPTION }),
    )
    const deaf = Object.assign(new EventEmitter(), { listen() {} })
    expect(() => withProxyProtocol(deaf as unknown as net.Server)).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_OPTION }),
    )
    expect(() => withProxyProtocol(null as unknown as net.Server)).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_OPTION }),
    )
  })

  it('takes the ordinary path for a net.Server: its own listen() is untouched', () => {
    const server = http.createServer()
    const listen = server.listen
    withProxyProtocol(server)
    expect(server.listen).toBe(listen)
  })
})
