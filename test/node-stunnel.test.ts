/**
 * @proxyproto/node behind a real stunnel4 (a TLS terminator) with `protocol = proxy`:
 *
 *   TLS client bound to 127.0.0.23 --> stunnel :F on 127.0.0.1 --PROXY v1 + plaintext-->
 *       Node net / http / ws server prepared with withProxyProtocol
 *
 * stunnel writes a v1 header naming the client it accepted the TLS connection from, then the decrypted
 * bytes. Run unprivileged: foreground, no pid file, a temp dir (test/helpers/peers.ts startStunnel).
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { distinctFreePorts } from './helpers/balancers.js'
import { describePeer, type PeerProcess, startStunnel } from './helpers/peers.js'
import {
  ask,
  closeReportServers,
  expectV1ClientBehindBalancer,
  type Kind,
  type ReportServer,
  SERVER_NAMES,
  startReportServer,
} from './helpers/report-servers.js'
import { tlsOptions, waitFor } from './helpers/sockets.js'

describePeer('@proxyproto/node behind stunnel4 protocol = proxy', ['stunnel4'], () => {
  let stunnel: PeerProcess | undefined
  const servers = new Map<Kind, ReportServer>()
  const frontends = new Map<Kind, number>()
  const kinds: Kind[] = ['net', 'http', 'ws']

  beforeAll(async () => {
    for (const kind of kinds) servers.set(kind, await startReportServer(kind))
    // A port taken between the probe and stunnel's bind makes it exit: retry with fresh ports.
    for (let attempt = 1; ; attempt++) {
      const ports = await distinctFreePorts(kinds.length)
      try {
        stunnel = await startStunnel(
          kinds.map((kind, i) => ({
            accept: ports[i]!,
            connect: servers.get(kind)!.port,
            lines: ['protocol = proxy'],
          })),
          tlsOptions,
        )
        for (const [i, kind] of kinds.entries()) frontends.set(kind, ports[i]!)
        break
      } catch (err) {
        if (attempt >= 5 || !/in use|Address already|bind/i.test((err as Error).message)) throw err
      }
    }
  })

  afterAll(async () => {
    await stunnel?.stop()
    await closeReportServers(servers)
  })

  for (const kind of kinds) {
    it(`${SERVER_NAMES[kind]} behind stunnel sees the TLS client 127.0.0.23 with its port (v1), and stunnel as the peer`, async () => {
      const answer = await ask(kind, frontends.get(kind)!, true) // TLS to stunnel, plaintext to Node
      expect(answer.tlsVersion).toMatch(/^TLSv1\.[23]$/)
      expectV1ClientBehindBalancer(answer)
      // Each test checks its own server: accepted as v1, nothing refused.
      const server = servers.get(kind)!
      await waitFor(() => server.stats().pending === 0, 'the header to settle')
      expect(server.errors.map((e) => e.code)).toEqual([])
      expect(server.stats().accepted.v1).toBeGreaterThan(0)
      expect(server.stats().accepted.v2).toBe(0)
    })
  }
})
