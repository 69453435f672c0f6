/**
 * socket.io needs no adapter: it serves on an http.Server, so preparing that server with
 * withProxyProtocol is enough for socket.handshake.address to be the client.
 */
import http from 'node:http'
import type net from 'node:net'
import { getProxyInfo, withProxyProtocol } from '@proxyproto/node'
import { Server } from 'socket.io'
import { io, type Socket as ClientSocket } from 'socket.io-client'
import { afterEach, describe, expect, it } from 'vitest'
import { CLIENT, closeServer, headerAgent, listen, local, v1, v2 } from './helpers.js'

const cleanup: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

interface Seen {
  address: string
  version: number | undefined
  transport: string
}

async function start(): Promise<number> {
  const httpServer = withProxyProtocol(http.createServer())
  const ioServer = new Server(httpServer)
  ioServer.on('connection', (socket) => {
    const seen: Seen = {
      address: socket.handshake.address,
      version: getProxyInfo(socket.request)?.header?.version,
      transport: socket.conn.transport.name,
    }
    socket.emit('seen', seen)
  })
  cleanup.push(async () => {
    ioServer.disconnectSockets(true)
    await ioServer.close()
    await closeServer(httpServer as net.Server)
  })
  return listen(httpServer)
}

function seenBy(port: number, header: Buffer, transports: string[]): Promise<Seen> {
  const agent = headerAgent(header, false, Number.POSITIVE_INFINITY)
  // engine.io-client hands `agent` to its long-polling requests and to ws for the WebSocket.
  const options = { transports, agent, reconnection: false }
  const client: ClientSocket = io(`http://127.0.0.1:${port}`, options as unknown as Parameters<typeof io>[1])
  cleanup.push(() => {
    client.disconnect()
    agent.destroy()
  })
  return new Promise((resolve, reject) => {
    client.once('seen', resolve)
    client.once('connect_error', reject)
  })
}

describe('socket.io on a server prepared with withProxyProtocol', () => {
  it('gives socket.handshake.address the client over the websocket transport', async () => {
    const port = await start()
    expect(await seenBy(port, v2(), ['websocket'])).toEqual({ address: CLIENT.address, version: 2, transport: 'websocket' })
  })

  it('gives socket.handshake.address the client over long-polling (several connections, each with a header)', async () => {
    const port = await start()
    expect(await seenBy(port, v1(), ['polling'])).toEqual({ address: CLIENT.address, version: 1, transport: 'polling' })
  })

  it('gives socket.handshake.address the client with the default polling-then-upgrade transports', async () => {
    const port = await start()
    expect(await seenBy(port, v2(), ['polling', 'websocket'])).toMatchObject({ address: CLIENT.address, version: 2 })
  })

  it('gives socket.handshake.address the balancer for a LOCAL health check', async () => {
    const port = await start()
    expect(await seenBy(port, local(), ['websocket'])).toMatchObject({ address: '127.0.0.1' })
  })
})
