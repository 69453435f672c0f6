/**
 * Hostile TLV values never throw into a handler (issue 10, item 1; docs/security.md "TLVs are hostile
 * input"). Two ways in:
 * - through real HAProxy 2.6 (`bind … ssl`, `send-proxy-v2 proxy-v2-options authority,ssl,…`): openssl
 *   s_client clients send random SNI bytes, which HAProxy forwards raw as the AUTHORITY TLV;
 * - a real Express server fed by a socket: random v2 headers whose TLVs are known types with random
 *   values, SSL-shaped values with random sub-TLVs, and unknown types.
 * Every handler reads `getProxyInfo(req).tlvs` and `req.proxyHeader` inside a try/catch that records
 * any throw; the tests assert there was none, and that each connection was either answered by the
 * handler or refused with a coded error.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import type net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encode, ErrorCodes, type Tlv } from '@proxyproto/core'
import { proxyProtocol } from '@proxyproto/express'
import { getProxyInfo, type ProxyProtocolError, proxyProtocolStats } from '@proxyproto/node'
import express from 'express'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { haproxyGlobalExclusive, startHaproxyOnFreePorts } from './helpers/balancers.js'
import { describePeer, findBinary, type PeerProcess } from './helpers/peers.js'
import { tlsOptions } from './helpers/report-servers.js'
import { Rng, seedFromEnv } from './helpers/random.js'
import {
  closeServer,
  connect,
  listen,
  parseHttpResponses,
  runPool,
  untilClosed,
  waitFor,
} from './helpers/sockets.js'

interface Seen {
  authority?: string
  invalid: Array<{ type: number; subType?: number; hex: string; code: string }>
  ssl: boolean
  keys: string[]
}

/** An Express app behind @proxyproto/express whose handler reads every decoded TLV, recording any throw. */
function startApp(): {
  server: http.Server
  thrown: unknown[]
  errors: ProxyProtocolError[]
  ready: Promise<number>
} {
  const thrown: unknown[] = []
  const errors: ProxyProtocolError[] = []
  const app = express()
  const proxy = proxyProtocol({ trust: ['loopback'] })
  app.use(proxy)
  app.get('/', (req, res) => {
    try {
      const info = getProxyInfo(req)!
      const tlvs = info.tlvs
      // Touch every field, as a handler that logs them all would.
      const seen: Seen = {
        authority: tlvs.authority,
        invalid: tlvs.invalid.map((i) => ({
          type: i.type,
          subType: i.subType,
          hex: Buffer.from(i.value).toString('hex'),
          code: i.error.code,
        })),
        ssl: tlvs.ssl !== undefined,
        keys: Object.keys(tlvs).sort(),
      }
      void [tlvs.alpn, tlvs.ssl?.cn, tlvs.ssl?.version, tlvs.uniqueId, tlvs.netns, tlvs.awsVpceId]
      void [
        tlvs.azureLinkId,
        tlvs.gcpPscConnectionId,
        tlvs.crc32c,
        tlvs.unknown.length,
        req.proxyHeader,
        req.ip,
      ]
      res.set('connection', 'close').json(seen)
    } catch (err) {
      thrown.push(err)
      res.status(500).end()
    }
  })
  const server = proxy.attach(http.createServer(app))
  server.on('proxyProtocolError', (err: ProxyProtocolError) => errors.push(err))
  return { server, thrown, errors, ready: listen(server) }
}

const KNOWN_TYPES = [0x01, 0x02, 0x03, 0x04, 0x05, 0x20, 0x30, 0xe0, 0xea, 0xee]

function randomTlv(rng: Rng): Tlv {
  const type = rng.bool(0.8) ? rng.pick(KNOWN_TYPES) : rng.int(0, 255)
  if (type === 0x03) return { type: 0x04, value: rng.bytes(rng.int(0, 8)) } // CRC32C is added by encode
  if (type === 0x20 && rng.bool(0.7)) {
    // SSL-shaped: client + verify, then sub-TLVs with random values (text fields that may not decode).
    const subs = Array.from({ length: rng.int(0, 4) }, () => {
      const v = rng.bool(0.5) ? rng.bytes(rng.int(0, 12)) : Buffer.from('TLSv1.3')
      return Buffer.concat([Buffer.from([rng.int(0x21, 0x28), v.length >> 8, v.length & 0xff]), v])
    })
    return { type, value: Buffer.concat([rng.bytes(5), ...subs]) }
  }
  if (type === 0xea || type === 0xee)
    return { type, value: Buffer.concat([Buffer.from([rng.bool(0.8) ? 1 : 2]), rng.bytes(rng.int(0, 10))]) }
  // Mostly short values; sometimes past the limits (UNIQUE_ID 128, AUTHORITY 255).
  return { type, value: rng.bytes(rng.bool(0.9) ? rng.int(0, 16) : rng.int(120, 300)) }
}

describePeer('hostile TLVs never throw into a handler', ['haproxy', 'openssl'], () => {
  let app: ReturnType<typeof startApp>
  let appPort: number
  let haproxy: PeerProcess | undefined
  let haproxyPort: number
  let dir: string

  beforeAll(async () => {
    app = startApp()
    appPort = await app.ready
    dir = await mkdtemp(join(tmpdir(), 'proxyproto-tlv-fuzz-'))
    const pem = join(dir, 'site.pem')
    await writeFile(pem, Buffer.concat([tlsOptions.cert, tlsOptions.key]))
    const started = await startHaproxyOnFreePorts(1, ([port]) =>
      [
        haproxyGlobalExclusive(),
        'frontend fe_tls',
        `  bind 127.0.0.1:${port} ssl crt ${pem}`,
        '  default_backend be',
        '',
        'backend be',
        `  server s1 127.0.0.1:${appPort} send-proxy-v2 proxy-v2-options authority,ssl,ssl-cipher,cert-cn,crc32c`,
        '',
      ].join('\n'),
    )
    haproxy = started.haproxy
    haproxyPort = started.ports[0]!
  })

  afterAll(async () => {
    await haproxy?.stop()
    if (app) await closeServer(app.server)
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  /** One HTTPS request through HAProxy with `sni` (raw bytes) as the TLS server name; the handler's JSON. */
  function requestWithSni(sni: Buffer): Promise<{ seen: Seen | undefined; output: string }> {
    // The name goes through printf so that any byte but NUL and LF reaches openssl's argv unchanged.
    const octal = [...sni].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('')
    const script = `printf 'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' | ${findBinary('openssl')} s_client -quiet -connect 127.0.0.1:${haproxyPort} -servername "$(printf '${octal}')"`
    return new Promise((resolve, reject) => {
      const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] })
      const out: Buffer[] = []
      child.stdout.on('data', (d: Buffer) => out.push(d))
      child.stderr.on('data', () => {})
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      child.once('error', reject)
      child.once('close', () => {
        clearTimeout(timer)
        const raw = Buffer.concat(out)
        const output = raw.toString('latin1')
        const body = raw.subarray(raw.indexOf('\r\n\r\n') + 4).toString('utf8')
        let seen: Seen | undefined
        try {
          seen = JSON.parse(body) as Seen
        } catch {
          seen = undefined
        }
        resolve({ seen, output })
      })
    })
  }

  it('a client SNI of ff fe + ".example" reaches the handler as an undecodable AUTHORITY, the SSL TLV still decoded', async () => {
    const { seen, output } = await requestWithSni(Buffer.from('fffe2e6578616d706c65', 'hex'))
    expect(seen, output).toBeDefined()
    expect(seen!.authority).toBeUndefined()
    expect(seen!.invalid).toEqual([{ type: 0x02, hex: 'fffe2e6578616d706c65', code: ErrorCodes.TLV_INVALID }])
    expect(seen!.ssl).toBe(true)
    expect(app.thrown).toEqual([])
  })

  it('random SNI bytes through HAProxy: every request is answered by the handler, none throws', async () => {
    const seed = seedFromEnv()
    const rng = new Rng(seed)
    const COUNT = 40
    const started = Date.now()
    let undecodable = 0
    const failures: string[] = []
    await runPool(COUNT, 4, async (i) => {
      // Bytes 0x01–0xff but LF (the shell would eat a trailing one); half of them valid UTF-8 names.
      const sni =
        i % 2 === 0
          ? Buffer.from(
              Array.from({ length: rng.int(1, 60) }, () => rng.pick([rng.int(1, 9), rng.int(11, 255)])),
            )
          : Buffer.from(`h${i}-${'é'.repeat(rng.int(0, 5))}.example`)
      const { seen, output } = await requestWithSni(sni)
      if (seen === undefined) {
        failures.push(
          `seed ${seed} #${i} sni ${sni.toString('hex')}: no answer from the handler: ${output.slice(0, 200)}`,
        )
        return
      }
      if (seen.invalid.length > 0) undecodable++
      const expected = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
      let text: string | undefined
      try {
        text = expected.decode(sni)
      } catch {
        text = undefined
      }
      if (seen.authority !== text)
        failures.push(`seed ${seed} #${i}: authority ${seen.authority} for ${sni.toString('hex')}`)
      if (!seen.ssl) failures.push(`seed ${seed} #${i}: the SSL TLV was hidden`)
    })
    console.log(
      `hostile SNI through HAProxy 2.6: ${COUNT} TLS connections in ${Date.now() - started} ms, ${undecodable} with an undecodable AUTHORITY, ${app.thrown.length} handler throws, refused ${JSON.stringify(proxyProtocolStats(app.server)!.refused)} (seed ${seed})`,
    )
    expect(failures).toEqual([])
    expect(undecodable).toBeGreaterThan(0)
    expect(app.thrown).toEqual([])
  }, 120_000)

  it('random TLV values fed by a socket: each connection is answered by the handler or refused with a coded error', async () => {
    const seed = seedFromEnv()
    const rng = new Rng(seed)
    const COUNT = 400
    const before = { ...proxyProtocolStats(app.server)!.refused }
    const errorsBefore = app.errors.length
    let answered = 0
    let refusedSeen = 0
    const failures: string[] = []
    await runPool(COUNT, 20, async (i) => {
      const tlvs = Array.from({ length: rng.int(1, 6) }, () => randomTlv(rng))
      const header = encode(
        {
          version: 2,
          family: 'IPv4',
          source: { address: rng.ipv4(), port: rng.int(1, 65535) },
          destination: { address: '192.0.2.1', port: 443 },
          tlvs,
        },
        { crc32c: rng.bool() },
      )
      const socket: net.Socket = await connect(appPort, '127.0.0.1')
      const closed = untilClosed(socket)
      socket.end(Buffer.concat([header, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]))
      const { data } = await closed
      if (data.length === 0) {
        refusedSeen++
        return
      }
      const [response] = parseHttpResponses(data)
      if (response?.status !== 200) {
        failures.push(
          `seed ${seed} #${i}: status ${response?.status} for ${Buffer.from(header).toString('hex')}`,
        )
        return
      }
      answered++
    })
    await waitFor(() => app.errors.length - errorsBefore === refusedSeen, 'every refusal to be reported')
    const refused = proxyProtocolStats(app.server)!.refused
    const newRefusals: Record<string, number> = {}
    for (const [code, n] of Object.entries(refused)) {
      const d = (n ?? 0) - ((before as Record<string, number>)[code] ?? 0)
      if (d > 0) newRefusals[code] = d
    }
    console.log(
      `random TLVs fed by a socket: ${COUNT} connections, ${answered} answered by the handler, refused ${JSON.stringify(newRefusals)}, ${app.thrown.length} handler throws (seed ${seed})`,
    )
    expect(failures).toEqual([])
    expect(app.thrown).toEqual([])
    expect(answered + refusedSeen).toBe(COUNT)
    expect(answered).toBeGreaterThan(COUNT / 4)
    // Only the structural rules of the spec refuse a header: SSL and UNIQUE_ID (ERR_PROXY_TLV_INVALID).
    expect(Object.keys(newRefusals).every((c) => c === ErrorCodes.TLV_INVALID)).toBe(true)
  }, 120_000)
})
