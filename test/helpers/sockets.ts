/**
 * Socket-level helpers shared by the real-socket tests of @proxyproto/node (test/node-*.test.ts).
 * Not a test file itself.
 */
import { once } from 'node:events'
import net from 'node:net'
import tls from 'node:tls'

/** The client's own address: distinct from the balancer's 127.0.0.1, so the two cannot be confused. */
export const CLIENT_ADDRESS = '127.0.0.23'
/** The address load balancers (and the test process acting as one) connect from. */
export const BALANCER_ADDRESS = '127.0.0.1'

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
export const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

/** Listens on 127.0.0.1 on a port chosen by the kernel; resolves with the port. */
export async function listen(server: net.Server, host = BALANCER_ADDRESS): Promise<number> {
  server.listen(0, host)
  await once(server, 'listening')
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

/** Polls `check` until it returns true; rejects with `what` after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
}

/** A plain TCP connection from `localAddress`. */
export async function tcpConnect(
  port: number,
  localAddress = CLIENT_ADDRESS,
  host = BALANCER_ADDRESS,
): Promise<net.Socket> {
  const socket = net.connect({ port, host, localAddress })
  await once(socket, 'connect')
  return socket
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

/** A small seeded PRNG (mulberry32), so a failing run can be repeated with its seed. */
export class Rng {
  private state: number
  constructor(readonly seed: number) {
    this.state = seed >>> 0
  }
  /** [0, 1) */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }
  bool(p = 0.5): boolean {
    return this.next() < p
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!
  }
  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length)
    for (let i = 0; i < length; i++) out[i] = this.int(0, 255)
    return out
  }
  ipv4(): string {
    return `${this.int(1, 223)}.${this.int(0, 255)}.${this.int(0, 255)}.${this.int(1, 254)}`
  }
  /** Distinct, sorted cut points strictly inside [0, length]. */
  cuts(length: number, count: number): number[] {
    const set = new Set<number>()
    for (let i = 0; i < count && length > 1; i++) set.add(this.int(1, length - 1))
    return [...set].sort((a, b) => a - b)
  }
}

/** The seed of this run: PROXYPROTO_SEED when set, otherwise random (printed by the tests that use it). */
export function seedFromEnv(): number {
  // biome-ignore lint/suspicious/noUndeclaredEnvVars: set by hand to replay a failing run, never by turbo
  const env = process.env.PROXYPROTO_SEED
  return env ? Number(env) >>> 0 : Math.floor(Math.random() * 2 ** 32)
}

/** Splits `data` at `cuts`. */
export function splitAt(data: Buffer, cuts: readonly number[]): Buffer[] {
  const parts: Buffer[] = []
  let start = 0
  for (const cut of cuts) {
    parts.push(data.subarray(start, cut))
    start = cut
  }
  parts.push(data.subarray(start))
  return parts
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
