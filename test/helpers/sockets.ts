/**
 * The socket test kit: listening, connecting, waiting for a close, and clocks, shared by every test that
 * opens real sockets (packages' own tests and the root test/ alike). Not a test file itself.
 *
 * Waits here are event-driven ('listening', 'connect', 'close') with a deadline only to turn a hang into a
 * clear failure; `waitFor` polls a condition for state that has no event (stats counters, handle counts).
 */
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import tls from 'node:tls'

/** The client's own address: distinct from the balancer's 127.0.0.1, so the two cannot be confused. */
export const CLIENT_ADDRESS = '127.0.0.23'
/** The address load balancers (and the test process acting as one) connect from. */
export const BALANCER_ADDRESS = '127.0.0.1'

/** The self-signed `localhost` certificate of test/fixtures, for https/tls/h2 servers under test. */
export const tlsOptions = {
  key: readFileSync(new URL('../fixtures/key.pem', import.meta.url)),
  cert: readFileSync(new URL('../fixtures/cert.pem', import.meta.url)),
}

/** Pacing only (spreading writes, throttling a background loop): never a wait for a result. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
export const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

/** Listens on a port chosen by the kernel (unless already listening); resolves with the port. */
export async function listen(server: net.Server, host = BALANCER_ADDRESS): Promise<number> {
  if (!server.listening) {
    server.listen(0, host)
    await once(server, 'listening')
  }
  return (server.address() as net.AddressInfo).port
}

/** Closes the server and every connection it still holds. */
export async function closeServer(server: net.Server): Promise<void> {
  ;(server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.()
  if (!server.listening) return
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

/** server.getConnections() as a promise. */
export function connectionCount(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))))
}

/** Polls `check` until it returns true; rejects naming `what` (or what it returns then) after `timeoutMs`. For state that emits no event. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`,
      )
    await sleep(10)
  }
}

/**
 * A TCP connection to host:port from `localAddress` (a distinct loopback address tells client from
 * balancer: 127.0.0.0/8 is all loopback). Rejects if the connection fails.
 */
export function connect(
  port: number,
  localAddress = BALANCER_ADDRESS,
  host = BALANCER_ADDRESS,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host, localAddress })
    const onError = (err: Error): void => {
      socket.destroy()
      reject(err)
    }
    socket.once('error', onError)
    socket.once('connect', () => {
      socket.off('error', onError)
      resolve(socket)
    })
  })
}

/** A TLS connection from `localAddress` (SNI `localhost`, the test certificate is not verified). */
export async function tlsConnect(
  port: number,
  options: { localAddress?: string; alpn?: string[]; host?: string } = {},
): Promise<tls.TLSSocket> {
  // localAddress is passed on to net.connect (not in tls.ConnectionOptions' type).
  const connectOptions: tls.ConnectionOptions & { localAddress: string } = {
    port,
    host: options.host ?? BALANCER_ADDRESS,
    localAddress: options.localAddress ?? CLIENT_ADDRESS,
    servername: 'localhost',
    rejectUnauthorized: false,
    ...(options.alpn ? { ALPNProtocols: options.alpn } : {}),
  }
  const socket = tls.connect(connectOptions)
  await once(socket, 'secureConnect')
  return socket
}

export interface Closed {
  /** Everything received before the close. */
  data: Buffer
  /** The error the socket reported, if any (ECONNRESET for a reset). */
  error: string | undefined
  /** Date.now() when 'close' fired. */
  at: number
}

/** Resolves when the socket closes, with everything it received; rejects after `timeoutMs`. */
export function untilClosed(socket: net.Socket, timeoutMs = 15_000): Promise<Closed> {
  const chunks: Buffer[] = []
  let error: string | undefined
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy()
      reject(
        new Error(`socket still open after ${timeoutMs} ms (received ${Buffer.concat(chunks).length} bytes)`),
      )
    }, timeoutMs)
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error ??= err.code ?? err.message
    })
    const done = (): void => {
      clearTimeout(timer)
      resolve({ data: Buffer.concat(chunks), error, at: Date.now() })
    }
    if (socket.destroyed && socket.closed) done()
    else socket.once('close', done)
  })
}

/** Everything the socket receives until the peer closes it. */
export async function readAll(socket: net.Socket, timeoutMs?: number): Promise<Buffer> {
  return (await untilClosed(socket, timeoutMs)).data
}

/**
 * True when the peer closes the socket within `ms`, false otherwise. Use `ms` as a generous bound
 * on "closed"; asserting that a socket stays open needs a window, so false costs the whole `ms`.
 */
export function closedWithin(socket: net.Socket, ms: number): Promise<boolean> {
  return untilClosed(socket, ms).then(
    () => true,
    () => false,
  )
}

/**
 * Resolves with what the socket received once `enough(received)` says so, or when the peer closes;
 * rejects after `timeoutMs`. For peers that keep the connection open after answering.
 */
export function readUntil(
  socket: net.Socket,
  enough: (received: Buffer) => boolean,
  timeoutMs = 5000,
): Promise<Buffer> {
  const chunks: Buffer[] = []
  return new Promise((resolve, reject) => {
    const finish = (err?: Error): void => {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('close', onClose)
      if (err) reject(err)
      else resolve(Buffer.concat(chunks))
    }
    const timer = setTimeout(
      () =>
        finish(
          new Error(
            `not enough after ${timeoutMs} ms: ${JSON.stringify(Buffer.concat(chunks).toString('latin1'))}`,
          ),
        ),
      timeoutMs,
    )
    const onData = (c: Buffer): void => {
      chunks.push(c)
      if (enough(Buffer.concat(chunks))) finish()
    }
    const onClose = (): void => finish()
    socket.on('data', onData)
    socket.on('close', onClose)
    socket.on('error', () => {}) // 'close' follows
  })
}

/** Connects from `localAddress`, sends `data`, ends its writes, and resolves with everything received (UTF-8). */
export async function exchange(
  port: number,
  data: string | Buffer,
  localAddress = BALANCER_ADDRESS,
): Promise<string> {
  const socket = await connect(port, localAddress)
  const received = readAll(socket) // a refused connection may be reset: it then just receives nothing
  socket.end(data)
  return (await received).toString()
}

/**
 * The server's own clock for each connection: the moment the server accepted it (before
 * withProxyProtocol or anything else saw it). Deadlines (headerTimeout) are enforced on the server, so
 * they are measured there too; a client's clock starts late (after 'connect' resolves) and stops late.
 * Call after withProxyProtocol(server): this wraps whatever emit the server has.
 */
export function serverClock(server: net.Server): { since(socket: net.Socket): number } {
  const acceptedAt = new WeakMap<net.Socket, number>()
  const emit = server.emit
  server.emit = function (this: net.Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'connection') acceptedAt.set(args[0] as net.Socket, performance.now())
    return Reflect.apply(emit, this, [event, ...args]) as boolean
  } as net.Server['emit']
  return {
    since(socket) {
      const at = acceptedAt.get(socket)
      if (at === undefined) throw new Error('serverClock: this socket was not accepted by the server')
      return performance.now() - at
    },
  }
}

/** Runs fn(0..count-1) with at most `concurrency` at a time; rejects with the first failure. */
export async function runPool(
  count: number,
  concurrency: number,
  fn: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0
  let failed: unknown
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < count) {
      const i = next++
      try {
        await fn(i)
      } catch (err) {
        failed ??= err
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  if (failed !== undefined) throw failed
}

export interface HttpResponse {
  status: number
  headers: Record<string, string>
  body: Buffer
}

/** Parses a byte stream of HTTP/1.1 responses that carry Content-Length (what the tests' servers send). */
export function parseHttpResponses(data: Buffer): HttpResponse[] {
  const out: HttpResponse[] = []
  let p = 0
  while (p < data.length) {
    const end = data.indexOf('\r\n\r\n', p, 'latin1')
    if (end < 0)
      throw new Error(`incomplete response head at byte ${p}: ${data.subarray(p, p + 80).toString('latin1')}`)
    const [statusLine, ...lines] = data.subarray(p, end).toString('latin1').split('\r\n')
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1])
    const headers: Record<string, string> = {}
    for (const line of lines) {
      const colon = line.indexOf(':')
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
    }
    const length = Number(headers['content-length'] ?? 0)
    const body = data.subarray(end + 4, end + 4 + length)
    if (body.length !== length) throw new Error(`response body truncated: ${body.length} of ${length} bytes`)
    out.push({ status, headers, body })
    p = end + 4 + length
  }
  return out
}

/** Node's active TCP handles (sockets and listening servers) in this process. */
export function tcpHandles(): { sockets: number; servers: number } {
  const info = process.getActiveResourcesInfo()
  return {
    sockets: info.filter((r) => r === 'TCPSocketWrap' || r === 'TLSWrap').length,
    servers: info.filter((r) => r === 'TCPServerWrap').length,
  }
}
