/**
 * Sending PROXY headers from Node to real receivers that report the client they were told about.
 *
 *   connect() / ProxyProtocolAgent / proxyProtocolConnector --PROXY v1|v2 [+TLS]-->
 *       HAProxy `bind … accept-proxy [ssl]`, mode http, answering `%[src]:%[src_port]` (+ the TLVs it read)
 *       nginx `listen … [ssl] proxy_protocol`, answering `$proxy_protocol_addr:$proxy_protocol_port`
 */
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { tlv } from '@proxyproto/core'
import { connect, type ProxyHeaderInput, ProxyProtocolAgent, proxyProtocolConnector } from '@proxyproto/node'
import { Agent as UndiciAgent, fetch } from 'undici'
import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  haproxyGlobalExclusive,
  startHaproxyOnFreePorts,
  startNginxOnFreePorts,
} from './helpers/balancers.js'
import { describePeer, type PeerProcess } from './helpers/peers.js'

const cert = readFileSync(new URL('./fixtures/cert.pem', import.meta.url), 'utf8')
const key = readFileSync(new URL('./fixtures/key.pem', import.meta.url), 'utf8')

interface Receiver {
  /** Plain and TLS ports, each behind `accept-proxy` / `proxy_protocol`. */
  port: number
  tlsPort: number
  stop(): Promise<void>
}

/** GET / through `agent`; resolves with the body's first line and whether the socket was reused. */
function get(
  port: number,
  agent: http.Agent,
  proxyHeader: ProxyHeaderInput | undefined,
  secure: boolean,
): Promise<{ body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).get(
      { host: '127.0.0.1', port, path: '/', agent, ...(proxyHeader && { proxyHeader }) },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => {
          body += d
        })
        res.on('end', () => resolve({ body: body.trim(), reused: req.reusedSocket }))
      },
    )
    req.on('error', reject)
  })
}

/** One request over a socket from connect(): the header, then a hand-written HTTP/1.1 request. */
async function viaConnect(port: number, proxyHeader: ProxyHeaderInput, secure: boolean): Promise<string> {
  const socket = connect({
    host: '127.0.0.1',
    port,
    proxyHeader,
    ...(secure && { tls: { rejectUnauthorized: false } }),
  })
  // Written before the connection is established: the header still goes first.
  socket.write('GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n')
  let data = ''
  socket.setEncoding('utf8')
  socket.on('data', (d: string) => {
    data += d
  })
  await once(socket, 'end')
  const body = data.slice(data.indexOf('\r\n\r\n') + 4)
  return body.trim()
}

const A = '203.0.113.1:1111'
const B = '203.0.113.2:2222'

/** The tests every receiver runs; `expected(client)` is the first word its body holds for that client. */
function sendingTests(start: () => Promise<Receiver>, extras: (r: () => Receiver) => void): void {
  let receiver: Receiver | undefined
  const r = (): Receiver => receiver!
  beforeAll(async () => {
    receiver = await start()
  })
  afterAll(async () => {
    await receiver?.stop()
  })

  for (const version of [1, 2] as const) {
    for (const secure of [false, true]) {
      const how = `v${version}${secure ? ' before TLS' : ''}`
      it(`connect() ${how}: reports the client the header names`, async () => {
        const body = await viaConnect(
          secure ? r().tlsPort : r().port,
          { version, source: '203.0.113.7:51234' },
          secure,
        )
        expect(body.split(' ')[0]).toBe('203.0.113.7:51234')
      })

      it(`ProxyProtocolAgent ${how}: reports the client, per request`, async () => {
        const agent = new ProxyProtocolAgent({ tls: secure, rejectUnauthorized: false })
        try {
          const port = secure ? r().tlsPort : r().port
          expect((await get(port, agent, { version, source: A }, secure)).body.split(' ')[0]).toBe(A)
          expect((await get(port, agent, { version, source: B }, secure)).body.split(' ')[0]).toBe(B)
        } finally {
          agent.destroy()
        }
      })

      it(`proxyProtocolConnector (undici fetch) ${how}: reports the client`, async () => {
        const dispatcher = new UndiciAgent({
          connect: proxyProtocolConnector({ proxyHeader: { version, source: A }, rejectUnauthorized: false }),
        })
        try {
          const url = `${secure ? 'https' : 'http'}://127.0.0.1:${secure ? r().tlsPort : r().port}/`
          const body = await (await fetch(url, { dispatcher })).text()
          expect(body.trim().split(' ')[0]).toBe(A)
        } finally {
          await dispatcher.close()
        }
      })
    }
  }

  it('reports an IPv6 client (v2 IPv6 block, destination written as an IPv4-mapped address)', async () => {
    const body = await viaConnect(r().port, { source: '[2001:db8::7]:40000' }, false)
    expect(body.split(' ')[0]).toMatch(/^(2001:db8::7:40000|\[2001:db8::7\]:40000)$/)
  })

  it('keep-alive: A, B, A, B each reported as its own client; the second A and B reuse their own connections', async () => {
    const agent = new ProxyProtocolAgent({ keepAlive: true })
    try {
      const answers = []
      for (const client of [A, B, A, B]) answers.push(await get(r().port, agent, { source: client }, false))
      expect(answers.map((a) => a.body.split(' ')[0])).toEqual([A, B, A, B])
      expect(answers.map((a) => a.reused)).toEqual([false, false, true, true])
    } finally {
      agent.destroy()
    }
  })

  extras(r)
}

async function combinedPem(): Promise<{ dir: string; pem: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'proxyproto-send-'))
  const pem = join(dir, 'cert.pem')
  await writeFile(pem, `${cert.trim()}\n${key.trim()}\n`)
  return { dir, pem }
}

describePeer('sending to HAProxy (bind … accept-proxy, mode http)', ['haproxy'], () => {
  sendingTests(
    async () => {
      const { dir, pem } = await combinedPem()
      let haproxy: PeerProcess
      let ports: number[]
      try {
        ;({ haproxy, ports } = await startHaproxyOnFreePorts(2, ([plain, secure]) =>
          [
            haproxyGlobalExclusive(),
            'frontend report',
            '  mode http',
            `  bind 127.0.0.1:${plain} accept-proxy`,
            `  bind 127.0.0.1:${secure} accept-proxy ssl crt ${pem}`,
            // src/src_port are the client the header named; fc_pp_* the TLVs HAProxy read from it.
            '  http-request return status 200 content-type text/plain lf-string "%[src]:%[src_port] authority=%[fc_pp_authority] unique-id=%[fc_pp_unique_id]\\n"',
            '',
          ].join('\n'),
        ))
      } catch (err) {
        await rm(dir, { recursive: true, force: true })
        throw err
      }
      return {
        port: ports[0]!,
        tlsPort: ports[1]!,
        stop: async () => {
          await haproxy.stop()
          await rm(dir, { recursive: true, force: true })
        },
      }
    },
    (r) => {
      for (const secure of [false, true]) {
        it(`ProxyProtocolAgent${secure ? ' (https)' : ''}: HAProxy reads the TLVs and verifies the CRC32C`, async () => {
          const agent = new ProxyProtocolAgent({ tls: secure, rejectUnauthorized: false })
          try {
            const answer = await get(
              secure ? r().tlsPort : r().port,
              agent,
              { source: A, tlvs: [tlv.authority('app.example'), tlv.uniqueId('req-42')], crc32c: true },
              secure,
            )
            expect(answer.body).toBe(`${A} authority=app.example unique-id=req-42`)
          } finally {
            agent.destroy()
          }
        })
      }

      for (const secure of [false, true]) {
        it(`connect()${secure ? ' with tls' : ''}: HAProxy reads the TLVs and verifies the CRC32C`, async () => {
          const body = await viaConnect(
            secure ? r().tlsPort : r().port,
            { source: B, tlvs: [tlv.authority('raw.example'), tlv.uniqueId('conn-7')], crc32c: true },
            secure,
          )
          expect(body).toBe(`${B} authority=raw.example unique-id=conn-7`)
        })
      }

      it('keep-alive: two headers for one client that differ in a TLV never share a connection', async () => {
        const agent = new ProxyProtocolAgent({ keepAlive: true })
        try {
          const one = { source: A, tlvs: [tlv.authority('one.example')] }
          const two = { source: A, tlvs: [tlv.authority('two.example')] }
          const answers = [
            await get(r().port, agent, one, false),
            await get(r().port, agent, two, false),
            await get(r().port, agent, one, false),
            await get(r().port, agent, two, false),
          ]
          expect(answers.map((a) => a.body.split(' ')[1])).toEqual([
            'authority=one.example',
            'authority=two.example',
            'authority=one.example',
            'authority=two.example',
          ])
          expect(answers.map((a) => a.reused)).toEqual([false, false, true, true])
        } finally {
          agent.destroy()
        }
      })
    },
  )
})

describePeer('sending to nginx (listen … proxy_protocol)', ['nginx'], () => {
  sendingTests(
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'proxyproto-send-'))
      await writeFile(join(dir, 'cert.pem'), cert)
      await writeFile(join(dir, 'key.pem'), key)
      let started: { nginx: PeerProcess; ports: number[] }
      try {
        started = await startNginxOnFreePorts(
          2,
          ([plain, secure]) =>
            [
              '  server {',
              `    listen 127.0.0.1:${plain} proxy_protocol;`,
              `    listen 127.0.0.1:${secure} ssl proxy_protocol;`,
              `    ssl_certificate ${join(dir, 'cert.pem')};`,
              `    ssl_certificate_key ${join(dir, 'key.pem')};`,
              '    default_type text/plain;',
              '    location / { return 200 "$proxy_protocol_addr:$proxy_protocol_port\\n"; }',
              '  }',
            ].join('\n'),
          'http',
        )
      } catch (err) {
        await rm(dir, { recursive: true, force: true })
        throw err
      }
      return {
        port: started.ports[0]!,
        tlsPort: started.ports[1]!,
        stop: async () => {
          await started.nginx.stop()
          await rm(dir, { recursive: true, force: true })
        },
      }
    },
    () => {},
  )
})
