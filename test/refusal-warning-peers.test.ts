/**
 * Refusals are never silent (issue 10, item 6): the root README's snippet, `trust: ['10.0.0.0/8']`,
 * behind a local HAProxy refuses every connection (HAProxy connects from 127.0.0.1). With no
 * 'proxyProtocolError' listener the server process must say so on stderr, once per error code, naming
 * the peer and the trust line to change. The server is a child process running the BUILT
 * @proxyproto/node (packages/node/dist; `npm test` builds first), so what is checked is what a user sees.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { haproxyGlobalExclusive, startHaproxyOnFreePorts } from './helpers/balancers.js'
import { describePeer, type PeerProcess, runCurl } from './helpers/peers.js'
import { waitFor } from './helpers/sockets.js'

const DIST = fileURLToPath(new URL('../packages/node/dist/index.js', import.meta.url))

// The README's snippet, on a port chosen by the kernel, printing it once it listens.
const SERVER = `
import http from 'node:http'
import { withProxyProtocol } from ${JSON.stringify(DIST)}
const server = withProxyProtocol(http.createServer((req, res) => res.end(req.socket.remoteAddress)), { trust: ['10.0.0.0/8'] })
server.listen(0, '127.0.0.1', () => console.log(server.address().port))
`

describePeer('a refusal behind HAProxy is never silent', ['haproxy', 'curl'], () => {
  let child: ChildProcess | undefined
  let haproxy: PeerProcess | undefined
  let stderr = ''
  let frontend: number

  beforeAll(async () => {
    if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` first`)
    child = spawn(process.execPath, ['--input-type=module', '-e', SERVER], { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    const port = await new Promise<number>((resolve, reject) => {
      child!.stdout!.setEncoding('utf8').once('data', (d: string) => resolve(Number(d.trim())))
      child!.once('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)))
    })
    const started = await startHaproxyOnFreePorts(1, ([p]) =>
      [
        haproxyGlobalExclusive(),
        'frontend fe',
        `  bind 127.0.0.1:${p}`,
        '  default_backend be',
        '',
        'backend be',
        `  server s1 127.0.0.1:${port} send-proxy`,
        '',
      ].join('\n'),
    )
    haproxy = started.haproxy
    frontend = started.ports[0]!
  })

  afterAll(async () => {
    await haproxy?.stop()
    child?.kill()
  })

  it('prints one ProxyProtocolWarning naming the peer and the trust line, however many connections are refused', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await runCurl(['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${frontend}/`])
      expect(r.stdout).not.toBe('200') // refused: HAProxy answers 502 or the connection drops
    }
    await waitFor(() => stderr.includes('ERR_PROXY_UNTRUSTED_PEER'), 'the warning on the server’s stderr')
    const lines = stderr.split('\n').filter((l) => l.includes('ProxyProtocolWarning'))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('[ERR_PROXY_UNTRUSTED_PEER]')
    expect(lines[0]).toContain('127.0.0.1')
    expect(lines[0]).toContain("trust: ['127.0.0.1']")
  })
})
