/**
 * One Node server of each kind (net, http, https, h2c, h2, ws upgrade), prepared with
 * withProxyProtocol, whose handler replies with a JSON report of what it saw; and a client for each
 * kind that connects from 127.0.0.23. Shared by the HAProxy, nginx and curl tests. Not a test file.
 */
import { once } from 'node:events'
import http from 'node:http'
import http2 from 'node:http2'
import https from 'node:https'
import net from 'node:net'
import type tls from 'node:tls'
import {
  type ProxyProtocolError,
  type ProxyProtocolOptions,
  type ProxyProtocolStats,
  proxyProtocolStats,
  withProxyProtocol,
} from '@proxyproto/node'
import { expect } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { type Report, report } from './report.js'
import {
  BALANCER_ADDRESS,
  CLIENT_ADDRESS,
  closeServer,
  connect,
  listen,
  tlsConnect,
  tlsOptions,
  untilClosed,
  waitFor,
} from './sockets.js'

export { tlsOptions }

export const KINDS = ['net', 'http', 'https', 'h2c', 'h2', 'ws'] as const
export type Kind = (typeof KINDS)[number]

/** Kinds whose server speaks TLS itself. */
export const isTlsKind = (kind: Kind): boolean => kind === 'https' || kind === 'h2'

export const SERVER_NAMES: Record<Kind, string> = {
  net: 'a net.Server',
  http: 'an http.Server',
  https: 'an https.Server',
  h2c: 'an h2c server (http2.createServer)',
  h2: 'an h2 server (http2.createSecureServer, ALPN h2)',
  ws: 'a ws upgrade on an http.Server',
}

export interface ReportServer {
  kind: Kind
  server: net.Server
  port: number
  /** Every 'proxyProtocolError' the server emitted. */
  errors: ProxyProtocolError[]
  /** Every report a handler produced. */
  seen: Report[]
  stats(): ProxyProtocolStats
  close(): Promise<void>
}

function json(res: http.ServerResponse | http2.Http2ServerResponse, r: Report): void {
  const body = JSON.stringify(r)
  res.setHeader('content-type', 'application/json')
  res.end(body)
}

/** Creates, prepares and starts the server of `kind` on 127.0.0.1. */
export async function startReportServer(kind: Kind, options?: ProxyProtocolOptions): Promise<ReportServer> {
  const seen: Report[] = []
  const record = (r: Report): Report => {
    seen.push(r)
    return r
  }
  const sockets = new Set<net.Socket>()
  let server: net.Server
  let wss: WebSocketServer | undefined
  switch (kind) {
    case 'net':
      server = net.createServer((socket) => {
        socket.on('error', () => {})
        socket.once('data', (d: Buffer) =>
          socket.end(JSON.stringify(record(report(socket, socket, d.toString('latin1'))))),
        )
      })
      break
    case 'http':
      server = http.createServer((req, res) => json(res, record(report(req.socket, req))))
      break
    case 'https':
      server = https.createServer(tlsOptions, (req, res) => json(res, record(report(req.socket, req))))
      break
    case 'h2c':
      server = http2.createServer((req, res) => json(res, record(report(req.socket as net.Socket, req))))
      break
    case 'h2':
      server = http2.createSecureServer(tlsOptions, (req, res) =>
        json(res, record(report(req.socket as net.Socket, req))),
      )
      break
    case 'ws': {
      const httpServer = http.createServer((req, res) => json(res, record(report(req.socket, req))))
      wss = new WebSocketServer({ server: httpServer })
      wss.on('connection', (ws, req) => {
        ws.send(JSON.stringify(record(report(req.socket, req))))
      })
      server = httpServer
      break
    }
  }
  withProxyProtocol(server, options)
  const errors: ProxyProtocolError[] = []
  server.on('proxyProtocolError', (err: ProxyProtocolError) => errors.push(err))
  // h2 sessions and ws connections are not closed by closeAllConnections(): track raw sockets.
  server.on('connection', (s: net.Socket) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  })
  const port = await listen(server)
  return {
    kind,
    server,
    port,
    errors,
    seen,
    stats: () => proxyProtocolStats(server)!,
    async close() {
      for (const client of wss?.clients ?? []) client.terminate()
      wss?.close()
      for (const s of sockets) s.destroy()
      await closeServer(server)
    },
  }
}

/** Resolves when no server has a connection left waiting for its header (what a suite's checks wait for). */
export function headersSettled(servers: Map<Kind, ReportServer>, what = 'pending headers to settle'): Promise<void> {
  return waitFor(() => [...servers.values()].every((s) => s.stats().pending === 0), what)
}

export async function closeReportServers(servers: Map<Kind, ReportServer>): Promise<void> {
  await Promise.all([...servers.values()].map((s) => s.close()))
}

export interface Answer {
  /** What the server's handler saw. */
  report: Report
  /** The client socket's own port (the source port the balancer must report). */
  localPort: number
  /** The client's TLS connection (to the balancer or to the server): negotiated ALPN and version. */
  alpn: string | undefined
  tlsVersion: string | undefined
}

/**
 * What a v1 balancer that names the TCP client it accepted (nginx stream, stunnel) must have told the
 * server: the client 127.0.0.23 with the port it connected from, and the balancer as the peer.
 */
export function expectV1ClientBehindBalancer(answer: Answer): void {
  expect(answer.report).toMatchObject({
    address: CLIENT_ADDRESS,
    port: answer.localPort,
    family: 'IPv4',
    client: { address: CLIENT_ADDRESS, port: answer.localPort },
    version: 1,
    command: 'PROXY',
  })
  expect(answer.report.peer?.address).toBe(BALANCER_ADDRESS)
}

function alpnFor(kind: Kind): string[] | undefined {
  if (kind === 'h2' || kind === 'h2c') return ['h2']
  if (kind === 'net') return undefined
  return ['http/1.1']
}

/**
 * Talks to a server of `kind` through `port` (a balancer, or the server itself) from 127.0.0.23.
 * `secure`: speak TLS on this connection; true for https/h2 and for a balancer that terminates TLS.
 */
export async function ask(kind: Kind, port: number, secure = isTlsKind(kind), path = '/'): Promise<Answer> {
  const socket: net.Socket = secure ? await tlsConnect(port, { alpn: alpnFor(kind) }) : await connect(port, CLIENT_ADDRESS)
  socket.on('error', () => {})
  const localPort = socket.localPort!
  const tlsSocket = secure ? (socket as tls.TLSSocket) : undefined
  const alpn = tlsSocket ? tlsSocket.alpnProtocol || undefined : undefined
  const tlsVersion = tlsSocket ? (tlsSocket.getProtocol() ?? undefined) : undefined
  let text: string
  try {
    text = await exchange(kind, socket, secure, path)
  } finally {
    socket.destroy()
  }
  let parsed: Report
  try {
    parsed = JSON.parse(text) as Report
  } catch {
    throw new Error(`${kind} server replied with something that is not a report: ${JSON.stringify(text)}`)
  }
  return { report: parsed, localPort, alpn, tlsVersion }
}

async function exchange(kind: Kind, socket: net.Socket, secure: boolean, path: string): Promise<string> {
  switch (kind) {
    case 'net': {
      const closed = untilClosed(socket)
      socket.write('ping\n')
      return (await closed).data.toString()
    }
    case 'http':
    case 'https': {
      const request = secure ? https.request : http.request
      return new Promise((resolve, reject) => {
        const req = request(
          { createConnection: () => socket, path, headers: { connection: 'close', host: 'localhost' } },
          (res) => {
            let body = ''
            res.setEncoding('utf8')
            res.on('data', (d: string) => {
              body += d
            })
            res.on('end', () =>
              res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}: ${body}`)),
            )
          },
        )
        req.on('error', reject)
        req.end()
      })
    }
    case 'h2c':
    case 'h2': {
      const session = http2.connect(`${secure ? 'https' : 'http'}://localhost`, {
        createConnection: () => socket,
      })
      try {
        session.on('error', () => {})
        const req = session.request({ ':path': path })
        const [headers] = (await once(req, 'response')) as [http2.IncomingHttpHeaders]
        let body = ''
        req.setEncoding('utf8')
        req.on('data', (d: string) => {
          body += d
        })
        await once(req, 'end')
        if (Number(headers[':status']) !== 200) throw new Error(`HTTP ${String(headers[':status'])}: ${body}`)
        return body
      } finally {
        session.close()
      }
    }
    case 'ws': {
      const ws = new WebSocket(`${secure ? 'wss' : 'ws'}://localhost${path}`, {
        createConnection: () => socket,
      })
      try {
        const [data] = (await once(ws, 'message')) as [Buffer]
        return data.toString()
      } finally {
        ws.terminate()
      }
    }
  }
}
