import { encode, tlv } from '@proxyproto/core'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, exchange, noStack, run, start, stopAll } from './helpers.js'

beforeAll(assertBuilt)
afterEach(stopAll)

describe('proxyproto echo', () => {
  it('sends back and prints the v1 header sent by a raw client, peer and client apart', async () => {
    const echo = start(['echo', '--listen', '127.0.0.1:0'])
    const port = await echo.port()
    const reply = await exchange(
      port,
      'PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\nGET / HTTP/1.1\r\n\r\n',
      '127.0.0.23',
    )
    const json = JSON.parse(reply)
    expect(json).toEqual({
      version: 1,
      command: 'PROXY',
      family: 'IPv4',
      transport: 'STREAM',
      source: { address: '203.0.113.7', port: 51234 },
      destination: { address: '192.0.2.1', port: 443 },
      crc32c: 'absent',
      tlvs: {},
      rawTlvs: [],
      peer: { address: '127.0.0.23', port: expect.any(Number), family: 'IPv4' },
      client: { address: '203.0.113.7', port: 51234, family: 'IPv4' },
    })
    const printed = await echo.line('stdout', (l) => l.startsWith('{'))
    expect(JSON.parse(printed)).toEqual(json)
  })

  it('decodes v2 TLVs: AWS VPC endpoint id, authority, unique id as hex, SSL, CRC32C valid', async () => {
    const echo = start(['echo', '--listen', '127.0.0.1:0'])
    const port = await echo.port()
    const header = encode(
      {
        version: 2,
        family: 'IPv6',
        source: { address: '2001:db8::7', port: 40000 },
        destination: { address: '2001:db8::1', port: 443 },
        tlvs: [
          tlv.awsVpceId('vpce-08d2bf15fac5001c9'),
          tlv.authority('example.com'),
          tlv.uniqueId(Uint8Array.of(1, 2, 255)),
          tlv.ssl({
            client: 0x03,
            verify: 0,
            tlvs: [{ type: 0x21, value: new TextEncoder().encode('TLSv1.3') }],
          }),
        ],
      },
      { crc32c: true },
    )
    const json = JSON.parse(await exchange(port, Buffer.from(header)))
    expect(json).toMatchObject({
      version: 2,
      family: 'IPv6',
      source: { address: '2001:db8::7', port: 40000 },
      crc32c: 'valid',
      tlvs: {
        awsVpceId: 'vpce-08d2bf15fac5001c9',
        authority: 'example.com',
        uniqueId: '0102ff',
        crc32c: 'valid',
        ssl: { ssl: true, certInConnection: true, verified: true, version: 'TLSv1.3' },
      },
      peer: { address: '127.0.0.1' },
      client: { address: '2001:db8::7', port: 40000, family: 'IPv6' },
    })
  })

  it('sends a refused client the error as JSON before closing, and prints the same line', async () => {
    const echo = start(['echo', '--listen', '127.0.0.1:0', '--header-timeout', '2000'])
    const port = await echo.port()
    const missing = JSON.parse(await exchange(port, 'GET / HTTP/1.1\r\n\r\n'))
    expect(missing).toEqual({
      error: 'ERR_PROXY_HEADER_MISSING',
      message: expect.any(String),
      peer: { address: '127.0.0.1', port: expect.any(Number), family: 'IPv4' },
    })
    expect(JSON.parse(await echo.line('stdout', /ERR_PROXY_HEADER_MISSING/))).toEqual(missing)
    const badPort = JSON.parse(await exchange(port, 'PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n'))
    expect(badPort).toMatchObject({ error: 'ERR_PROXY_V1_BAD_PORT', message: expect.stringMatching(/port/) })
    expect(JSON.parse(await echo.line('stdout', /ERR_PROXY_V1_BAD_PORT/))).toEqual(badPort)
  })

  it('shows a header whose CRC32C is wrong, with "crc32c": "invalid", instead of refusing it', async () => {
    const echo = start(['echo', '--listen', '127.0.0.1:0'])
    const port = await echo.port()
    const input = {
      version: 2,
      family: 'IPv4',
      source: { address: '1.2.3.4', port: 1 },
      destination: { address: '5.6.7.8', port: 2 },
      tlvs: [tlv.authority('example.com')],
    } as const
    const good = Buffer.from(encode(input, { crc32c: true }))
    const bad = Buffer.from(good)
    bad[bad.length - 1]! ^= 1
    const expected = {
      version: 2,
      source: { address: '1.2.3.4', port: 1 },
      tlvs: { authority: 'example.com' },
      client: { address: '1.2.3.4', port: 1 },
    }
    const invalid = JSON.parse(await exchange(port, bad))
    expect(invalid).toMatchObject({ ...expected, crc32c: 'invalid', tlvs: { crc32c: 'invalid' } })
    // The checksum as sent, for comparison with what the sender meant.
    expect(invalid.rawTlvs.at(-1)).toEqual({
      type: '0x03',
      name: 'CRC32C',
      length: 4,
      hex: bad.subarray(-4).toString('hex'),
    })
    expect(JSON.parse(await exchange(port, good))).toMatchObject({ ...expected, crc32c: 'valid' })
    expect(JSON.parse(await exchange(port, Buffer.from(encode(input))))).toMatchObject({
      ...expected,
      crc32c: 'absent',
    })
    expect(await echo.line('stdout', /"crc32c":"invalid"/)).toBeDefined()
  })

  it('lists every TLV in rawTlvs, in wire order, NOOP and types it cannot decode included', async () => {
    const echo = start(['echo', '--listen', '127.0.0.1:0'])
    const header = encode(
      {
        version: 2,
        family: 'IPv4',
        source: { address: '1.2.3.4', port: 1 },
        destination: { address: '5.6.7.8', port: 2 },
        tlvs: [
          tlv.alpn('h2'),
          { type: 0x04, value: Uint8Array.of(0, 0, 0) },
          { type: 0xe5, value: Uint8Array.of(1, 2) },
        ],
      },
      { crc32c: true },
    )
    const json = JSON.parse(await exchange(await echo.port(), Buffer.from(header)))
    expect(json.rawTlvs).toEqual([
      { type: '0x01', name: 'ALPN', length: 2, hex: '6832' },
      { type: '0x04', name: 'NOOP', length: 3, hex: '000000' },
      { type: '0xe5', name: 'CUSTOM', length: 2, hex: '0102' },
      { type: '0x03', name: 'CRC32C', length: 4, hex: expect.stringMatching(/^[0-9a-f]{8}$/) },
    ])
    expect(json).toMatchObject({ crc32c: 'valid', tlvs: { alpn: 'h2', unknown: [{ type: '0xe5' }] } })
  })

  it('honours --trust (refuses other peers) and --mode optional', async () => {
    const strict = start(['echo', '--listen', '127.0.0.1:0', '--trust', '127.0.0.5'])
    const port = await strict.port()
    const untrusted = { error: 'ERR_PROXY_UNTRUSTED_PEER', peer: { address: '127.0.0.23' } }
    expect(JSON.parse(await exchange(port, 'PROXY UNKNOWN\r\n', '127.0.0.23'))).toMatchObject(untrusted)
    expect(JSON.parse(await strict.line('stdout', /UNTRUSTED/))).toMatchObject(untrusted)
    expect(JSON.parse(await exchange(port, 'PROXY UNKNOWN\r\n', '127.0.0.5'))).toMatchObject({
      version: 1,
      family: 'UNSPEC',
      client: { address: '127.0.0.5' },
    })

    const optional = start(['echo', '--listen', '127.0.0.1:0', '--mode', 'optional'])
    expect(JSON.parse(await exchange(await optional.port(), 'hello'))).toMatchObject({
      header: null,
      client: { address: '127.0.0.1' },
    })
  })

  it('accepts --json (its records are JSON already)', async () => {
    const echo = start(['echo', '--listen', '127.0.0.1:0', '--json'])
    expect(JSON.parse(await exchange(await echo.port(), 'PROXY UNKNOWN\r\n'))).toMatchObject({ version: 1 })
  })

  it('exits 0 on SIGTERM and on SIGINT', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const echo = start(['echo', '--listen', '127.0.0.1:0'])
      await echo.port()
      expect(await echo.stop(signal)).toEqual({ status: 0, signal: null })
    }
  })

  it('reports a port in use, or a bad option, as a user error', async () => {
    const first = start(['echo', '--listen', '127.0.0.1:0'])
    const port = await first.port()
    const r = await run(['echo', '--listen', `127.0.0.1:${port}`])
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/^error EADDRINUSE: /)
    expect(noStack(r.stderr)).toBe(true)
    for (const args of [
      ['--listen', 'nope'],
      ['--listen', '0', '--mode', 'maybe'],
      ['--listen', '0', '--trust', '10.0.0.0/99'],
      [],
    ]) {
      const bad = await run(['echo', ...args])
      expect(bad.status).toBe(1)
      expect(bad.stderr).toMatch(/^error/)
      expect(noStack(bad.stderr)).toBe(true)
    }
  })
})
