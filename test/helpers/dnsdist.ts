/**
 * dnsdist (Debian's `dnsdist`, 1.7 here) as a real UDP+TCP PROXY protocol sender: with
 * useProxyProtocol=true it puts a v2 header in front of every datagram and every TCP query it forwards
 * (PROXY over UDP, 0x12, for UDP queries), and LOCAL headers in front of its health checks.
 * Runs offline: no security polling, console off, everything inside a temp dir.
 */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findBinary, freePort, type PeerProcess, startProcess } from './peers.js'

export interface Dnsdist extends PeerProcess {
  /** Where dnsdist listens for queries, UDP and TCP. */
  port: number
}

/** Starts dnsdist in front of 127.0.0.1:`backendPort`; `up: false` leaves the backend to its health checks. */
export async function startDnsdist(backendPort: number, options: { up?: boolean } = {}): Promise<Dnsdist> {
  const bin = findBinary('dnsdist')
  if (!bin) throw new Error('dnsdist not found')
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'proxyproto-dnsdist-'))
  const conf = join(dir, 'dnsdist.conf')
  await writeFile(
    conf,
    [
      `setLocal("127.0.0.1:${port}")`,
      `newServer({address="127.0.0.1:${backendPort}", useProxyProtocol=true})`,
      options.up === false ? '' : 'getServer(0):setUp()', // no waiting for the first health check
      'setSecurityPollSuffix("")', // no network
      '',
    ].join('\n'),
  )
  const peer = await startProcess({
    name: 'dnsdist',
    bin,
    args: ['--supervised', '--disable-syslog', '-C', conf],
    dir,
    ports: [{ host: '127.0.0.1', port }], // TCP; UDP is bound before it
  })
  return Object.assign(peer, { port })
}
