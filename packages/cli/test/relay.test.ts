import { once } from 'node:events'
import net from 'node:net'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startEcho, startRelay } from '../src/index.js'
import { closeServer, connect, listen, waitFor } from '../../../test/helpers/sockets.js'
import {
  assertBuilt,
  closeAfterTest,
  exchange,
  noStack,
  run,
  start,
  startBackend,
  startRelayTo,
  stopAll,
} from './helpers.js'

beforeAll(assertBuilt)
afterEach(stopAll)

describe('proxyproto relay', () => {
  it('sends the client address (127.0.0.23) to a target prepared with withProxyProtocol, v2 with TLVs', async () => {
    const b = await startBackend()
    const relay = startRelayTo(
      b.port,
      '--send',
      'v2',
      '--tlv',
      'authority=example.com',
      '--tlv',
      'unique-id=abc',
      '--tlv',
      'alpn=h2',
      '--tlv',
      'aws-vpce=vpce-0123',
      '--tlv',
      '0xE5=hex:0102',
      '--crc32c',
    )
    const port = await relay.port()
    expect(await exchange(port, 'ping', '127.0.0.23')).toBe('hello 127.0.0.23\nPING')
    const seen = b.seen[0]!
    expect(seen.remoteAddress).toBe('127.0.0.23')
    expect(seen.data).toBe('ping')
    expect(seen.info.header).toMatchObject({
      version: 2,
      command: 'PROXY',
      family: 'IPv4',
      destination: { address: '127.0.0.1', port },
    })
    expect(seen.info.peer.address).toBe('127.0.0.1')
    const tlvs = seen.info.tlvs
    expect(tlvs).toMatchObject({
      authority: 'example.com',
      alpn: 'h2',
      awsVpceId: 'vpce-0123',
      crc32c: expect.any(Number),
    })
    expect(Buffer.from(tlvs.uniqueId!).toString()).toBe('abc')
    expect(tlvs.unknown.map((t) => [t.type, Buffer.from(t.value).toString('hex')])).toEqual([[0xe5, '0102']])
    // One log line per connection on stderr: client -> target, bytes each way, duration.
    const line = await relay.line('stderr', /->/)
    expect(line).toMatch(
      new RegExp(`^127\\.0\\.0\\.23:\\d+ -> 127\\.0\\.0\\.1:${b.port}: 4 B up, 21 B down, \\d+ ms$`),
    )
  })

  it('sends v1, and logs JSON lines with --json', async () => {
    const b = await startBackend()
    const relay = startRelayTo(b.port, '--send', 'v1', '--json')
    const port = await relay.port()
    expect(await exchange(port, 'x', '127.0.0.23')).toBe('hello 127.0.0.23\nX')
    expect(b.seen[0]!.info.header).toMatchObject({
      version: 1,
      family: 'IPv4',
      source: { address: '127.0.0.23' },
    })
    const entry = JSON.parse(await relay.line('stderr', /^\{/))
    expect(entry).toMatchObject({
      event: 'connection',
      target: `127.0.0.1:${b.port}`,
      bytesUp: 1,
      bytesDown: 18,
      durationMs: expect.any(Number),
    })
    expect(entry.client).toMatch(/^127\.0\.0\.23:\d+$/)
  })

  it('logs the client as the header carries it on a dual-stack listener (127.0.0.23, not ::ffff:127.0.0.23)', async () => {
    const b = await startBackend()
    // No host: every interface, IPv6 and IPv4-mapped IPv4 on one socket where the system has IPv6.
    const relay = start(['relay', '--listen', '0', '--target', `127.0.0.1:${b.port}`, '--send', 'v1'])
    expect(await exchange(await relay.port(), 'x', '127.0.0.23')).toBe('hello 127.0.0.23\nX')
    expect(b.seen[0]!.info.header).toMatchObject({ family: 'IPv4', source: { address: '127.0.0.23' } })
    expect(await relay.line('stderr', /->/)).toMatch(/^127\.0\.0\.23:\d+ -> /)
  })

  it('keeps the first client through relay -> relay --accept-proxy -> server', async () => {
    const b = await startBackend()
    const inner = startRelayTo(b.port, '--send', 'v2', '--accept-proxy')
    const innerPort = await inner.port()
    const outer = startRelayTo(innerPort, '--send', 'v1')
    const outerPort = await outer.port()
    expect(await exchange(outerPort, 'chain', '127.0.0.23')).toBe('hello 127.0.0.23\nCHAIN')
    const seen = b.seen[0]!
    expect(seen.remoteAddress).toBe('127.0.0.23')
    // The destination named by the first relay travels on too.
    expect(seen.info.header).toMatchObject({
      version: 2,
      destination: { address: '127.0.0.1', port: outerPort },
    })
    expect(await inner.line('stderr', /->/)).toMatch(/^127\.0\.0\.23:\d+ \(via 127\.0\.0\.1:\d+\) -> /)
  })

  it('with --accept-proxy, refuses peers outside --trust and logs why', async () => {
    const b = await startBackend()
    const relay = startRelayTo(b.port, '--accept-proxy', '--trust', '10.0.0.0/8,127.0.0.5')
    const port = await relay.port()
    expect(await exchange(port, 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n', '127.0.0.23')).toBe('')
    expect(await relay.line('stderr', /^refused/)).toMatch(
      /^refused 127\.0\.0\.23:\d+: ERR_PROXY_UNTRUSTED_PEER/,
    )
    expect(await exchange(port, 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nhi', '127.0.0.5')).toBe(
      'hello 1.2.3.4\nHI',
    )
    expect(b.seen).toHaveLength(1)
  })

  it('passes a half-close on: the client ends its writes and still receives the reply', async () => {
    // A target that answers only after the client's FIN, then writes more and ends.
    const received: string[] = []
    const target = net.createServer({ allowHalfOpen: true }, (s) => {
      let data = ''
      s.setEncoding('utf8')
      s.on('data', (d: string) => {
        data += d
      })
      s.on('end', () => {
        received.push(data)
        s.write('got it: ')
        setTimeout(() => s.end(`${data.length} bytes`), 100)
      })
    })
    const targetPort = await listen(target)
    closeAfterTest(() => closeServer(target))
    const relay = startRelayTo(targetPort, '--send', 'v1')
    const port = await relay.port()

    const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
    await once(client, 'connect')
    const chunks: Buffer[] = []
    client.on('data', (c: Buffer) => chunks.push(c))
    client.end('request body')
    await once(client, 'end')
    expect(received[0]).toMatch(/^PROXY TCP4 127\.0\.0\.1 127\.0\.0\.1 \d+ \d+\r\nrequest body$/)
    expect(Buffer.concat(chunks).toString()).toBe(`got it: ${received[0]!.length} bytes`)
    client.destroy()
  })

  it('relays large transfers in both directions with backpressure', async () => {
    const b = await startBackend()
    const relay = startRelayTo(b.port)
    const big = 'abcdefgh'.repeat(512 * 1024) // 4 MiB
    const reply = await exchange(await relay.port(), big, '127.0.0.23')
    expect(reply.length).toBe('hello 127.0.0.23\n'.length + big.length)
    expect(reply.endsWith(big.toUpperCase().slice(-100))).toBe(true)
  })

  it('closes the client when the target refuses, and logs the error', async () => {
    const free = net.createServer()
    const dead = await listen(free)
    await closeServer(free)
    const relay = startRelayTo(dead)
    expect(await exchange(await relay.port(), 'x')).toBe('')
    expect(await relay.line('stderr', /->/)).toMatch(/target: ECONNREFUSED/)
  })

  it('stops on SIGTERM with exit status 0, closing open connections', async () => {
    const b = await startBackend()
    const relay = startRelayTo(b.port)
    const port = await relay.port()
    const client = await connect(port)
    client.on('error', () => {})
    await once(client, 'data') // the backend's greeting: the connection is open end to end
    const closed = once(client, 'close')
    expect(await relay.stop('SIGTERM')).toEqual({ status: 0, signal: null })
    await closed
    // And the port is free again.
    const again = net.createServer().listen(port, '127.0.0.1')
    await once(again, 'listening')
    await new Promise((r) => again.close(r))
  })

  it('rejects bad arguments with one line and status 1', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--target', '127.0.0.1:1'], /--listen \[HOST:\]PORT is required/],
      [['--listen', '0'], /--target HOST:PORT is required/],
      [['--listen', '0', '--target', '127.0.0.1'], /--target: expected HOST:PORT/],
      [['--listen', '0', '--target', '127.0.0.1:1', '--send', 'v3'], /--send must be v1 or v2/],
      [
        ['--listen', '0', '--target', '127.0.0.1:1', '--send', 'v1', '--tlv', 'alpn=h2'],
        /v1 headers cannot carry TLVs/,
      ],
      [['--listen', '0', '--target', '127.0.0.1:1', '--trust', 'private'], /go with --accept-proxy/],
      [
        ['--listen', '0', '--target', '127.0.0.1:1', '--accept-proxy', '--trust', 'nowhere'],
        /^error ERR_PROXY_INVALID_OPTION: trust: "nowhere"/,
      ],
      [['--listen', '0', '--target', '127.0.0.1:1', '--bogus'], /Unknown option '--bogus'/],
    ]
    const results = await Promise.all(cases.map(([args]) => run(['relay', ...args])))
    results.forEach((r, i) => {
      const [args, pattern] = cases[i]!
      expect(r.status, args.join(' ')).toBe(1)
      expect(r.stderr, args.join(' ')).toMatch(pattern)
      expect(noStack(r.stderr)).toBe(true)
    })
  })
})

describe('startRelay / startEcho (in process)', () => {
  it('relay -> echo: the echo server reports the client and the TLVs', async () => {
    const records: Array<Record<string, unknown>> = []
    const echo = await startEcho({ listen: { host: '127.0.0.1', port: 0 }, onRecord: (r) => records.push(r) })
    closeAfterTest(echo.close)
    const logs: unknown[] = []
    const relay = await startRelay({
      listen: '127.0.0.1:0',
      target: `127.0.0.1:${echo.port}`,
      send: 'v2',
      tlvs: [{ type: 0x02, value: new TextEncoder().encode('in-process.test') }],
      onLog: (e) => logs.push(e),
    })
    closeAfterTest(relay.close)
    expect(relay.address).toBe(`127.0.0.1:${relay.port}`)
    const reply = JSON.parse(await exchange(relay.port, '', '127.0.0.23'))
    expect(reply).toMatchObject({
      version: 2,
      source: { address: '127.0.0.23' },
      tlvs: { authority: 'in-process.test' },
      client: { address: '127.0.0.23' },
    })
    expect(records).toEqual([reply])
    // The relay logs a connection when it ends, which may be just after the echo's reply arrived.
    await waitFor(() => logs.length > 0, 'the relay to log the connection')
    expect(logs).toMatchObject([{ event: 'connection', target: `127.0.0.1:${echo.port}` }])
  })

  it('sends IPv6 when the client is IPv6 and IPv4-mapped when families mix', async () => {
    const b = await startBackend()
    const relay = await startRelay({
      listen: { host: '::1', port: 0 },
      target: { host: '127.0.0.1', port: b.port },
    })
    closeAfterTest(relay.close)
    expect(relay.address).toBe(`[::1]:${relay.port}`)
    const socket = net.connect({ port: relay.port, host: '::1' })
    socket.on('error', () => {})
    await once(socket, 'data')
    socket.destroy()
    expect(b.seen[0]!.info.header).toMatchObject({
      family: 'IPv6',
      source: { address: '::1' },
      destination: { address: '::1', port: relay.port },
    })
  })
})
