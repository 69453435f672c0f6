/**
 * @proxyproto/node behind a real nginx 1.22 stream proxy.
 *
 *   client bound to 127.0.0.23 --> nginx stream :F on 127.0.0.1 --proxy_protocol on (v1)-->
 *       Node http / net server prepared with withProxyProtocol
 *
 * nginx's stream module sends PROXY v1 only.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startNginxOnFreePorts } from './helpers/balancers.js'
import { describePeer, type PeerProcess } from './helpers/peers.js'
import {
  ask,
  closeReportServers,
  expectV1ClientBehindBalancer,
  headersSettled,
  type Kind,
  type ReportServer,
  SERVER_NAMES,
  startReportServer,
} from './helpers/report-servers.js'
import { CLIENT_ADDRESS, connect, untilClosed } from './helpers/sockets.js'

describePeer('@proxyproto/node behind nginx stream proxy_protocol', ['nginx'], () => {
  let nginx: PeerProcess | undefined
  const servers = new Map<Kind, ReportServer>()
  const frontends = new Map<Kind, number>()
  const kinds: Kind[] = ['http', 'net']

  beforeAll(async () => {
    for (const kind of kinds) servers.set(kind, await startReportServer(kind))
    const started = await startNginxOnFreePorts(kinds.length, (ports) =>
      kinds
        .flatMap((kind, i) => [
          '  server {',
          `    listen 127.0.0.1:${ports[i]};`,
          `    proxy_pass 127.0.0.1:${servers.get(kind)!.port};`,
          '    proxy_protocol on;',
          '  }',
        ])
        .join('\n'),
    )
    nginx = started.nginx
    for (const [i, kind] of kinds.entries()) frontends.set(kind, started.ports[i]!)
  })

  // Over the whole suite, whichever tests ran: no connection nginx made was refused, none is left
  // waiting for its header, and nginx sent only v1. A hook, so no test depends on the ones before it.
  afterAll(async () => {
    try {
      await headersSettled(servers)
      for (const s of servers.values()) {
        expect(s.errors.map((e) => `${s.kind}: ${e.code} ${e.message}`)).toEqual([])
        expect(s.stats().refused).toEqual({})
        expect(s.stats().accepted.v2).toBe(0)
      }
    } finally {
      await nginx?.stop()
      await closeReportServers(servers)
    }
  })

  for (const kind of kinds) {
    it(`${SERVER_NAMES[kind]} behind nginx sees the client 127.0.0.23 with its port, and nginx as the peer`, async () => {
      expectV1ClientBehindBalancer(await ask(kind, frontends.get(kind)!, false))
    })
  }

  it('an http.Server behind nginx sees the client on every request of a keep-alive connection', async () => {
    const socket = await connect(frontends.get('http')!, CLIENT_ADDRESS)
    const localPort = socket.localPort
    const closed = untilClosed(socket)
    socket.write(
      'GET /a HTTP/1.1\r\nHost: localhost\r\n\r\nGET /b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    )
    const text = (await closed).data.toString('latin1')
    const bodies = [...text.matchAll(/\r\n\r\n(\{.*?\})(?=HTTP\/1\.1|$)/gs)].map((m) => JSON.parse(m[1]!))
    expect(bodies).toHaveLength(2)
    for (const r of bodies) expect(r).toMatchObject({ address: CLIENT_ADDRESS, port: localPort, version: 1 })
  })
})
