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
      tlvs: {},
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

  it('prints a JSON line with the error code for refused connections', async () => {
    const echo = start(['echo', '--listen', '127.0.0.1:0', '--header-timeout', '2000'])
    const port = await echo.port()
    expect(await exchange(port, 'GET / HTTP/1.1\r\n\r\n')).toBe('')
    const bad = Buffer.from(
      encode(
        {
          version: 2,
          family: 'IPv4',
          source: { address: '1.2.3.4', port: 1 },
          destination: { address: '5.6.7.8', port: 2 },
        },
        { crc32c: true },
      ),
    )
    bad[bad.length - 1]! ^= 1
    expect(await exchange(port, bad)).toBe('')
    const missing = JSON.parse(await echo.line('stdout', /ERR_PROXY_HEADER_MISSING/))
    expect(missing).toMatchObject({
      error: 'ERR_PROXY_HEADER_MISSING',
      message: expect.any(String),
      peer: { address: '127.0.0.1' },
    })
    expect(JSON.parse(await echo.line('stdout', /ERR_PROXY_CRC32C_MISMATCH/))).toMatchObject({
      error: 'ERR_PROXY_CRC32C_MISMATCH',
    })
  })

  it('honours --trust (refuses other peers) and --mode optional', async () => {
    const strict = start(['echo', '--listen', '127.0.0.1:0', '--trust', '127.0.0.5'])
    const port = await strict.port()
    expect(await exchange(port, 'PROXY UNKNOWN\r\n', '127.0.0.23')).toBe('')
    expect(JSON.parse(await strict.line('stdout', /UNTRUSTED/))).toMatchObject({
      error: 'ERR_PROXY_UNTRUSTED_PEER',
      peer: { address: '127.0.0.23' },
    })
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
