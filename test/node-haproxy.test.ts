/**
 * @proxyproto/node behind a real HAProxy 2.6 in TCP mode.
 *
 *   client bound to 127.0.0.23 --> HAProxy :F on 127.0.0.1 --send-proxy / send-proxy-v2-->
 *       Node server (net, http, https, h2c, h2, ws) prepared with withProxyProtocol
 *
 * Every handler replies with what it saw (test/helpers/report.ts): the client must be 127.0.0.23 on
 * req.socket, with the client's own source port, and getProxyInfo's peer must be HAProxy (127.0.0.1).
 *
 * The `v2 + TLVs` frontends terminate TLS themselves (`bind ... ssl crt`), so HAProxy has an SNI
 * (AUTHORITY), an ALPN, a TLS version (SSL) and a unique id to send; for the https and h2 servers it
 * re-encrypts towards Node (`server ... ssl verify none`).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ErrorCodes } from '@proxyproto/core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { haproxyGlobalExclusive, startHaproxyOnFreePorts } from './helpers/balancers.js'
import { v1 } from './helpers/headers.js'
import { describePeer, type PeerProcess } from './helpers/peers.js'
import {
  type Answer,
  ask,
  closeReportServers,
  headersSettled,
  isTlsKind,
  KINDS,
  type Kind,
  type ReportServer,
  SERVER_NAMES,
  startReportServer,
  tlsOptions,
} from './helpers/report-servers.js'
import {
  BALANCER_ADDRESS,
  CLIENT_ADDRESS,
  connect,
  untilClosed,
  waitFor,
} from './helpers/sockets.js'

const MODES = ['v1', 'v2', 'v2-tlvs'] as const
type Mode = (typeof MODES)[number]
const MODE_NAMES: Record<Mode, string> = {
  v1: 'send-proxy (v1)',
  v2: 'send-proxy-v2',
  'v2-tlvs':
    'send-proxy-v2 with proxy-v2-options authority,unique-id,crc32c,ssl behind a TLS-terminating bind',
}

const hex4 = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0')

/** A temp dir holding HAProxy's certificate (cert + key in one PEM) and its admin socket. */
async function haproxyDir(): Promise<{ dir: string; pem: string; sock: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'proxyproto-node-haproxy-'))
  const pem = join(dir, 'site.pem')
  await writeFile(pem, Buffer.concat([tlsOptions.cert, tlsOptions.key]))
  return { dir, pem, sock: join(dir, 'admin.sock') }
}

/** Runs an HAProxy runtime API command on its stats socket. */
function haproxyCommand(sock: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(sock)
    let out = ''
    c.setEncoding('utf8')
    c.on('data', (d: string) => {
      out += d
    })
    c.on('error', reject)
    c.on('close', () => resolve(out))
    c.end(`${command}\n`)
  })
}

/** `show stat` as rows keyed by column name. */
async function haproxyStats(sock: string): Promise<Array<Record<string, string>>> {
  const csv = await haproxyCommand(sock, 'show stat')
  const [head, ...rows] = csv.trim().split('\n')
  const columns = head!.replace(/^# /, '').split(',')
  return rows.map((row) => Object.fromEntries(row.split(',').map((v, i) => [columns[i], v])))
}

describePeer('@proxyproto/node behind HAProxy (TCP mode)', ['haproxy'], () => {
  let haproxy: PeerProcess | undefined
  let dir: Awaited<ReturnType<typeof haproxyDir>> | undefined
  const servers = new Map<Kind, ReportServer>()
  const frontends = new Map<string, number>()


  beforeAll(async () => {
    dir = await haproxyDir()
    const pem = dir.pem
    for (const kind of KINDS) servers.set(kind, await startReportServer(kind))
    const keys = KINDS.flatMap((kind) => MODES.map((mode) => ({ kind, mode })))
    const started = await startHaproxyOnFreePorts(keys.length, (ports) => {
      const sections: string[] = [haproxyGlobalExclusive()]
      keys.forEach(({ kind, mode }, i) => {
        const name = `${kind}_${mode.replace('-', '_')}`
        const tlsBind = mode === 'v2-tlvs' ? ` ssl crt ${pem} alpn h2,http/1.1` : ''
        let server = `server s1 127.0.0.1:${servers.get(kind)!.port}`
        if (mode === 'v1') server += ' send-proxy'
        if (mode === 'v2') server += ' send-proxy-v2'
        if (mode === 'v2-tlvs') {
          server += ' send-proxy-v2 proxy-v2-options authority,unique-id,crc32c,ssl,ssl-cipher'
          if (kind === 'https') server += ' ssl verify none alpn http/1.1'
          if (kind === 'h2') server += ' ssl verify none alpn h2'
        }
        sections.push(
          `frontend fe_${name}`,
          `  bind 127.0.0.1:${ports[i]}${tlsBind}`,
          // A backend connection only once the client has sent something (every client here speaks first):
          // the connections that probe the port at start-up send nothing, so they never reach a server, and
          // the servers' refusal counts need no baseline taken after them.
          '  tcp-request inspect-delay 10s',
          '  tcp-request content accept if { req.len gt 0 }',
          '  tcp-request content reject',
          // client address and port, frontend address and port, in hex: ties the unique id to this client.
          ...(mode === 'v2-tlvs' ? ['  unique-id-format %{+X}o%ci:%cp_%fi:%fp'] : []),
          `  default_backend be_${name}`,
          '',
          `backend be_${name}`,
          `  ${server}`,
          '',
        )
      })
      return sections.join('\n')
    })
    haproxy = started.haproxy
    for (const [i, { kind, mode }] of keys.entries()) frontends.set(`${kind}/${mode}`, started.ports[i]!)
  })

  // Over the whole suite, whichever tests ran: no connection HAProxy made was refused and none is left
  // waiting for its header. A hook rather than a last test, so no test depends on the ones before it.
  afterAll(async () => {
    try {
      await headersSettled(servers)
      for (const s of servers.values()) {
        expect(s.errors.map((e) => `${s.kind}: ${e.code} ${e.message}`)).toEqual([])
        expect(s.stats().refused).toEqual({})
      }
    } finally {
      await haproxy?.stop()
      await closeReportServers(servers)
      if (dir) await rm(dir.dir, { recursive: true, force: true })
    }
  })

  /** Through HAProxy: the client speaks TLS to HAProxy when the server does, or when HAProxy terminates it. */
  function through(kind: Kind, mode: Mode, path = '/'): Promise<Answer> {
    const port = frontends.get(`${kind}/${mode}`)!
    return ask(kind, port, isTlsKind(kind) || mode === 'v2-tlvs', path)
  }

  for (const kind of KINDS) {
    for (const mode of MODES) {
      const what =
        mode === 'v2-tlvs'
          ? ', and getProxyInfo().tlvs shows what HAProxy knows about the TLS connection'
          : ''
      it(`${SERVER_NAMES[kind]} behind HAProxy ${MODE_NAMES[mode]} sees the client 127.0.0.23 with its port, and HAProxy as the peer${what}`, async () => {
        const answer = await through(kind, mode)
        const r = answer.report
        expect(r.address).toBe(CLIENT_ADDRESS)
        expect(r.port).toBe(answer.localPort)
        expect(r.family).toBe('IPv4')
        expect(r.client).toEqual({ address: CLIENT_ADDRESS, port: answer.localPort })
        expect(r.peer?.address).toBe(BALANCER_ADDRESS)
        expect(r.peer?.port).not.toBe(answer.localPort)
        expect(r.version).toBe(mode === 'v1' ? 1 : 2)
        expect(r.command).toBe('PROXY')
        if (mode !== 'v2-tlvs') {
          expect(r.tlvs).toEqual({
            authority: undefined,
            alpn: undefined,
            uniqueId: undefined,
            crc32c: undefined,
            ssl: undefined,
            unknown: 0,
          })
          return
        }
        const frontendPort = frontends.get(`${kind}/${mode}`)!
        expect(r.tlvs).toEqual({
          // The SNI the client sent to HAProxy.
          authority: 'localhost',
          // HAProxy 2.6 sends the ALPN it negotiated with the client whenever there is one.
          alpn: answer.alpn,
          uniqueId: `7F000017:${hex4(answer.localPort)}_7F000001:${hex4(frontendPort)}`,
          // Present, and verified by the parser (a wrong checksum would have refused the connection).
          crc32c: expect.any(Number),
          ssl: { ssl: true, version: answer.tlsVersion, cipher: expect.stringMatching(/^TLS_|-/) },
          unknown: 0,
        })
        expect(answer.alpn).toBe(
          kind === 'net' ? undefined : kind === 'h2' || kind === 'h2c' ? 'h2' : 'http/1.1',
        )
      })
    }
  }

  it('an http.Server behind HAProxy sees the client on every request of a keep-alive connection', async () => {
    const port = frontends.get('http/v2')!
    const socket = await connect(port, CLIENT_ADDRESS)
    const localPort = socket.localPort
    const closed = untilClosed(socket)
    const request = (path: string, last: boolean): string =>
      `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${last ? 'Connection: close\r\n' : ''}\r\n`
    const first = new Promise((resolve) => socket.once('data', resolve))
    socket.write(request('/one', false))
    await first // the later requests arrive in a read of their own, after the first answer
    socket.write(request('/two', false) + request('/three', true))
    const { data } = await closed
    const bodies = [...data.toString('latin1').matchAll(/\r\n\r\n(\{.*?\})(?=HTTP\/1\.1|$)/gs)].map((m) =>
      JSON.parse(m[1]!),
    )
    expect(bodies).toHaveLength(3)
    for (const r of bodies) {
      expect(r.address).toBe(CLIENT_ADDRESS)
      expect(r.port).toBe(localPort)
      expect(r.peer.address).toBe(BALANCER_ADDRESS)
    }
  })

  it("a PROXY line sent by the client through HAProxy reaches the server as application data; the address stays HAProxy's", async () => {
    const port = frontends.get('net/v1')!
    const spoof = v1({ address: '6.6.6.6', port: 666 }, { address: '7.7.7.7', port: 777 })
    const socket = await connect(port, CLIENT_ADDRESS)
    const localPort = socket.localPort
    const closed = untilClosed(socket)
    socket.write(spoof)
    const r = JSON.parse((await closed).data.toString())
    expect(r.address).toBe(CLIENT_ADDRESS)
    expect(r.port).toBe(localPort)
    expect(r.version).toBe(1)
    expect(r.extra).toBe(spoof.toString('latin1'))
  })
})

describePeer('@proxyproto/node and HAProxy health checks (check-send-proxy)', ['haproxy'], () => {
  let haproxy: PeerProcess | undefined
  let dir: Awaited<ReturnType<typeof haproxyDir>> | undefined
  let httpV2: ReportServer
  let httpV1: ReportServer
  let l4: ReportServer

  beforeAll(async () => {
    dir = await haproxyDir()
    httpV2 = await startReportServer('http')
    httpV1 = await startReportServer('http')
    l4 = await startReportServer('http')
    const sock = dir.sock
    const started = await startHaproxyOnFreePorts(
      1,
      ([frontendPort]) => `${haproxyGlobalExclusive(`stats socket ${sock} level admin`)}
# Only there so startHaproxy can tell HAProxy is up; its backend has no server.
frontend fe
  bind 127.0.0.1:${frontendPort}
  default_backend be_none

backend be_none

# Layer 7 checks: the header, then an HTTP request the Node server answers.
backend be_httpchk_v2
  timeout check 5s
  option httpchk GET /healthz
  server s1 127.0.0.1:${httpV2.port} send-proxy-v2 check check-send-proxy inter 200

backend be_httpchk_v1
  timeout check 5s
  option httpchk GET /healthz
  server s1 127.0.0.1:${httpV1.port} send-proxy check check-send-proxy inter 200

# Plain layer 4 check: connect, send the header, reset.
backend be_l4
  timeout check 5s
  server s1 127.0.0.1:${l4.port} send-proxy-v2 check check-send-proxy inter 200
`,
    )
    haproxy = started.haproxy
  })

  afterAll(async () => {
    await haproxy?.stop()
    await Promise.all([httpV2, httpV1, l4].filter(Boolean).map((s) => s.close()))
    if (dir) await rm(dir.dir, { recursive: true, force: true })
  })

  async function status(backend: string): Promise<{ status: string; check: string }> {
    const row = (await haproxyStats(dir!.sock)).find((r) => r['pxname'] === backend && r['svname'] === 's1')
    return { status: row?.['status'] ?? '?', check: row?.['check_status'] ?? '?' }
  }

  /** Waits for HAProxy to report `backend`'s server UP, and checks how its last health check went. */
  async function expectUp(backend: string, check: 'L4OK' | 'L7OK'): Promise<void> {
    await waitFor(async () => (await status(backend)).status === 'UP', 'HAProxy to report the server UP')
    expect((await status(backend)).check).toBe(check)
  }

  it('HAProxy send-proxy-v2 HTTP checks arrive as LOCAL headers: stats.local grows, nothing is refused, and the handler sees the balancer itself', async () => {
    // stats.local counts at the header; the handler runs once the check's HTTP request follows.
    await waitFor(
      () => httpV2.stats().local >= 5 && httpV2.seen.length >= 5,
      'five LOCAL health checks',
      15_000,
    )
    const stats = httpV2.stats()
    expect(stats.refused).toEqual({})
    expect(stats.accepted).toEqual({ v1: 0, v2: 0 })
    expect(httpV2.errors).toEqual([])
    expect(httpV2.seen.length).toBeGreaterThanOrEqual(5)
    for (const r of httpV2.seen) {
      expect(r).toMatchObject({ version: 2, command: 'LOCAL', address: BALANCER_ADDRESS })
      // LOCAL: the client is the peer.
      expect(r.client).toEqual(r.peer)
      expect(r.peer?.address).toBe(BALANCER_ADDRESS)
    }
    await expectUp('be_httpchk_v2', 'L7OK')
  })

  it('HAProxy send-proxy HTTP checks send a v1 header naming HAProxy itself, accepted like any header', async () => {
    await waitFor(
      () => httpV1.stats().accepted.v1 >= 5 && httpV1.seen.length >= 5,
      'five v1 health checks',
      15_000,
    )
    expect(httpV1.stats().refused).toEqual({})
    expect(httpV1.stats().local).toBe(0)
    expect(httpV1.errors).toEqual([])
    for (const r of httpV1.seen) {
      expect(r).toMatchObject({ version: 1, command: 'PROXY', address: BALANCER_ADDRESS })
      expect(r.peer?.address).toBe(BALANCER_ADDRESS)
    }
    await expectUp('be_httpchk_v1', 'L7OK')
  })

  it('plain L4 checks connect, send LOCAL and reset: each ends as stats.local or a harmless ERR_PROXY_NO_PEER_ADDRESS / ERR_PROXY_CONNECTION_CLOSED (docs/load-balancers.md), and HAProxy sees the server UP', async () => {
    await waitFor(() => l4.stats().connections >= 8, 'eight L4 health checks', 15_000)
    await expectUp('be_l4', 'L4OK')
    const harmless: string[] = [ErrorCodes.NO_PEER_ADDRESS, ErrorCodes.CONNECTION_CLOSED]
    for (const e of l4.errors) expect(harmless).toContain(e.code)
    const stats = l4.stats()
    for (const code of Object.keys(stats.refused)) expect(harmless).toContain(code)
    expect(stats.accepted).toEqual({ v1: 0, v2: 0 })
    // Whatever got past the header was a LOCAL one, reported as the balancer.
    for (const r of l4.seen) expect(r).toMatchObject({ command: 'LOCAL', address: BALANCER_ADDRESS })
    // Every check is accounted for: LOCAL, a health check that sent nothing, refused, or still being read.
    const refused = Object.values(stats.refused).reduce((a, b) => a + (b ?? 0), 0)
    expect(stats.local + stats.healthChecks + refused + stats.pending).toBe(stats.connections)
    console.log(
      `HAProxy L4 checks: ${stats.connections} connections, ${stats.local} LOCAL, refused ${JSON.stringify(stats.refused)}`,
    )
  })

  it('after HAProxy stops, no health check connection is left waiting for its header', async () => {
    await haproxy?.stop()
    for (const s of [httpV2, httpV1, l4]) {
      await waitFor(() => s.stats().pending === 0, 'pending to return to 0')
    }
  })
})
