/**
 * The `proxyproto` command against real load balancers.
 *
 *   client (127.0.0.23) --> proxyproto relay --PROXY v1/v2--> HAProxy `accept-proxy` / nginx `listen ... proxy_protocol`
 *       --PROXY header of their own--> backend (node:net + @proxyproto/core parse)
 *
 * HAProxy and nginx re-encode the client they accepted, so the backend seeing 127.0.0.23 proves they understood
 * the relay's header. The other direction too: HAProxy / nginx --PROXY--> proxyproto relay --accept-proxy --> backend,
 * and HAProxy --send-proxy-v2--> proxyproto echo.
 *
 * Every relay and echo is a real process: node packages/cli/dist/bin.js (build it first).
 */
import net from 'node:net'
import { decodeTlvs, type InetAddress, type ProxyHeader, parse } from '@proxyproto/core'
import { afterEach, beforeAll, expect, it } from 'vitest'
import { assertBuilt, start, stopAll } from '../packages/cli/test/helpers.js'
import {
  describePeer,
  freePort,
  haproxyGlobal,
  type PeerProcess,
  startHaproxy,
  startNginx,
} from './helpers/peers.js'
import { CLIENT_ADDRESS, closeServer, connect, listen, readUntil } from './helpers/sockets.js'

interface Received {
  header: ProxyHeader
  payload: string
}

/**
 * Parses the header its peer sends with @proxyproto/core, then answers "hello <source address>\n"
 * and echoes the payload upper-cased; ends when the peer ends.
 */
class Backend {
  readonly received: Received[] = []
  readonly errors: unknown[] = []
  private readonly server: net.Server
  private readonly sockets = new Set<net.Socket>()
  port = 0

  constructor() {
    this.server = net.createServer((socket) => {
      this.sockets.add(socket)
      socket.on('close', () => this.sockets.delete(socket))
      socket.on('error', () => {})
      let buffered = Buffer.alloc(0)
      let record: Received | undefined
      socket.on('data', (chunk: Buffer) => {
        if (record) {
          record.payload += chunk.toString()
          socket.write(chunk.toString().toUpperCase())
          return
        }
        buffered = Buffer.concat([buffered, chunk])
        let result: ReturnType<typeof parse>
        try {
          result = parse(buffered)
        } catch (err) {
          this.errors.push(err)
          socket.destroy()
          return
        }
        if (result.status === 'incomplete') return
        if (result.status === 'absent') {
          this.errors.push(new Error(`no PROXY header: ${JSON.stringify(buffered.toString('latin1'))}`))
          socket.destroy()
          return
        }
        const rest = buffered.subarray(result.length).toString()
        record = { header: result.header, payload: rest }
        this.received.push(record)
        const source = result.header.source as InetAddress | undefined
        socket.write(`hello ${source?.address}\n${rest.toUpperCase()}`)
      })
      socket.on('end', () => socket.end())
    })
  }

  async start(): Promise<this> {
    this.port = await listen(this.server)
    return this
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await closeServer(this.server)
  }
}

/**
 * Connects from 127.0.0.23, sends `data` and reads until `expected` bytes arrived (or the peer closes).
 * No half-close: the balancers here need not pass a FIN on (nginx stream closes both sides on one).
 */
async function exchangeFrom(port: number, data: string, expected: number): Promise<string> {
  const socket = await connect(port, CLIENT_ADDRESS)
  socket.write(data)
  try {
    return (await readUntil(socket, (r) => r.length >= expected)).toString()
  } finally {
    socket.destroy()
  }
}

/** Sends `data`, expects the backend's greeting and `data` upper-cased. */
async function roundTrip(port: number, data: string): Promise<void> {
  const expected = `hello ${CLIENT_ADDRESS}\n${data.toUpperCase()}`
  expect(await exchangeFrom(port, data, Buffer.byteLength(expected))).toBe(expected)
}

/** What the backend received on the connection that carried `payload` (balancers probe ports too). */
function receivedWith(b: Backend, payload: string): Received {
  const found = b.received.find((r) => r.payload === payload)
  if (!found)
    throw new Error(`no connection carried ${JSON.stringify(payload)}: ${JSON.stringify(b.received)}`)
  return found
}

const cleanups: Array<() => Promise<void>> = []
beforeAll(assertBuilt)
afterEach(async () => {
  await stopAll()
  await Promise.all(cleanups.splice(0).map((f) => f()))
})

async function backend(): Promise<Backend> {
  const b = await new Backend().start()
  cleanups.push(() => b.close())
  return b
}

async function peer(started: Promise<PeerProcess>): Promise<PeerProcess> {
  const p = await started
  cleanups.push(() => p.stop())
  return p
}

async function relay(args: string[]): Promise<number> {
  return start(['relay', '--listen', '127.0.0.1:0', ...args]).port()
}

function haproxy(
  frontPort: number,
  backendPort: number,
  bindOptions: string,
  serverOptions: string,
  extra: string[] = [],
): string {
  return [
    haproxyGlobal(),
    'listen lb',
    `  bind 127.0.0.1:${frontPort} ${bindOptions}`,
    ...extra.map((l) => `  ${l}`),
    `  server s1 127.0.0.1:${backendPort} ${serverOptions}`,
    '',
  ].join('\n')
}

describePeer('proxyproto relay -> HAProxy (accept-proxy) -> backend', ['haproxy'], () => {
  for (const send of ['v1', 'v2'] as const) {
    it(`HAProxy accepts the relay's ${send} header and passes on the client 127.0.0.23`, async () => {
      const b = await backend()
      const hPort = await freePort()
      await peer(startHaproxy(haproxy(hPort, b.port, 'accept-proxy', 'send-proxy-v2')))
      const rPort = await relay(['--target', `127.0.0.1:${hPort}`, '--send', send])

      await roundTrip(rPort, 'ping')
      expect(b.errors).toEqual([])
      const { header } = receivedWith(b, 'ping')
      expect(header).toMatchObject({
        version: 2,
        command: 'PROXY',
        family: 'IPv4',
        source: { address: CLIENT_ADDRESS },
        // HAProxy forwards the destination it accepted: where the client reached the relay.
        destination: { address: '127.0.0.1', port: rPort },
      })
    })
  }

  it('HAProxy verifies the relay CRC32C and forwards the AUTHORITY TLV it received', async () => {
    const b = await backend()
    const hPort = await freePort()
    await peer(
      startHaproxy(haproxy(hPort, b.port, 'accept-proxy', 'send-proxy-v2 proxy-v2-options authority,crc32c')),
    )
    const rPort = await relay([
      '--target',
      `127.0.0.1:${hPort}`,
      '--send',
      'v2',
      '--crc32c',
      '--tlv',
      'authority=example.com',
      '--tlv',
      'unique-id=req-1',
      '--tlv',
      'aws-vpce=vpce-08d2bf15fac5001c9',
      '--tlv',
      '0xE5=hex:0102',
    ])
    await roundTrip(rPort, 'tlv')
    expect(b.errors).toEqual([])
    const { header } = receivedWith(b, 'tlv')
    expect(header.source).toMatchObject({ address: CLIENT_ADDRESS })
    const tlvs = decodeTlvs(header.tlvs)
    expect(tlvs.authority).toBe('example.com')
    expect(tlvs.crc32c).toEqual(expect.any(Number)) // and parse() verified it
  })

  it('a relay -> relay --accept-proxy -> HAProxy chain still reports the first client', async () => {
    const b = await backend()
    const hPort = await freePort()
    await peer(startHaproxy(haproxy(hPort, b.port, 'accept-proxy', 'send-proxy')))
    const inner = await relay(['--target', `127.0.0.1:${hPort}`, '--send', 'v2', '--accept-proxy'])
    const outer = await relay(['--target', `127.0.0.1:${inner}`, '--send', 'v1'])
    await roundTrip(outer, 'chain')
    expect(receivedWith(b, 'chain').header).toMatchObject({
      version: 1,
      source: { address: CLIENT_ADDRESS },
      destination: { port: outer },
    })
  })
})

describePeer(
  'HAProxy (send-proxy-v2) -> proxyproto relay --accept-proxy / proxyproto echo',
  ['haproxy'],
  () => {
    it('the relay accepts HAProxy v2 headers (CRC32C, unique id) and forwards the client', async () => {
      const b = await backend()
      const rPort = await relay([
        '--target',
        `127.0.0.1:${b.port}`,
        '--send',
        'v1',
        '--accept-proxy',
        '--trust',
        '127.0.0.1',
      ])
      const hPort = await freePort()
      await peer(
        startHaproxy(
          haproxy(hPort, rPort, '', 'send-proxy-v2 proxy-v2-options crc32c,unique-id', [
            'unique-id-format %ci:%cp',
          ]),
        ),
      )
      await roundTrip(hPort, 'via haproxy')
      expect(receivedWith(b, 'via haproxy').header).toMatchObject({
        version: 1,
        source: { address: CLIENT_ADDRESS },
        destination: { address: '127.0.0.1', port: hPort },
      })
    })

    it('echo shows what HAProxy sent: client, balancer, unique id, CRC32C valid', async () => {
      const echo = start(['echo', '--listen', '127.0.0.1:0', '--trust', '127.0.0.1'])
      const ePort = await echo.port()
      const hPort = await freePort()
      await peer(
        startHaproxy(
          haproxy(hPort, ePort, '', 'send-proxy-v2 proxy-v2-options crc32c,unique-id', [
            'unique-id-format %ci:%cp',
          ]),
        ),
      )
      const json = JSON.parse(await exchangeFrom(hPort, '', Number.POSITIVE_INFINITY)) // echo closes after its line
      // unique-id-format "%ci:%cp": the id HAProxy made names the client.
      expect(Buffer.from(json.tlvs.uniqueId, 'hex').toString()).toMatch(
        new RegExp(`^${CLIENT_ADDRESS.replaceAll('.', '\\.')}:\\d+$`),
      )
      expect(json).toMatchObject({
        version: 2,
        command: 'PROXY',
        source: { address: CLIENT_ADDRESS },
        destination: { address: '127.0.0.1', port: hPort },
        tlvs: { crc32c: 'valid', uniqueId: expect.stringMatching(/^[0-9a-f]+$/) },
        peer: { address: '127.0.0.1' },
        client: { address: CLIENT_ADDRESS },
      })
      // The same line on stdout (after the one for HAProxy's readiness probe, which came from 127.0.0.1).
      expect(JSON.parse(await echo.line('stdout', (l) => l.includes(`"port":${json.source.port}`)))).toEqual(
        json,
      )
    })
  },
)

function nginx(listen: string, target: number, extra: string[] = []): string {
  return [
    '  server {',
    `    listen ${listen};`,
    ...extra.map((l) => `    ${l}`),
    `    proxy_pass 127.0.0.1:${target};`,
    '    proxy_protocol on;',
    '  }',
  ].join('\n')
}

describePeer('proxyproto relay -> nginx (stream, listen proxy_protocol) -> backend', ['nginx'], () => {
  for (const send of ['v1', 'v2'] as const) {
    it(`nginx accepts the relay's ${send} header and passes on the client 127.0.0.23`, async () => {
      const b = await backend()
      const nPort = await freePort()
      // set_real_ip_from: nginx then sends the client from the header it received, not its TCP peer.
      await peer(
        startNginx(nginx(`127.0.0.1:${nPort} proxy_protocol`, b.port, ['set_real_ip_from 127.0.0.1;'])),
      )
      const rPort = await relay([
        '--target',
        `127.0.0.1:${nPort}`,
        '--send',
        send,
        ...(send === 'v2' ? ['--crc32c', '--tlv', 'authority=example.com'] : []),
      ])
      await roundTrip(rPort, 'ping')
      expect(b.errors).toEqual([])
      expect(receivedWith(b, 'ping').header).toMatchObject({
        version: 1,
        command: 'PROXY',
        family: 'IPv4',
        source: { address: CLIENT_ADDRESS },
      })
    })
  }

  it('nginx (proxy_protocol on) -> proxyproto relay --accept-proxy -> backend keeps the client', async () => {
    const b = await backend()
    const rPort = await relay(['--target', `127.0.0.1:${b.port}`, '--send', 'v2', '--accept-proxy'])
    const nPort = await freePort()
    await peer(startNginx(nginx(`127.0.0.1:${nPort}`, rPort)))
    await roundTrip(nPort, 'via nginx')
    expect(receivedWith(b, 'via nginx').header).toMatchObject({
      version: 2,
      source: { address: CLIENT_ADDRESS },
      destination: { address: '127.0.0.1', port: nPort },
    })
  })
})
