import { TlvType } from '@proxyproto/core'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, exchange, run, startBackend, startRelayTo, stopAll } from './helpers.js'

beforeAll(assertBuilt)
afterEach(stopAll)

// SSL TLV (spec §2.2.5): client 0x01 (connection over TLS), verify 0, sub-TLV VERSION (0x21) "TLSv1.3".
const SSL_HEX = `0100000000210007${Buffer.from('TLSv1.3').toString('hex')}`

/** client (127.0.0.23) -> first relay (sets the TLVs) -> second relay `inner` -> backend. */
async function chain(first: string[], inner: string[]) {
  const b = await startBackend()
  const second = startRelayTo(b.port, '--accept-proxy', ...inner)
  const secondPort = await second.port()
  const outer = startRelayTo(secondPort, ...first)
  const outerPort = await outer.port()
  expect(await exchange(outerPort, 'tlvs', '127.0.0.23')).toBe('hello 127.0.0.23\nTLVS')
  return { seen: b.seen[0]!, second, outerPort }
}

const FIRST_HOP = [
  '--send',
  'v2',
  '--tlv',
  'authority=app.example',
  '--tlv',
  'unique-id=req-42',
  '--tlv',
  `0x20=hex:${SSL_HEX}`,
  '--tlv',
  'aws-vpce=vpce-08d2bf15fac5001c9',
  '--crc32c',
]

describe('proxyproto relay --accept-proxy forwards TLVs', () => {
  it('relay -> relay --accept-proxy -> server: the server sees the first client and the first hop TLVs (AUTHORITY, UNIQUE_ID, SSL, AWS)', async () => {
    const { seen, outerPort } = await chain(FIRST_HOP, ['--send', 'v2'])
    expect(seen.remoteAddress).toBe('127.0.0.23')
    expect(seen.info.header).toMatchObject({
      version: 2,
      destination: { address: '127.0.0.1', port: outerPort },
    })
    const tlvs = seen.info.tlvs
    expect(tlvs.authority).toBe('app.example')
    expect(Buffer.from(tlvs.uniqueId!).toString()).toBe('req-42')
    expect(tlvs.awsVpceId).toBe('vpce-08d2bf15fac5001c9')
    expect(tlvs.ssl).toMatchObject({ ssl: true, verify: 0, version: 'TLSv1.3' })
    // The first hop's CRC32C covered the first header; without --crc32c the second hop sends none.
    expect(tlvs.crc32c).toBeUndefined()
    expect(seen.info.header!.tlvs.map((t) => t.type)).toEqual([
      TlvType.AUTHORITY,
      TlvType.UNIQUE_ID,
      TlvType.SSL,
      TlvType.AWS,
    ])
  })

  it('with --crc32c, the second hop appends a fresh CRC32C that the server verifies', async () => {
    const { seen } = await chain(FIRST_HOP, ['--send', 'v2', '--crc32c'])
    expect(seen.info.header!.tlvs.map((t) => t.type)).toEqual([
      TlvType.AUTHORITY,
      TlvType.UNIQUE_ID,
      TlvType.SSL,
      TlvType.AWS,
      TlvType.CRC32C,
    ])
  })

  it('--tlv replaces a forwarded TLV of its type, --drop-tlv removes one by name or number', async () => {
    const { seen } = await chain(FIRST_HOP, [
      '--tlv',
      'authority=inner.example',
      '--drop-tlv',
      'aws-vpce',
      '--drop-tlv',
      '0x05',
    ])
    expect(seen.info.tlvs.authority).toBe('inner.example')
    expect(seen.info.header!.tlvs.map((t) => t.type)).toEqual([TlvType.SSL, TlvType.AUTHORITY])
  })

  it('with --send v1, drops the TLVs (v1 cannot carry them) and says so once on stderr', async () => {
    const b = await startBackend()
    const second = startRelayTo(b.port, '--accept-proxy', '--send', 'v1')
    const outer = startRelayTo(await second.port(), ...FIRST_HOP)
    const outerPort = await outer.port()
    for (const word of ['one', 'two']) {
      expect(await exchange(outerPort, word, '127.0.0.23')).toBe(`hello 127.0.0.23\n${word.toUpperCase()}`)
    }
    expect(b.seen.map((s) => [s.remoteAddress, s.info.header?.version])).toEqual([
      ['127.0.0.23', 1],
      ['127.0.0.23', 1],
    ])
    // Both connections logged; the notice came once.
    await second.line('stderr', () => second.stderr.filter((l) => l.includes(' -> ')).length === 2)
    const notices = second.stderr.filter((l) => l.startsWith('note: '))
    expect(notices).toEqual(['note: v1 headers cannot carry TLVs: the incoming TLVs are not forwarded'])
  })

  it('refuses --drop-tlv without --accept-proxy, and an unknown TLV name', async () => {
    const alone = await run(['relay', '--listen', '0', '--target', '127.0.0.1:1', '--drop-tlv', 'authority'])
    expect(alone.status).toBe(1)
    expect(alone.stderr).toMatch(/--drop-tlv go with --accept-proxy/)
    const unknown = await run([
      'relay',
      '--listen',
      '0',
      '--target',
      '127.0.0.1:1',
      '--accept-proxy',
      '--drop-tlv',
      'nope',
    ])
    expect(unknown.status).toBe(1)
    expect(unknown.stderr).toMatch(/--drop-tlv nope: unknown TLV/)
  })
})
