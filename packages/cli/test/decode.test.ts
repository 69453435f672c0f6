import { encode, tlv } from '@proxyproto/core'
import { beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, noStack, run } from './helpers.js'

beforeAll(assertBuilt)

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const V1 = 'PROXY TCP4 192.0.2.7 10.0.0.1 51234 443\r\n'
const V2 = encode(
  {
    version: 2,
    family: 'IPv4',
    source: { address: '192.0.2.7', port: 51234 },
    destination: { address: '10.0.0.1', port: 443 },
    tlvs: [
      tlv.authority('example.com'),
      tlv.uniqueId(Uint8Array.of(0xde, 0xad)),
      tlv.awsVpceId('vpce-08d2bf15fac5001c9'),
      { type: 0xe5, value: Uint8Array.of(1, 2) },
    ],
  },
  { crc32c: true },
)

async function decodeOk(args: string[], input?: Buffer | string): Promise<Record<string, unknown>> {
  const r = await run(['decode', ...args], input)
  expect(r.stderr).toBe('')
  expect(r.status).toBe(0)
  return JSON.parse(r.stdout.toString())
}

describe.concurrent('proxyproto decode', () => {
  it('decodes a v1 header piped on stdin (no argument)', async () => {
    const json = await decodeOk([], V1)
    expect(json).toMatchObject({
      version: 1,
      command: 'PROXY',
      family: 'IPv4',
      transport: 'STREAM',
      source: { address: '192.0.2.7', port: 51234 },
      destination: { address: '10.0.0.1', port: 443 },
      tlvs: {},
      length: V1.length,
      trailing: 0,
    })
  })

  it('decodes v1 given as hex and counts the bytes after the header', async () => {
    const json = await decodeOk([Buffer.from(`${V1}GET / HTTP/1.1\r\n`).toString('hex')])
    expect(json).toMatchObject({ version: 1, length: V1.length, trailing: 16 })
  })

  it('decodes v2 hex with TLVs: authority, unique id as hex, AWS VPC endpoint, unknown, CRC32C valid', async () => {
    const json = await decodeOk([hex(V2)])
    expect(json).toMatchObject({
      version: 2,
      command: 'PROXY',
      family: 'IPv4',
      source: { address: '192.0.2.7', port: 51234 },
      destination: { address: '10.0.0.1', port: 443 },
      tlvs: {
        authority: 'example.com',
        uniqueId: 'dead',
        awsVpceId: 'vpce-08d2bf15fac5001c9',
        crc32c: 'valid',
        unknown: [{ type: '0xe5', hex: '0102' }],
      },
      length: V2.length,
      trailing: 0,
    })
    expect((json['rawTlvs'] as Array<{ name: string }>).map((t) => t.name)).toEqual([
      'AUTHORITY',
      'UNIQUE_ID',
      'AWS',
      'CUSTOM',
      'CRC32C',
    ])
  })

  it('accepts hex with spaces, colons and a 0x prefix', async () => {
    const spaced = `0x${hex(V2).replace(/(..)/g, '$1 ')}`
    expect(await decodeOk([spaced])).toMatchObject({ version: 2, length: V2.length })
  })

  it('reads raw bytes from stdin with "-", IPv6 and LOCAL included', async () => {
    const v6 = encode({
      version: 2,
      family: 'IPv6',
      source: { address: '2001:db8::1', port: 1 },
      destination: { address: '::ffff:10.0.0.1', port: 2 },
    })
    expect(await decodeOk(['-'], Buffer.concat([v6, Buffer.from('tail')]))).toMatchObject({
      family: 'IPv6',
      source: { address: '2001:db8::1', port: 1 },
      destination: { address: '::ffff:10.0.0.1', port: 2 },
      trailing: 4,
    })
    const local = encode({ version: 2, command: 'LOCAL' })
    const json = await decodeOk(['-'], Buffer.from(local))
    expect(json).toMatchObject({
      version: 2,
      command: 'LOCAL',
      family: 'UNSPEC',
      transport: 'UNSPEC',
      length: 16,
    })
    expect(json['source']).toBeUndefined()
  })

  it('accepts --json: the output is the same JSON', async () => {
    expect(await decodeOk(['--json', hex(V2)])).toEqual(await decodeOk([hex(V2)]))
  })

  it('prints one line with --compact', async () => {
    const r = await run(['decode', '--compact', hex(V2)])
    expect(r.stdout.toString().trimEnd().split('\n')).toHaveLength(1)
  })

  describe('errors: exit status 1, "error CODE: message (at byte N)", no stack trace', () => {
    const cases: Array<[string, string[], string | Buffer | undefined, RegExp]> = [
      [
        'a v1 port out of range',
        [],
        'PROXY TCP4 1.2.3.4 10.0.0.1 5678 99999\r\n',
        /^error ERR_PROXY_V1_BAD_PORT: .*\(at byte 33\)$/,
      ],
      [
        'a v1 bad address',
        [Buffer.from('PROXY TCP4 1.2.3 10.0.0.1 1 2\r\n').toString('hex')],
        undefined,
        /^error ERR_PROXY_V1_BAD_ADDRESS: .*\(at byte \d+\)$/,
      ],
      [
        'a v2 bad version nibble',
        [`${hex(V2.subarray(0, 12))}31${hex(V2.subarray(13))}`],
        undefined,
        /^error ERR_PROXY_V2_BAD_VERSION: .*\(at byte 12\)$/,
      ],
      [
        'a CRC32C mismatch',
        [`${hex(V2.subarray(0, -1))}00`],
        undefined,
        /^error ERR_PROXY_CRC32C_MISMATCH: .*\(at byte \d+\)$/,
      ],
      [
        'not a header at all',
        [Buffer.from('GET / HTTP/1.1\r\n').toString('hex')],
        undefined,
        /^error ERR_PROXY_HEADER_MISSING: .*\(at byte 0\)$/,
      ],
    ]
    for (const [name, args, input, pattern] of cases) {
      it(name, async () => {
        const r = await run(['decode', ...args], input)
        expect(r.status).toBe(1)
        expect(r.stdout.length).toBe(0)
        expect(r.stderr.trimEnd()).toMatch(pattern)
        expect(noStack(r.stderr)).toBe(true)
      })
    }

    it('reports a bad TLV value at its byte in the input', async () => {
      // NETNS must be printable ASCII: 0xff is the second byte of the value.
      const bad = encode({
        version: 2,
        family: 'IPv4',
        source: { address: '1.2.3.4', port: 1 },
        destination: { address: '5.6.7.8', port: 2 },
        tlvs: [tlv.alpn('h2'), { type: 0x30, value: Uint8Array.of(0x41, 0xff) }],
      })
      const r = await run(['decode', hex(bad)])
      expect(r.status).toBe(1)
      const offset = 16 + 12 + 5 + 3 + 1
      expect(bad[offset]).toBe(0xff)
      expect(r.stderr.trimEnd()).toMatch(
        new RegExp(`^error ERR_PROXY_TLV_INVALID: .*TLV 0x30 \\(at byte ${offset}\\)$`),
      )
    })

    it('treats an incomplete header as an error and says how many bytes were given', async () => {
      for (const input of [V1.slice(0, 20), Buffer.from(V2.subarray(0, 30))]) {
        const r = await run(['decode', '-'], input)
        expect(r.status).toBe(1)
        expect(r.stderr).toMatch(
          new RegExp(`^error ERR_PROXY_INPUT_INCOMPLETE: .*after ${input.length} bytes`),
        )
        expect(noStack(r.stderr)).toBe(true)
      }
    })

    it('reports a truncated hex argument as ERR_PROXY_INPUT_INCOMPLETE at the byte where it ends, and says so in --help', async () => {
      const r = await run(['decode', '0d0a0d0a000d0a51'])
      expect(r.status).toBe(1)
      expect(r.stderr.trimEnd()).toBe(
        'error ERR_PROXY_INPUT_INCOMPLETE: the input ends after 8 bytes, before the PROXY header is complete (at byte 8)',
      )
      expect((await run(['decode', '--help'])).stdout.toString()).toContain('ERR_PROXY_INPUT_INCOMPLETE')
    })

    it('rejects an argument that is not hex, and empty input', async () => {
      const r = await run(['decode', 'PROXY'])
      expect(r.status).toBe(1)
      expect(r.stderr).toMatch(/^error: "PROXY" is not an even number of hex digits/)
      const empty = await run(['decode', '-'], '')
      expect(empty.status).toBe(1)
      expect(empty.stderr).toMatch(/after 0 bytes/)
    })

    it('rejects an unknown option with a pointer to --help', async () => {
      const r = await run(['decode', '--nope'])
      expect(r.status).toBe(1)
      expect(r.stderr).toMatch(/^error: Unknown option '--nope'/)
      expect(r.stderr).toContain('proxyproto decode --help')
      expect(noStack(r.stderr)).toBe(true)
    })
  })
})
