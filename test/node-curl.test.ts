/**
 * curl 7.88 `--haproxy-protocol` (a PROXY v1 line naming curl's own connection) straight to Node
 * servers prepared with withProxyProtocol. `--interface 127.0.0.23` makes curl connect from the
 * client address, so the header and the TCP peer name the same machine but a different address from
 * the one the server listens on.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describePeer, runCurl } from './helpers/peers.js'
import type { Report } from './helpers/report.js'
import { type Kind, type ReportServer, startReportServer } from './helpers/report-servers.js'
import { CLIENT_ADDRESS, waitFor } from './helpers/sockets.js'

/** -w output after the body: status, then curl's local address and port. */
const WRITE_OUT = '\n%{http_code} %{local_ip} %{local_port} %{http_version}'

function parseCurl(stdout: string): {
  report: Report
  status: number
  localIp: string
  localPort: number
  httpVersion: string
} {
  const nl = stdout.lastIndexOf('\n')
  const [status, localIp, localPort, httpVersion] = stdout.slice(nl + 1).split(' ')
  return {
    report: JSON.parse(stdout.slice(0, nl)) as Report,
    status: Number(status),
    localIp: localIp!,
    localPort: Number(localPort),
    httpVersion: httpVersion!,
  }
}

/** curl as the balancer: a v1 header naming itself, from 127.0.0.23; errors on stderr; 15 s at most. */
const CURL_FROM_CLIENT = ['--haproxy-protocol', '--interface', CLIENT_ADDRESS, '-sS', '--max-time', '15']

describePeer('@proxyproto/node and curl --haproxy-protocol', ['curl'], () => {
  const servers = new Map<Kind, ReportServer>()
  let untrusted: ReportServer

  beforeAll(async () => {
    for (const kind of ['http', 'https', 'h2c', 'h2'] as const)
      servers.set(kind, await startReportServer(kind))
    untrusted = await startReportServer('http', { trust: ['10.0.0.0/8'] })
  })

  afterAll(async () => {
    await Promise.all([...servers.values(), untrusted].filter(Boolean).map((s) => s.close()))
  })

  const cases: Array<{ kind: Kind; name: string; args: (port: number) => string[]; httpVersion: string }> = [
    {
      kind: 'http',
      name: 'an http.Server',
      args: (p) => [`http://127.0.0.1:${p}/plain`],
      httpVersion: '1.1',
    },
    {
      kind: 'https',
      name: 'an https.Server',
      args: (p) => ['-k', '--http1.1', `https://127.0.0.1:${p}/tls`],
      httpVersion: '1.1',
    },
    {
      kind: 'h2c',
      name: 'an h2c server',
      args: (p) => ['--http2-prior-knowledge', `http://127.0.0.1:${p}/h2c`],
      httpVersion: '2',
    },
    {
      kind: 'h2',
      name: 'an h2 server',
      args: (p) => ['-k', '--http2', `https://127.0.0.1:${p}/h2`],
      httpVersion: '2',
    },
  ]

  for (const c of cases) {
    it(`${c.name} reached by curl --haproxy-protocol --interface 127.0.0.23 sees the client 127.0.0.23 and curl's source port`, async () => {
      const server = servers.get(c.kind)!
      const result = await runCurl([...CURL_FROM_CLIENT, '-w', WRITE_OUT, ...c.args(server.port)])
      expect(result.stderr).toBe('')
      expect(result.code).toBe(0)
      const out = parseCurl(result.stdout)
      expect(out.status).toBe(200)
      expect(out.localIp).toBe(CLIENT_ADDRESS)
      expect(out.httpVersion).toBe(c.httpVersion)
      expect(out.report).toMatchObject({
        address: CLIENT_ADDRESS,
        port: out.localPort,
        family: 'IPv4',
        client: { address: CLIENT_ADDRESS, port: out.localPort },
        // curl is both the peer and the client it names.
        peer: { address: CLIENT_ADDRESS, port: out.localPort },
        version: 1,
        command: 'PROXY',
      })
      expect(server.stats().accepted.v1).toBeGreaterThan(0)
      expect(server.errors).toEqual([])
    })
  }

  it('curl --haproxy-protocol to a server that does not trust 127.0.0.23 gets the connection closed with no reply (curl exit 52, 55 or 56)', async () => {
    const result = await runCurl([...CURL_FROM_CLIENT, `http://127.0.0.1:${untrusted.port}/`])
    // The server closes as soon as it sees the peer, before reading anything: depending on timing curl
    // reports 52 (empty reply), 55 (failure sending the request: reset) or 56 (failure receiving: reset).
    expect([52, 55, 56]).toContain(result.code)
    expect(result.stdout).toBe('')
    await waitFor(() => untrusted.errors.length > 0, 'the refusal to be reported')
    expect(untrusted.errors.map((e) => e.code)).toEqual(['ERR_PROXY_UNTRUSTED_PEER'])
    expect(untrusted.seen).toEqual([])
  })
})
