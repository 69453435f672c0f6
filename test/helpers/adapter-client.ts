/** Clients that play the load balancer for the adapter tests (express, fastify, ws): raw sockets, agents and h2 sessions whose connections start with a PROXY header. */
import { once } from 'node:events'
import http from 'node:http'
import http2 from 'node:http2'
import https from 'node:https'
import net from 'node:net'
import tls from 'node:tls'

export { CLIENT, local, v1, v2 } from './headers.js'
export { closeServer, connect, listen, tlsOptions } from './sockets.js'

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
