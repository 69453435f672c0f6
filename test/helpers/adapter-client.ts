/** Clients that play the load balancer for the adapter tests (express, fastify, ws): agents, raw sockets and h2 sessions whose connections start with a PROXY header. */
import { once } from 'node:events'
import http from 'node:http'
import http2 from 'node:http2'
import https from 'node:https'
import type net from 'node:net'
import { connect as connectWithHeader } from '@proxyproto/node'
import { type TestClientOptions, testHeader } from '@proxyproto/node/testing'
import { CLIENT, DESTINATION } from './headers.js'

export { CLIENT } from './headers.js'
export { closeServer, connect, listen, tlsOptions } from './sockets.js'
export type { TestClientOptions }

/**
 * The clients that play the load balancer are @proxyproto/node's own testing helpers (what users test
 * their apps with); `as(...)` gives their options for the headers these tests send.
 */
export { testAgent, testConnect, testConnector } from '@proxyproto/node/testing'

/** A v1 or v2 header naming CLIENT (destination 192.0.2.1:443), or a LOCAL health check. */
export function as(
  kind: 'v1' | 'v2' | 'local',
  extra: Omit<TestClientOptions, 'client' | 'version' | 'local'> = {},
): TestClientOptions {
  if (kind === 'local') return { local: true, ...extra }
  return { client: CLIENT, destination: DESTINATION, version: kind === 'v1' ? 1 : 2, ...extra }
}

/** Reads HTTP/1.1 responses (Content-Length bodies) one at a time from a raw socket. */
export function responses(socket: net.Socket): () => Promise<{ status: number; body: string }> {
  let buffered = Buffer.alloc(0)
  let wake: (() => void) | undefined
  let ended = false
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk])
    wake?.()
  })
  socket.on('close', () => {
    ended = true
    wake?.()
  })
  return async () => {
    for (;;) {
      const end = buffered.indexOf('\r\n\r\n')
      if (end !== -1) {
        const head = buffered.subarray(0, end).toString('latin1')
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0)
        if (buffered.length >= end + 4 + length) {
          const body = buffered.subarray(end + 4, end + 4 + length).toString()
          buffered = buffered.subarray(end + 4 + length)
          return { status: Number(head.split(' ')[1]), body }
        }
      }
      if (ended) throw new Error(`connection closed; received ${JSON.stringify(buffered.toString())}`)
      await new Promise<void>((resolve) => {
        wake = resolve
      })
    }
  }
}

/** An HTTP/2 client session whose connection starts with the header `client` describes (h2 over TLS with `tls`). */
export async function h2session(port: number, client: TestClientOptions): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(`${client.tls ? 'https' : 'http'}://127.0.0.1:${port}`, {
    createConnection: () =>
      connectWithHeader({
        host: '127.0.0.1',
        port,
        proxyHeader: testHeader(client),
        ...(client.tls && { tls: { ALPNProtocols: ['h2'], rejectUnauthorized: false } }),
      }),
  })
  await once(session, 'connect')
  return session
}

export function h2get(
  session: http2.ClientHttp2Session,
  path: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path })
    let status = 0
    let body = ''
    stream.on('response', (headers) => {
      status = Number(headers[':status'])
    })
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => {
      body += chunk
    })
    stream.on('end', () => resolve({ status, body }))
    stream.on('error', reject)
    stream.end()
  })
}

/**
 * Three GETs on one keep-alive connection, each sent once the one before was answered; the last says
 * Connection: close and ends the client's writes. Resolves with the three responses in order.
 */
export async function keepAliveGets(socket: net.Socket): Promise<Array<{ status: number; body: string }>> {
  const next = responses(socket)
  const answered: Array<{ status: number; body: string }> = []
  for (let i = 0; i < 2; i++) {
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    answered.push(await next())
  }
  socket.end('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  answered.push(await next())
  return answered
}

/** GET `path` through `agent` (with `headers`); resolves with the status and the body parsed as JSON. */
export function get<T = Record<string, unknown>>(
  port: number,
  path: string,
  agent: http.Agent,
  secure = false,
  headers: http.OutgoingHttpHeaders = {},
): Promise<{ status: number; json: T }> {
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: body ? JSON.parse(body) : undefined }))
    })
    req.on('error', reject)
    req.end()
  })
}
