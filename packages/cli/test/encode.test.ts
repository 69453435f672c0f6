import { encode, parse, tlv } from '@proxyproto/core'
import { beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, noStack, run } from './helpers.js'

beforeAll(assertBuilt)

async function encodeOk(args: string[]): Promise<Buffer> {
  const r = await run(['encode', ...args])
  expect(r.stderr).toBe('')
  expect(r.status).toBe(0)
  return r.stdout
}

describe.concurrent('proxyproto encode', () => {
  it('writes the raw v1 header, byte for byte what the core encodes', async () => {
    const out = await encodeOk([
      '--version',
      '1',
      '--source',
      '1.2.3.4:5678',
      '--destination',
      '10.0.0.1:443',
    ])
    expect(out.toString()).toBe('PROXY TCP4 1.2.3.4 10.0.0.1 5678 443\r\n')
  })

  it('writes v2 with TLVs and CRC32C, identical to the core encoder', async () => {
    const out = await encodeOk([
      '--version',
      '2',
      '--source',
      '1.2.3.4:5678',
      '--destination',
      '10.0.0.1:443',
      '--tlv',
      'authority=example.com',
      '--tlv',
      'unique-id=abc',
      '--tlv',
      'alpn=h2',
      '--tlv',
      'aws-vpce=vpce-08d2bf15fac5001c9',
      '--tlv',
      '0xE5=hex:0102',
      '--crc32c',
    ])
    const expected = encode(
      {
        version: 2,
        family: 'IPv4',
        source: { address: '1.2.3.4', port: 5678 },
        destination: { address: '10.0.0.1', port: 443 },
        tlvs: [
          tlv.authority('example.com'),
          tlv.uniqueId('abc'),
          tlv.alpn('h2'),
          tlv.awsVpceId('vpce-08d2bf15fac5001c9'),
          { type: 0xe5, value: Uint8Array.of(1, 2) },
        ],
      },
      { crc32c: true },
    )
    expect(out.equals(Buffer.from(expected))).toBe(true)
  })

  it('prints hex with --hex and {hex, length} with --json', async () => {
    const args = ['--version', '2', '--source', '[2001:db8::1]:443', '--destination', '[2001:db8::2]:8443']
    const raw = await encodeOk(args)
    expect((await encodeOk([...args, '--hex'])).toString()).toBe(`${raw.toString('hex')}\n`)
    expect(JSON.parse((await encodeOk([...args, '--json'])).toString())).toEqual({
      hex: raw.toString('hex'),
      length: raw.length,
    })
  })

  it('refuses --hex with --json (two output formats), as a JSON error since --json was given', async () => {
    const r = await run(['encode', '--version', '2', '--local', '--hex', '--json'])
    expect(r.status).toBe(1)
    expect(r.stdout.length).toBe(0)
    expect(JSON.parse(r.stderr)).toEqual({
      error: 'ERR_USAGE',
      message: expect.stringMatching(/^--hex and --json are two output formats/),
      offset: null,
    })
  })

  describe('encode → decode round trip', () => {
    const cases: Array<[string, string[], Record<string, unknown>]> = [
      [
        'v1 IPv4',
        ['--version', '1', '--source', '192.0.2.7:51234', '--destination', '10.0.0.1:443'],
        { version: 1, family: 'IPv4', source: { address: '192.0.2.7', port: 51234 } },
      ],
      [
        'v1 IPv6',
        ['--version', '1', '--source', '[2001:0db8::0001]:1', '--destination', '[::1]:2'],
        {
          version: 1,
          family: 'IPv6',
          source: { address: '2001:db8::1', port: 1 },
          destination: { address: '::1', port: 2 },
        },
      ],
      [
        'v1 LOCAL (PROXY UNKNOWN)',
        ['--version', '1', '--local'],
        { version: 1, command: 'PROXY', family: 'UNSPEC' },
      ],
      ['v2 LOCAL', ['--version', '2', '--local'], { version: 2, command: 'LOCAL', family: 'UNSPEC' }],
      [
        'v2 IPv6 with every named TLV',
        [
          '--version',
          '2',
          '--source',
          '[2001:db8::7]:40000',
          '--destination',
          '[2001:db8::1]:443',
          '--tlv',
          'authority=example.com',
          '--tlv',
          'alpn=h2',
          '--tlv',
          'unique-id=hex:0a0b0c',
          '--tlv',
          'netns=blue',
          '--tlv',
          'aws-vpce=vpce-1',
          '--tlv',
          'azure-link-id=4294967295',
          '--tlv',
          'gcp-psc=18446744073709551615',
          '--tlv',
          '229=text',
          '--crc32c',
        ],
        {
          version: 2,
          family: 'IPv6',
          source: { address: '2001:db8::7', port: 40000 },
          tlvs: {
            authority: 'example.com',
            alpn: 'h2',
            uniqueId: '0a0b0c',
            netns: 'blue',
            awsVpceId: 'vpce-1',
            azureLinkId: 4294967295,
            gcpPscConnectionId: '18446744073709551615',
            crc32c: 'valid',
            unknown: [{ type: '0xe5', hex: Buffer.from('text').toString('hex') }],
          },
        },
      ],
    ]
    for (const [name, args, expected] of cases) {
      it(name, async () => {
        const raw = await encodeOk(args)
        const r = await run(['decode', '-'], raw)
        expect(r.status).toBe(0)
        const json = JSON.parse(r.stdout.toString())
        expect(json).toMatchObject({ ...expected, length: raw.length, trailing: 0 })
        const viaHex = await run(['decode', (await encodeOk([...args, '--hex'])).toString().trim()])
        expect(JSON.parse(viaHex.stdout.toString())).toEqual(json)
        expect(parse(raw).status).toBe('complete')
      })
    }
  })

  describe('usage errors: exit status 1, one clear line, no stack trace', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--source', '1.2.3.4:1', '--destination', '1.2.3.4:2'], /--version must be 1 or 2/],
      [['--version', '2'], /--source and --destination are required/],
      [
        ['--version', '2', '--source', '1.2.3.4:1', '--destination', '[::1]:2'],
        /IPv4 but --destination is IPv6/,
      ],
      [
        ['--version', '2', '--source', '2001:db8::1:443', '--destination', '[::1]:2'],
        /write an IPv6 address in brackets/,
      ],
      [
        ['--version', '2', '--source', 'example.com:1', '--destination', '1.2.3.4:2'],
        /not an IPv4 or IPv6 address/,
      ],
      [['--version', '2', '--source', '1.2.3.4:70000', '--destination', '1.2.3.4:2'], /not a port number/],
      [['--version', '1', '--local', '--tlv', 'alpn=h2'], /v1 headers cannot carry TLVs/],
      [['--version', '1', '--local', '--crc32c'], /--crc32c needs --version 2/],
      [['--version', '2', '--local', '--tlv', 'bogus=1'], /unknown TLV "bogus"/],
      [['--version', '2', '--local', '--tlv', '0x03=hex:00000000'], /--crc32c/],
      [['--version', '2', '--local', '--tlv', '0xE5=hex:123'], /not an even number of hex digits/],
      [['--version', '2', '--local', '--tlv', 'azure-link-id=-1'], /not an integer/],
      [
        ['--version', '2', '--local', '--tlv', `unique-id=${'x'.repeat(129)}`],
        /^error ERR_PROXY_ENCODE_INVALID: .*UNIQUE_ID.* 128 bytes/,
      ],
    ]
    for (const [args, pattern] of cases) {
      it(args.join(' ').slice(0, 80), async () => {
        const r = await run(['encode', ...args])
        expect(r.status).toBe(1)
        expect(r.stdout.length).toBe(0)
        expect(r.stderr).toMatch(pattern)
        expect(r.stderr).toMatch(/^error/)
        expect(noStack(r.stderr)).toBe(true)
      })
    }
  })
})
