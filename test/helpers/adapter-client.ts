/** Clients that play the load balancer for the adapter tests (express, fastify, ws): raw sockets, agents and h2 sessions whose connections start with a PROXY header. */
import { encode } from '@proxyproto/core'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import http2 from 'node:http2'
import https from 'node:https'
import net from 'node:net'
import tls from 'node:tls'

export const tlsOptions = {
  key: readFileSync(new URL('../fixtures/key.pem', import.meta.url)),
  cert: readFileSync(new URL('../fixtures/cert.pem', import.meta.url)),
}

/** The client our "balancer" (this process, on 127.0.0.1) reports in its headers. */
export const CLIENT = { address: '203.0.113.7', port: 51234 }
const DESTINATION = { address: '192.0.2.1', port: 443 }

export const v1 = (source = CLIENT): Buffer =>
  Buffer.from(encode({ version: 1, family: 'IPv4', source, destination: DESTINATION }))
export const v2 = (source = CLIENT): Buffer =>
  Buffer.from(encode({ version: 2, family: 'IPv4', source, destination: DESTINATION }))
export const local = (): Buffer => Buffer.from(encode({ version: 2, command: 'LOCAL' }))

/**
 * An agent that plays the load balancer: every connection it opens starts with `header`,
 * so supertest (or http.request) requests arrive with a PROXY header in front.
 */
export function headerAgent(header: Buffer, secure = false, maxSockets = 1): http.Agent {
  if (!secure) {
    const agent = new http.Agent({ keepAlive: true, maxSockets })
    const create = agent.createConnection.bind(agent)
    agent.createConnection = (options, callback) => {
      const socket = create(options, callback) as net.Socket
      socket.write(header)
      return socket
    }
    return agent
  }
  const agent = new https.Agent({ keepAlive: true, maxSockets, rejectUnauthorized: false })
  agent.createConnection = (options: tls.ConnectionOptions) => {
    const raw = net.connect({ host: options.host ?? '127.0.0.1', port: Number(options.port) })
    raw.write(header)
    return tls.connect({ ...options, socket: raw, rejectUnauthorized: false })
  }
  return agent
}

export async function listen<S extends net.Server>(server: S): Promise<number> {
  if (!server.listening) {
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
  }
  return (server.address() as net.AddressInfo).port
}

export async function close(server: net.Server): Promise<void> {
  ;(server as http.Server).closeAllConnections?.()
  if (!server.listening) return
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

export async function connect(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress })
  await once(socket, 'connect')
  return socket
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

/** An HTTP/2 client session whose connection starts with `header` (h2c, or h2 over TLS when `secure`). */
export async function h2session(port: number, header: Buffer, secure = false): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(`${secure ? 'https' : 'http'}://127.0.0.1:${port}`, {
    createConnection: () => {
      const raw = net.connect({ host: '127.0.0.1', port })
      raw.write(header)
      return secure ? tls.connect({ socket: raw, ALPNProtocols: ['h2'], rejectUnauthorized: false }) : raw
    },
  })
  await once(session, 'connect')
  return session
}

export function h2get(session: http2.ClientHttp2Session, path: string): Promise<{ status: number; body: string }> {
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

/** GET `path` through `agent`; resolves with the status and the body parsed as JSON. */
export function get<T = Record<string, unknown>>(
  port: number,
  path: string,
  agent: http.Agent,
  secure = false,
): Promise<{ status: number; json: T }> {
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request({ host: '127.0.0.1', port, path, agent }, (res) => {
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
