/**
 * @proxyproto/node under hostile and unlucky conditions, on real sockets (no external binaries).
 * The test process is both the load balancer (127.0.0.1, trusted as loopback) and the servers.
 *
 * Random inputs come from a seeded PRNG: a failure message names the seed; rerun it with
 * PROXYPROTO_SEED=<seed>.
 */
import { createHash } from 'node:crypto'
import http from 'node:http'
import http2 from 'node:http2'
import https from 'node:https'
import net from 'node:net'
import { Duplex } from 'node:stream'
import tls from 'node:tls'
import {
  ErrorCodes,
  encode,
  type HeaderInput,
  isProxyProtocolError,
  tlv,
  V2_SIGNATURE,
} from '@proxyproto/core'
import {
  getProxyInfo,
  type ProxyProtocolError,
  type ProxyProtocolOptions,
  type ProxyProtocolStats,
  proxyProtocolStats,
  withProxyProtocol,
} from '@proxyproto/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { v1, v2 } from './helpers/headers.js'
import { Rng, seedFromEnv, splitAt } from './helpers/random.js'
import {
  BALANCER_ADDRESS,
  CLIENT_ADDRESS,
  type Closed,
  closeServer,
  connectionCount,
  listen,
  parseHttpResponses,
  connect as rawConnect,
  runPool,
  serverClock,
  sleep,
  tcpHandles,
  tick,
  tlsOptions,
  untilClosed,
  waitFor,
} from './helpers/sockets.js'

const SEED = seedFromEnv()
console.log(`node-reliability seed ${SEED} (rerun with PROXYPROTO_SEED=${SEED})`)
/** An independent stream of random numbers per connection, so concurrency does not change the inputs. */
const rngFor = (stream: number, i: number): Rng =>
  new Rng((SEED ^ Math.imul(stream + 1, 0x85ebca6b) ^ Math.imul(i + 1, 0x9e3779b9)) >>> 0)

const KNOWN_CODES = new Set<string>(Object.values(ErrorCodes))
const sum = (record: Partial<Record<string, number>>): number =>
  Object.values(record).reduce<number>((a, b) => a + (b ?? 0), 0)

/** Everything the file starts, so the last test can check nothing is left. */
const servers: net.Server[] = []
const clients = new Set<net.Socket>()

function prepare<S extends net.Server>(
  server: S,
  options?: ProxyProtocolOptions,
): { server: S; errors: ProxyProtocolError[]; stats: () => ProxyProtocolStats } {
  withProxyProtocol(server, options)
  const errors: ProxyProtocolError[] = []
  server.on('proxyProtocolError', (err: ProxyProtocolError) => errors.push(err))
  servers.push(server)
  return { server, errors, stats: () => proxyProtocolStats(server)! }
}


/** A client socket, tracked until it closes. */
async function connect(port: number, localAddress = BALANCER_ADDRESS): Promise<net.Socket> {
  const socket = await rawConnect(port, localAddress)
  clients.add(socket)
  socket.once('close', () => clients.delete(socket))
  socket.on('error', () => {})
  return socket
}

/** An http server whose every reply describes the request: the socket's address, url, body length and hash. */
function describingHttpServer(): http.Server {
  return http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      res.setHeader('content-type', 'application/json')
      res.end(
        JSON.stringify({
          address: req.socket.remoteAddress,
          port: req.socket.remotePort,
          version: getProxyInfo(req)?.header?.version ?? null,
          url: req.url,
          length: body.length,
          sha1: createHash('sha1').update(body).digest('hex'),
        }),
      )
    })
  })
}

interface RandomHeader {
  bytes: Buffer
  source: { address: string; port: number }
  version: 1 | 2
}

/** A valid v1 or v2 header naming a random IPv4/IPv6 source with the given port; v2 may carry TLVs, CRC32C, padding. */
function randomHeader(rng: Rng, port: number): RandomHeader {
  const version: 1 | 2 = rng.bool() ? 1 : 2
  const ipv6 = rng.bool(0.3)
  const hex = (): string => rng.int(1, 0xffff).toString(16)
  // Canonical forms: what socket.remoteAddress prints.
  const address = ipv6 ? `2001:db8:${hex()}:${hex()}::${hex()}` : rng.ipv4()
  const input: HeaderInput = {
    version,
    family: ipv6 ? 'IPv6' : 'IPv4',
    source: { address, port },
    destination: ipv6 ? { address: '2001:db8::1', port: 443 } : { address: '192.0.2.1', port: 443 },
  }
  let options = {}
  if (version === 2) {
    const tlvs = []
    if (rng.bool(0.4)) tlvs.push(tlv.authority(`host${rng.int(0, 1e6)}.example`))
    if (rng.bool(0.4)) tlvs.push(tlv.uniqueId(rng.bytes(rng.int(1, 128))))
    if (rng.bool(0.3)) tlvs.push({ type: 0xe5, value: rng.bytes(rng.int(0, 200)) })
    input.tlvs = tlvs
    options = { crc32c: rng.bool(0.5), ...(rng.bool(0.2) ? { padTo: rng.int(0, 600) } : {}) }
  }
  return { bytes: Buffer.from(encode(input, options)), source: { address, port }, version }
}

/** Cut points for header+payload: some inside the header (where the parser must wait), some in the payload. */
function randomCuts(rng: Rng, headerLength: number, total: number): number[] {
  const cuts = new Set<number>()
  const inHeader = rng.int(0, 4)
  for (let k = 0; k < inHeader; k++) cuts.add(rng.int(1, headerLength))
  const inPayload = rng.int(0, 4)
  for (let k = 0; k < inPayload && total > headerLength + 1; k++)
    cuts.add(rng.int(headerLength + 1, total - 1))
  return [...cuts].filter((c) => c > 0 && c < total).sort((a, b) => a - b)
}

/** Writes the parts with setNoDelay, and a setImmediate or a 0-2 ms timer between them. */
async function writeSlowly(rng: Rng, socket: net.Socket, parts: readonly Buffer[]): Promise<void> {
  socket.setNoDelay(true)
  for (let k = 0; k < parts.length; k++) {
    if (k > 0) await (rng.bool() ? tick() : sleep(rng.int(0, 2)))
    if (socket.destroyed) return
    socket.write(parts[k]!)
  }
}

const REQUEST = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n`

/** A normal request through `port`, as a balancer reporting `client`; returns the reply. */
async function normalRequest(
  port: number,
  client: { address: string; port: number },
): Promise<{ status: number; body: Record<string, unknown>; ms: number }> {
  const t0 = Date.now()
  const socket = await connect(port)
  const closed = untilClosed(socket, 20_000)
  const header = encode({
    version: 2,
    family: 'IPv4',
    source: client,
    destination: { address: '192.0.2.1', port: 80 },
  })
  socket.write(Buffer.concat([header, Buffer.from(REQUEST('/normal'))]))
  const { data } = await closed
  const [response] = parseHttpResponses(data)
  if (!response) throw new Error('normal request: no response')
  return {
    status: response.status,
    body: JSON.parse(response.body.toString()) as Record<string, unknown>,
    ms: Date.now() - t0,
  }
}

/**
 * A Duplex over `raw` for a TLS or HTTP/2 client: each write is cut into random slices written with a
 * setImmediate between some of them, and the first write is prefixed with `tail` (the end of the PROXY
 * header), so the header's last bytes share a packet with the ClientHello or the HTTP/2 preface.
 */
function slicingDuplex(rng: Rng, raw: net.Socket, tail: Buffer): Duplex {
  let first = true
  const duplex = new Duplex({
    write(chunk: Buffer, _encoding, callback) {
      let data = first ? Buffer.concat([tail, chunk]) : chunk
      first = false
      void (async () => {
        while (data.length > 0 && !raw.destroyed) {
          const n = rng.int(1, Math.min(data.length, 300))
          raw.write(data.subarray(0, n))
          data = data.subarray(n)
          if (rng.bool()) await tick()
        }
        callback()
      })()
    },
    read() {},
    final(callback) {
      raw.end()
      callback()
    },
    destroy(err, callback) {
      raw.destroy()
      callback(err)
    },
  })
  raw.on('data', (c: Buffer) => duplex.push(c))
  raw.on('end', () => duplex.push(null))
  raw.on('error', (err) => duplex.destroy(err))
  return duplex
}

describe('@proxyproto/node reliability on real sockets', () => {
  // Whichever tests ran (alone or all of them): once they are done, no connection, pending header or
  // TCP handle is left. A hook rather than a last test, so no test depends on the ones before it.
  afterAll(async () => {
    try {
      for (const server of servers) {
        await waitFor(async () => (await connectionCount(server)) === 0, 'getConnections() to reach 0', 15_000)
        expect(proxyProtocolStats(server)!.pending).toBe(0)
      }
      await waitFor(() => clients.size === 0, 'every client socket to close')
      await Promise.all(servers.map(closeServer))
      await waitFor(
        () => {
          const h = tcpHandles()
          return h.sockets === 0 && h.servers === 0
        },
        'TCP handles to be released',
        5000,
      )
      expect(tcpHandles()).toEqual({ sockets: 0, servers: 0 })
    } finally {
      for (const socket of clients) socket.destroy()
      await Promise.all(servers.map(closeServer))
    }
  }, 60_000)

  describe('random split points', () => {
    it("1,000 connections with header + random payload (0-4 KiB) split at random points reach a net echo server byte-exact, each reporting its header's client", async () => {
      const seen = new Map<number, { address: string | undefined; version: number | undefined }>()
      const echo = prepare(
        net.createServer((socket) => {
          seen.set(socket.remotePort!, {
            address: socket.remoteAddress,
            version: getProxyInfo(socket)?.header?.version,
          })
          socket.on('error', () => {})
          socket.pipe(socket)
        }),
      )
      const port = await listen(echo.server)
      const COUNT = 1000
      const failures: string[] = []
      const started = Date.now()
      await runPool(COUNT, 20, async (i) => {
        const rng = rngFor(1, i)
        // The source port identifies the connection on the server side.
        const header = randomHeader(rng, i + 1)
        const payload = rng.bytes(rng.next() < 0.1 ? 0 : rng.int(0, 4096))
        const all = Buffer.concat([header.bytes, payload])
        const parts = splitAt(all, randomCuts(rng, header.bytes.length, all.length))
        const socket = await connect(port)
        const closed = untilClosed(socket, 20_000)
        await writeSlowly(rng, socket, parts)
        socket.end()
        const { data, error } = await closed
        const got = seen.get(i + 1)
        const where = `seed ${SEED} connection ${i} (v${header.version}, header ${header.bytes.length} B, payload ${payload.length} B, parts ${parts.map((p) => p.length).join('+')})`
        if (error) failures.push(`${where}: socket error ${error}`)
        else if (!data.equals(payload))
          failures.push(`${where}: echoed ${data.length} bytes that differ from the payload`)
        else if (got?.address !== header.source.address || got.version !== header.version)
          failures.push(`${where}: server saw ${JSON.stringify(got)}, header named ${header.source.address}`)
      })
      console.log(`random split, net echo: ${COUNT} connections in ${Date.now() - started} ms`)
      expect(failures).toEqual([])
      expect(seen.size).toBe(COUNT)
      const stats = echo.stats()
      expect(stats.accepted.v1 + stats.accepted.v2).toBe(COUNT)
      expect(stats.refused).toEqual({})
      expect(echo.errors).toEqual([])
      await waitFor(() => stats.pending === 0, 'pending to return to 0')
    }, 120_000)

    it("300 connections of header + pipelined HTTP requests split at random points are all answered in order, each with its header's client", async () => {
      const app = prepare(describingHttpServer())
      const port = await listen(app.server)
      const COUNT = 300
      const failures: string[] = []
      let requests = 0
      await runPool(COUNT, 20, async (i) => {
        const rng = rngFor(2, i)
        const header = randomHeader(rng, 20_000 + i)
        const n = rng.int(1, 5)
        const expected: Array<{ url: string; body: Buffer }> = []
        const raw: Buffer[] = [header.bytes]
        for (let k = 0; k < n; k++) {
          const url = `/c${i}/r${k}`
          const last = k === n - 1
          const body = rng.bool() ? rng.bytes(rng.int(0, 2048)) : Buffer.alloc(0)
          const head =
            body.length > 0 || rng.bool()
              ? `POST ${url} HTTP/1.1\r\nHost: app\r\nContent-Length: ${body.length}\r\n`
              : `GET ${url} HTTP/1.1\r\nHost: app\r\n`
          raw.push(Buffer.from(`${head}${last ? 'Connection: close\r\n' : ''}\r\n`, 'latin1'), body)
          expected.push({ url, body })
        }
        requests += n
        const all = Buffer.concat(raw)
        const parts = splitAt(all, randomCuts(rng, header.bytes.length, all.length))
        const socket = await connect(port)
        const closed = untilClosed(socket, 20_000)
        await writeSlowly(rng, socket, parts)
        const { data, error } = await closed
        const where = `seed ${SEED} connection ${i} (v${header.version}, ${n} requests, parts ${parts.map((p) => p.length).join('+')})`
        if (error) return void failures.push(`${where}: socket error ${error}`)
        let responses: ReturnType<typeof parseHttpResponses>
        try {
          responses = parseHttpResponses(data)
        } catch (err) {
          return void failures.push(`${where}: ${(err as Error).message}`)
        }
        if (responses.length !== n) return void failures.push(`${where}: ${responses.length} responses`)
        responses.forEach((res, k) => {
          const r = JSON.parse(res.body.toString()) as Record<string, unknown>
          const want = {
            address: header.source.address,
            port: header.source.port,
            version: header.version,
            url: expected[k]!.url,
            length: expected[k]!.body.length,
            sha1: createHash('sha1').update(expected[k]!.body).digest('hex'),
          }
          if (res.status !== 200 || JSON.stringify(r) !== JSON.stringify(want))
            failures.push(
              `${where}: response ${k} is ${res.status} ${JSON.stringify(r)}, expected ${JSON.stringify(want)}`,
            )
        })
      })
      expect(failures).toEqual([])
      expect(requests).toBeGreaterThan(COUNT)
      expect(app.stats().refused).toEqual({})
      expect(app.stats().accepted.v1 + app.stats().accepted.v2).toBe(COUNT)
    }, 120_000)

    for (const kind of ['https', 'h2', 'h2c'] as const) {
      it(`150 ${kind} connections whose header is split at a random point, its tail sharing randomly sliced packets with the ${kind === 'h2c' ? 'HTTP/2 preface' : 'ClientHello'}, are served with the header's client`, async () => {
        const respond = (
          req: http.IncomingMessage | http2.Http2ServerRequest,
          res: http.ServerResponse | http2.Http2ServerResponse,
        ): void => {
          res.end(`${req.socket.remoteAddress} ${req.socket.remotePort}`)
        }
        const server =
          kind === 'https'
            ? https.createServer(tlsOptions, respond)
            : kind === 'h2'
              ? http2.createSecureServer(tlsOptions, respond)
              : http2.createServer(respond)
        const app = prepare(server)
        const port = await listen(app.server)
        const COUNT = 150
        const failures: string[] = []
        const stream = kind === 'https' ? 4 : kind === 'h2' ? 5 : 6
        await runPool(COUNT, 10, async (i) => {
          const rng = rngFor(stream, i)
          const header = randomHeader(rng, 40_000 + i)
          const cut = rng.int(0, header.bytes.length - 1)
          const raw = await connect(port)
          raw.setNoDelay(true)
          raw.write(header.bytes.subarray(0, cut))
          const duplex = slicingDuplex(rng, raw, header.bytes.subarray(cut))
          const where = `seed ${SEED} ${kind} connection ${i} (v${header.version}, ${header.bytes.length} B header cut at ${cut})`
          try {
            const body = await new Promise<string>((resolve, reject) => {
              if (kind === 'https') {
                const req = https.request(
                  {
                    createConnection: () =>
                      tls.connect({ socket: duplex, rejectUnauthorized: false, servername: 'localhost' }),
                    path: '/',
                    headers: { connection: 'close' },
                  },
                  (res) => {
                    let b = ''
                    res.setEncoding('utf8')
                    res.on('data', (d: string) => {
                      b += d
                    })
                    res.on('end', () => resolve(b))
                  },
                )
                req.on('error', reject)
                req.end()
                return
              }
              const session = http2.connect(kind === 'h2' ? 'https://localhost' : 'http://localhost', {
                createConnection: () =>
                  kind === 'h2'
                    ? tls.connect({
                        socket: duplex,
                        rejectUnauthorized: false,
                        servername: 'localhost',
                        ALPNProtocols: ['h2'],
                      })
                    : duplex,
              })
              session.on('error', reject)
              const req = session.request({ ':path': '/' })
              let b = ''
              req.setEncoding('utf8')
              req.on('data', (d: string) => {
                b += d
              })
              req.on('end', () => {
                session.close()
                resolve(b)
              })
              req.on('error', reject)
            })
            const want = `${header.source.address} ${header.source.port}`
            if (body !== want) failures.push(`${where}: got ${JSON.stringify(body)}, expected ${want}`)
          } catch (err) {
            failures.push(`${where}: ${(err as Error).message}`)
          } finally {
            raw.destroy()
          }
        })
        expect(failures).toEqual([])
        expect(app.stats().accepted.v1 + app.stats().accepted.v2).toBe(COUNT)
        expect(app.stats().refused).toEqual({})
      }, 120_000)
    }

    it('a header followed by several MiB in one write and a FIN is echoed byte-exact', async () => {
      const echo = prepare(
        net.createServer((socket) => {
          socket.on('error', () => {})
          socket.pipe(socket)
        }),
      )
      const port = await listen(echo.server)
      for (let i = 0; i < 4; i++) {
        const rng = rngFor(7, i)
        const header = randomHeader(rng, 50_000 + i)
        const payload = rng.bytes(rng.int(1, 4 * 1024 * 1024))
        const socket = await connect(port)
        const closed = untilClosed(socket, 60_000)
        socket.end(Buffer.concat([header.bytes, payload]))
        const { data, error } = await closed
        expect(error).toBeUndefined()
        expect(data.length).toBe(payload.length)
        expect(data.equals(payload)).toBe(true)
      }
      expect(echo.stats().refused).toEqual({})
    }, 120_000)
  })

  describe('malformed flood', () => {
    /** One hostile input: random bytes, or a valid header mutated. `request`: a full HTTP request follows it. */
    function malformed(rng: Rng, i: number): { kind: string; bytes: Buffer; request: boolean; end: boolean } {
      const valid = randomHeader(rng, 30_000 + (i % 30_000)).bytes
      const validV1 = v1({ address: rng.ipv4(), port: rng.int(1, 65535) }, { address: '192.0.2.1', port: 80 })
      const kind = rng.pick([
        'random',
        'random-after-v2-signature',
        'random-after-PROXY',
        'bit-flips',
        'bit-flips',
        'truncated',
        'v2-length',
        'v2-version-command-family',
        'byte-inserted',
        'byte-deleted',
        'v1-too-long',
        'v1-garbage-fields',
        'v2-huge-length',
      ])
      const end = rng.bool()
      let bytes: Buffer
      let request = rng.bool(0.7)
      switch (kind) {
        case 'random':
          bytes = rng.bytes(rng.int(1, 300))
          break
        case 'random-after-v2-signature':
          bytes = Buffer.concat([Buffer.from(V2_SIGNATURE), rng.bytes(rng.int(0, 120))])
          break
        case 'random-after-PROXY':
          bytes = Buffer.concat([
            Buffer.from(rng.pick(['PROXY ', 'PROXY TCP4 ', 'PROXY TCP6 ', 'PROXY UNKNOWN'])),
            rng.bytes(rng.int(0, 120)),
          ])
          break
        case 'bit-flips': {
          bytes = Buffer.from(rng.bool() ? valid : validV1)
          for (let k = rng.int(1, 3); k > 0; k--) bytes[rng.int(0, bytes.length - 1)]! ^= 1 << rng.int(0, 7)
          request = true
          break
        }
        case 'truncated': {
          const whole = rng.bool() ? valid : validV1
          bytes = whole.subarray(0, rng.int(1, whole.length - 1))
          request = false
          break
        }
        case 'v2-length':
          bytes = Buffer.from(valid[0] === 0x0d ? valid : encode({ version: 2, command: 'LOCAL' }))
          bytes.writeUInt16BE(rng.int(0, 0xffff), 14)
          break
        case 'v2-version-command-family': {
          bytes = v2({ address: '203.0.113.1', port: 1 }, { address: '192.0.2.1', port: 2 })
          bytes[rng.bool() ? 12 : 13] = rng.int(0, 255)
          request = true
          break
        }
        case 'byte-inserted': {
          const whole = rng.bool() ? valid : validV1
          const at = rng.int(0, whole.length)
          bytes = Buffer.concat([whole.subarray(0, at), rng.bytes(1), whole.subarray(at)])
          request = true
          break
        }
        case 'byte-deleted': {
          const whole = rng.bool() ? valid : validV1
          const at = rng.int(0, whole.length - 1)
          bytes = Buffer.concat([whole.subarray(0, at), whole.subarray(at + 1)])
          request = true
          break
        }
        case 'v1-too-long':
          bytes = Buffer.from(
            rng.bool()
              ? `PROXY TCP4 ${'1'.repeat(rng.int(100, 400))}`
              : `PROXY UNKNOWN ${'x'.repeat(rng.int(100, 400))}`,
          )
          break
        case 'v1-garbage-fields':
          bytes = Buffer.from(
            `PROXY ${rng.pick(['TCP4', 'TCP6', 'UDP4', 'tcp4', ''])} ${rng.pick(['1.2.3.4', '256.1.1.1', '::1', '01.2.3.4', 'x'])} ${rng.pick(['5.6.7.8', '1.2.3', ''])} ${rng.pick(['1', '65536', '-1', '01', 'a'])} ${rng.pick(['2', '0', ' 2'])}\r\n`,
          )
          request = true
          break
        default: {
          // v2-huge-length: a declared size far above maxHeaderSize
          bytes = Buffer.from(encode({ version: 2, command: 'LOCAL' }))
          bytes.writeUInt16BE(rng.int(5000, 0xffff), 14)
          break
        }
      }
      return { kind, bytes, request, end }
    }

    it('3,000 random and mutated headers on separate connections: the process survives, every refused connection is closed, normal requests during and after are served, pending returns to 0', async () => {
      // Long enough that a normal request is never timed out by a stalled event loop on a busy machine.
      const HEADER_TIMEOUT = 1000
      const app = prepare(describingHttpServer(), { headerTimeout: HEADER_TIMEOUT })
      const port = await listen(app.server)
      const COUNT = 3000
      const outcomes = new Map<string, { refused: number; answered: number }>()
      const failures: string[] = []
      let zeroByte = 0
      let normal = 0
      let flooding = true
      const started = Date.now()

      // Normal traffic during the flood, one request at a time.
      const during = (async () => {
        const bad: string[] = []
        let n = 0
        while (flooding) {
          n++
          const client = { address: `198.51.100.${(n % 250) + 1}`, port: 1000 + n }
          const r = await normalRequest(port, client).catch((err: Error) => ({
            status: 0,
            body: { error: err.message } as Record<string, unknown>,
            ms: 0,
          }))
          if (r.status !== 200 || r.body['address'] !== client.address || r.body['port'] !== client.port)
            bad.push(JSON.stringify(r))
          await sleep(20)
        }
        normal += n
        return bad
      })()

      await runPool(COUNT, 100, async (i) => {
        const rng = rngFor(3, i)
        const input = malformed(rng, i)
        const socket = await connect(port)
        const closed = untilClosed(socket, HEADER_TIMEOUT + 15_000)
        socket.write(
          input.request ? Buffer.concat([input.bytes, Buffer.from(REQUEST('/flood'))]) : input.bytes,
        )
        if (input.end) socket.end()
        let result: Closed
        try {
          result = await closed
        } catch (err) {
          failures.push(
            `seed ${SEED} connection ${i} (${input.kind}, ${input.bytes.toString('hex')}): ${(err as Error).message}`,
          )
          return
        }
        const o = outcomes.get(input.kind) ?? { refused: 0, answered: 0 }
        outcomes.set(input.kind, o)
        if (result.data.length === 0) {
          zeroByte++
          o.refused++
        } else {
          o.answered++
          // Only a header that is still valid after mutation reaches HTTP, which answers 200 or 400.
          if (!/^HTTP\/1\.1 (200|400) /.test(result.data.toString('latin1')))
            failures.push(
              `seed ${SEED} connection ${i} (${input.kind}): unexpected reply ${result.data.subarray(0, 60).toString('latin1')}`,
            )
        }
      })
      flooding = false
      const badDuring = await during
      console.log(
        `malformed flood: ${COUNT} connections in ${Date.now() - started} ms, ${normal} normal requests during it; refused ${JSON.stringify(app.stats().refused)}; outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`,
      )
      expect(failures).toEqual([])
      expect(badDuring).toEqual([])
      expect(normal).toBeGreaterThan(0)

      // And after it.
      const after = await normalRequest(port, { address: '198.51.100.254', port: 4242 })
      expect(after.status).toBe(200)
      expect(after.body).toMatchObject({ address: '198.51.100.254', port: 4242, version: 2 })
      normal++

      await waitFor(() => app.stats().pending === 0, 'pending to return to 0')
      await waitFor(async () => (await connectionCount(app.server)) === 0, 'every connection to be closed')
      const stats = app.stats()
      expect(stats.pending).toBe(0)
      expect(stats.connections).toBe(COUNT + normal)
      // Every connection is accounted for exactly once.
      expect(stats.accepted.v1 + stats.accepted.v2 + stats.local + stats.direct + sum(stats.refused)).toBe(
        stats.connections,
      )
      // A refused connection is closed without a byte; every connection that got no byte was refused.
      expect(zeroByte).toBe(sum(stats.refused))
      expect(sum(stats.refused)).toBeGreaterThan(COUNT / 2)
      for (const code of Object.keys(stats.refused)) expect(KNOWN_CODES).toContain(code)
      expect(app.errors.length).toBe(sum(stats.refused))
      for (const err of app.errors) {
        expect(isProxyProtocolError(err)).toBe(true)
        expect(KNOWN_CODES).toContain(err.code)
      }
    }, 180_000)
  })

  describe('slowloris', () => {
    it('300 connections that send a partial header and stop are all closed soon after headerTimeout (500 ms), while normal requests are served', async () => {
      const HEADER_TIMEOUT = 500
      const app = prepare(describingHttpServer(), { headerTimeout: HEADER_TIMEOUT })
      const port = await listen(app.server)
      const COUNT = 300
      const validV2 = v2({ address: '203.0.113.5', port: 5 }, { address: '192.0.2.1', port: 80 })
      const partials = [
        Buffer.from('P'),
        Buffer.from('PROXY TCP4 203.0.113.9 '),
        Buffer.from('PROXY TCP4 203.0.113.9 192.0.2.1 4000 80'),
        validV2.subarray(0, 6),
        validV2.subarray(0, 16),
        validV2.subarray(0, validV2.length - 1),
      ]
      // Measured on the server, from the moment it accepted each connection, as the deadline is.
      const clock = serverClock(app.server)
      const closedAfter: number[] = []
      app.server.on('proxyProtocolError', (err: ProxyProtocolError, socket: net.Socket) => {
        if (err.code === ErrorCodes.HEADER_TIMEOUT) closedAfter.push(clock.since(socket))
      })
      const failures: string[] = []

      let slowDone = false
      const slow = Promise.all(
        Array.from({ length: COUNT }, async (_, i) => {
          const socket = await connect(port, `127.0.1.${(i % 200) + 1}`)
          const closed = untilClosed(socket, HEADER_TIMEOUT + 20_000)
          socket.write(partials[i % partials.length]!)
          try {
            const r = await closed
            if (r.data.length > 0) failures.push(`connection ${i} received ${r.data.length} bytes`)
          } catch (err) {
            failures.push(`connection ${i}: ${(err as Error).message}`)
          }
        }),
      ).finally(() => {
        slowDone = true
      })

      // Normal requests while the slow connections hold their slots, until the last of them is closed.
      const normal: Array<{ status: number; ms: number; address: unknown }> = []
      for (let n = 0; !slowDone; n++) {
        const r = await normalRequest(port, { address: `198.51.100.${(n % 250) + 1}`, port: 2000 + n })
        normal.push({ status: r.status, ms: r.ms, address: r.body['address'] })
        if (r.body['address'] !== `198.51.100.${(n % 250) + 1}`)
          failures.push(`normal request ${n} saw ${String(r.body['address'])}`)
        await sleep(25) // pacing, not waiting
      }
      await slow
      const lateness = closedAfter.map((ms) => ms - HEADER_TIMEOUT)
      const worst = Math.max(...lateness)
      console.log(
        `slowloris: ${COUNT} partial headers closed ${Math.min(...lateness).toFixed(1)}..${worst.toFixed(1)} ms after the ${HEADER_TIMEOUT} ms timeout (server clock); ${normal.length} normal requests, slowest ${Math.max(...normal.map((n) => n.ms))} ms`,
      )
      expect(failures).toEqual([])
      expect(lateness).toHaveLength(COUNT)
      // Never before the deadline: the server enforces it on its own monotonic clock.
      expect(Math.min(...lateness)).toBeGreaterThanOrEqual(0)
      // "About a second" after the timeout, with room for a loaded 2-core machine.
      expect(worst).toBeLessThan(2500)
      expect(normal.length).toBeGreaterThan(3)
      expect(normal.every((n) => n.status === 200)).toBe(true)
      await waitFor(() => app.stats().pending === 0, 'pending to return to 0')
      expect(app.stats().refused).toEqual({ [ErrorCodes.HEADER_TIMEOUT]: COUNT })
      expect(app.stats().accepted.v2).toBe(normal.length)
    }, 60_000)
  })

  describe('spoofing', () => {
    /** A net server that answers, once the client has sent everything, with the address and what it received. */
    function recordingNetServer(): net.Server {
      return net.createServer({ allowHalfOpen: true }, (socket) => {
        const chunks: Buffer[] = []
        socket.on('error', () => {})
        socket.on('data', (c: Buffer) => chunks.push(c))
        socket.on('end', () => {
          const info = getProxyInfo(socket)
          socket.end(
            JSON.stringify({
              address: socket.remoteAddress,
              port: socket.remotePort,
              peer: info?.peer.address,
              header: info?.header ? { version: info.header.version, command: info.header.command } : null,
              data: Buffer.concat(chunks).toString('latin1'),
            }),
          )
        })
      })
    }

    interface Seen {
      address: string
      port: number
      peer: string
      header: { version: number; command: string } | null
      data: string
    }

    let untrustedDirect: ReturnType<typeof prepare<net.Server>>
    let trusted: ReturnType<typeof prepare<net.Server>>
    let optional: ReturnType<typeof prepare<net.Server>>
    let refusing: ReturnType<typeof prepare<net.Server>>
    let httpDirect: ReturnType<typeof prepare<http.Server>>
    const ports = { untrustedDirect: 0, trusted: 0, optional: 0, refusing: 0, httpDirect: 0 }
    let httpHandlerCalls: string[] = []

    beforeAll(async () => {
      untrustedDirect = prepare(recordingNetServer(), { trust: ['10.0.0.0/8'], untrusted: 'direct' })
      trusted = prepare(recordingNetServer())
      optional = prepare(recordingNetServer(), {
        trust: ['10.0.0.0/8'],
        untrusted: 'direct',
        mode: 'optional',
      })
      refusing = prepare(recordingNetServer(), { trust: ['10.0.0.0/8'] })
      httpDirect = prepare(
        http.createServer((req, res) => {
          httpHandlerCalls.push(String(req.socket.remoteAddress))
          res.end(req.socket.remoteAddress)
        }),
        { trust: ['10.0.0.0/8'], untrusted: 'direct' },
      )
      ports.untrustedDirect = await listen(untrustedDirect.server)
      ports.trusted = await listen(trusted.server)
      ports.optional = await listen(optional.server)
      ports.refusing = await listen(refusing.server)
      ports.httpDirect = await listen(httpDirect.server)
    })

    /** Sends `bytes` from 127.0.0.23, half-closes, returns what the server saw (or undefined if closed without a reply). */
    async function send(port: number, bytes: Buffer): Promise<{ seen: Seen | undefined; localPort: number }> {
      const socket = await connect(port, CLIENT_ADDRESS)
      const localPort = socket.localPort!
      const closed = untilClosed(socket)
      socket.end(bytes)
      const { data } = await closed
      return { seen: data.length > 0 ? (JSON.parse(data.toString()) as Seen) : undefined, localPort }
    }

    const claimed = { address: '203.0.113.66', port: 6666 }
    const v1Spoof = v1(claimed, { address: '192.0.2.1', port: 80 })
    const v2Spoof = v2(claimed, { address: '192.0.2.1', port: 80 })
    const payload = Buffer.from('hello, application\n')

    const spoofs = [
      ['v1', v1Spoof],
      ['v2', v2Spoof],
    ] as const

    /**
     * Sends a spoofed `header` and the payload from 127.0.0.23 to a server that serves that peer directly:
     * the header must reach the handler as application data, and the handler see the real peer.
     */
    async function expectServedDirect(server: typeof optional, port: number, header: Buffer): Promise<void> {
      const before = server.stats().direct
      const { seen, localPort } = await send(port, Buffer.concat([header, payload]))
      expect(server.stats().direct).toBe(before + 1)
      expect(server.stats().accepted).toEqual({ v1: 0, v2: 0 })
      expect(seen).toEqual({
        address: CLIENT_ADDRESS,
        port: localPort,
        peer: CLIENT_ADDRESS,
        header: null,
        data: Buffer.concat([header, payload]).toString('latin1'),
      })
    }

    for (const [name, header] of spoofs) {
      it(`an untrusted peer's ${name} header (untrusted: 'direct') reaches the handler as application data, and the handler sees the real peer 127.0.0.23`, () =>
        expectServedDirect(untrustedDirect, ports.untrustedDirect, header))
    }

    it('a second PROXY header right after the first is application data: the address comes from the first', async () => {
      const first = v2({ address: '198.51.100.7', port: 7777 }, { address: '192.0.2.1', port: 80 })
      for (const second of [v1Spoof, v2Spoof]) {
        const { seen } = await send(ports.trusted, Buffer.concat([first, second, payload]))
        expect(seen).toEqual({
          address: '198.51.100.7',
          port: 7777,
          peer: CLIENT_ADDRESS,
          header: { version: 2, command: 'PROXY' },
          data: Buffer.concat([second, payload]).toString('latin1'),
        })
      }
    })

    it('a LOCAL v2 header that carries addresses reports the real peer, and its address block is not application data', async () => {
      const local = Buffer.from(v2Spoof)
      local[12] = 0x20 // version 2, command LOCAL; the IPv4 family and the 12-byte address block stay
      const { seen, localPort } = await send(ports.trusted, Buffer.concat([local, payload]))
      expect(seen).toEqual({
        address: CLIENT_ADDRESS,
        port: localPort,
        peer: CLIENT_ADDRESS,
        header: { version: 2, command: 'LOCAL' },
        data: payload.toString('latin1'),
      })
      expect(trusted.stats().local).toBeGreaterThan(0)
    })

    for (const [name, header] of spoofs) {
      it(`a ${name} header from an untrusted peer in optional mode is application data, and the handler sees the real peer`, () =>
        expectServedDirect(optional, ports.optional, header))
    }

    it("an untrusted peer under untrusted: 'refuse' is closed before any handler runs, whatever it claims", async () => {
      const before = refusing.errors.length
      const { seen } = await send(ports.refusing, Buffer.concat([v1Spoof, payload]))
      expect(seen).toBeUndefined()
      await waitFor(() => refusing.errors.length > before, 'the refusal to be reported')
      expect(refusing.errors.slice(before).map((e) => e.code)).toEqual([ErrorCodes.UNTRUSTED_PEER])
      expect(refusing.stats().refused).toEqual({ [ErrorCodes.UNTRUSTED_PEER]: refusing.errors.length })
      expect(refusing.stats().direct).toBe(0)
    })

    it("an untrusted peer's PROXY line reaches an http server as a malformed request: 400, and no handler sees the claimed address", async () => {
      httpHandlerCalls = []
      const before = httpDirect.stats().direct
      const socket = await connect(ports.httpDirect, CLIENT_ADDRESS)
      const closed = untilClosed(socket)
      socket.write(Buffer.concat([v1Spoof, Buffer.from(REQUEST('/'))]))
      const { data } = await closed
      expect(data.toString('latin1')).toMatch(/^HTTP\/1\.1 400 /)
      expect(httpHandlerCalls).toEqual([])
      // The same peer without a header is served as itself.
      const plain = await connect(ports.httpDirect, CLIENT_ADDRESS)
      const plainClosed = untilClosed(plain)
      plain.write(REQUEST('/'))
      const [res] = parseHttpResponses((await plainClosed).data)
      expect(res?.status).toBe(200)
      expect(res?.body.toString()).toBe(CLIENT_ADDRESS)
      expect(httpHandlerCalls).toEqual([CLIENT_ADDRESS])
      // Both connections were served as the peer itself.
      expect(httpDirect.stats().direct).toBe(before + 2)
      expect(httpDirect.stats().accepted).toEqual({ v1: 0, v2: 0 })
    })
  })

  describe('handles', () => {
    it('server.close() with a connection still waiting for its header completes once headerTimeout closes that connection', async () => {
      const HEADER_TIMEOUT = 300
      const app = prepare(describingHttpServer(), { headerTimeout: HEADER_TIMEOUT })
      const port = await listen(app.server)
      const socket = await connect(port)
      const closed = untilClosed(socket)
      socket.write('PROXY TCP4 203.0.113.')
      await waitFor(() => app.stats().pending === 1, 'the header to be pending')
      const t0 = Date.now()
      await closeServer(app.server) // closeAllConnections() + close()
      const ms = Date.now() - t0
      const { data } = await closed
      console.log(`server.close() with a pending header took ${ms} ms (headerTimeout ${HEADER_TIMEOUT} ms)`)
      expect(data.length).toBe(0)
      expect(ms).toBeLessThan(HEADER_TIMEOUT + 2000)
      expect(app.stats().pending).toBe(0)
    })
  })
})
