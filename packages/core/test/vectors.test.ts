/**
 * Vectors modelled on other implementations' test suites, written as our own fixtures (hex / text):
 * - go:    pires/go-proxyproto v1_test.go, v2_test.go
 * - ranch: ninenines/ranch src/ranch_proxy_header.erl (parse_v1_test, parse_v2_test, parse_v2_regression_test,
 *          v2_tlvs_test)
 * - netty: netty/netty codec-haproxy HAProxyMessageDecoderTest.java
 * - envoy: envoyproxy/envoy test/extensions/filters/listener/proxy_protocol/proxy_protocol_test.cc
 * Where our result differs from theirs (e.g. 'incomplete' where a blocking reader reports EOF) the comment says so.
 */
import { ErrorCodes, SslClient, decodeSsl, decodeTlvs, encode, parse, tlv } from '@proxyproto/core'
import { describe, expect, it } from 'vitest'
import {
  AWS_NLB_HEX,
  SIG,
  ascii,
  concat,
  expectComplete,
  expectError,
  expectParseError,
  hex,
  toHex,
  v2hex,
} from './helpers.js'

const rest = (input: Uint8Array, length: number) => String.fromCharCode(...input.subarray(length))

describe('go-proxyproto vectors', () => {
  it('parses TCP4, TCP6 and IPv4-in-IPv6 v1 headers followed by data (v1_test.go valid cases)', () => {
    const cases = [
      ['PROXY TCP4 127.0.0.1 127.0.0.1 65533 65533\r\nGET /', 'IPv4', '127.0.0.1'],
      ['PROXY TCP6 ::1 ::1 65533 65533\r\nGET /', 'IPv6', '::1'],
      ['PROXY TCP6 ::ffff:127.0.0.1 ::ffff:127.0.0.1 65533 65533\r\nGET /', 'IPv6', '::ffff:127.0.0.1'],
    ] as const
    for (const [text, family, address] of cases) {
      const input = ascii(text)
      const { header, length } = expectComplete(input)
      expect(header.family).toBe(family)
      expect(header.source).toEqual({ address, port: 65533 })
      expect(rest(input, length)).toBe('GET /')
    }
  })

  it('accepts UNKNOWN with or without (even invalid) addresses', () => {
    expect(expectComplete(ascii('PROXY UNKNOWN\r\n')).header.family).toBe('UNSPEC')
    expect(expectComplete(ascii('PROXY UNKNOWN 127.0.0.1 127.0.0.1 99999 99999\r\n')).header.family).toBe(
      'UNSPEC',
    )
  })

  it('rejects the v1_test.go invalid cases', () => {
    expect(parse(ascii('PROX')).status).toBe('incomplete') // go: no PROXY protocol (EOF)
    expectParseError(ascii('PROXY\r\n'), ErrorCodes.V1_SYNTAX) // go: can't read family
    expectParseError(ascii('PROXY \n'), ErrorCodes.V1_SYNTAX)
    expectParseError(ascii('PROXY \r\n'), ErrorCodes.V1_BAD_PROTOCOL)
    expectParseError(ascii('PROXY SOMETHING\r\n'), ErrorCodes.V1_BAD_PROTOCOL)
    expect(parse(ascii('PROXY TCP4 127.0.0.1 127.0.0.1 65533 65533')).status).toBe('incomplete')
    expectParseError(ascii('PROXY TCP4 invalid invalid 65533 65533\r\n'), ErrorCodes.V1_BAD_ADDRESS)
    expectParseError(ascii('PROXY TCP6 127.0.0.1 127.0.0.1 65533 65533\r\n'), ErrorCodes.V1_BAD_ADDRESS)
    expectParseError(ascii('PROXY TCP4 ::1 ::1 65533 65533\r\n'), ErrorCodes.V1_BAD_ADDRESS)
    expectParseError(
      ascii('PROXY TCP4 ::ffff:127.0.0.1 ::ffff:127.0.0.1 65533 65533\r\n'),
      ErrorCodes.V1_BAD_ADDRESS,
    )
    expectParseError(ascii('PROXY TCP4 127.0.0.1 127.0.0.1 99999 99999\r\n'), ErrorCodes.V1_BAD_PORT)
    const long = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'
    expectParseError(ascii(`PROXY UNKNOWN ${long} ${long} 65535 65535 \r\n`), ErrorCodes.V1_TOO_LONG)
  })

  it('rejects a stream of spaces after "PROXY " without buffering it (issue #69 overflow test)', () => {
    expectParseError(ascii(`PROXY ${' '.repeat(16 * 4096)}`), ErrorCodes.V1_BAD_PROTOCOL)
  })

  it('handles the v2_test.go invalid cases', () => {
    expect(parse(hex(SIG).subarray(2)).status).toBe('absent') // truncated signature
    expect(parse(hex(SIG)).status).toBe('incomplete') // signature and nothing else
    expectParseError(hex(SIG, '99'), ErrorCodes.V2_BAD_VERSION) // invalid ver/cmd byte
    expect(parse(hex(SIG, '21')).status).toBe('incomplete') // command but nothing else
    expectParseError(hex(SIG, '21 99'), ErrorCodes.V2_BAD_FAMILY) // invalid family
    expect(parse(hex(SIG, '21 11')).status).toBe('incomplete') // TCPv4 but no length
    expect(parse(hex(SIG, '21 11 99')).status).toBe('incomplete') // half a length
    expect(parse(hex(SIG, '20 00')).status).toBe('incomplete') // LOCAL UNSPEC but no length
    expect(parse(hex(SIG, '21 11 000c')).status).toBe('incomplete') // go: EOF; we wait for the addresses
    expect(parse(hex(SIG, '21 21 0024')).status).toBe('incomplete')
    expectParseError(hex(SIG, '21 11 0000', '00'.repeat(36)), ErrorCodes.V2_LENGTH_TOO_SHORT) // length 0 + addresses
    expect(parse(hex(SIG, '21 21 0024', '7f000001 7f000001 fffd fffd')).status).toBe('incomplete') // v6 length, v4 body
  })

  it('parses the v2_test.go valid cases', () => {
    const v4 = '7f000001 7f000001 fffd fffd' // 127.0.0.1:65533 twice
    const v6 = `${'00'.repeat(15)}01 ${'00'.repeat(15)}01 fffd fffd` // ::1:65533 twice
    const sock = toHex(ascii('socket')) + '00'.repeat(102)
    expect(expectComplete(hex(v2hex('20', '11', v4))).header).toMatchObject({
      command: 'LOCAL',
      family: 'UNSPEC',
    })
    expect(expectComplete(hex(v2hex('20', '00', ''))).header).toMatchObject({ command: 'LOCAL' })
    expect(expectComplete(hex(v2hex('21', '11', v4))).header.source).toEqual({
      address: '127.0.0.1',
      port: 65533,
    })
    expect(expectComplete(hex(v2hex('21', '21', v6))).header.source).toEqual({ address: '::1', port: 65533 })
    expect(expectComplete(hex(v2hex('21', '12', v4))).header.transport).toBe('DGRAM')
    expect(expectComplete(hex(v2hex('21', '22', v6))).header.transport).toBe('DGRAM')
    expect(expectComplete(hex(v2hex('21', '31', sock + sock))).header.source).toEqual({ path: 'socket' })
    expect(expectComplete(hex(v2hex('21', '32', sock + sock))).header.destination).toEqual({ path: 'socket' })
  })

  it('skips zero padding up to length 84 and leaves the tail bytes (TestParseV2Padded)', () => {
    const tail = '999798'
    const v4 = hex(SIG, '21 11 0054', '7f000001 7f000001 fffd fffd', '00'.repeat(72), tail)
    const r4 = expectComplete(v4)
    expect(r4.length).toBe(100)
    expect(r4.header.tlvs).toHaveLength(24) // 72 zero bytes = 24 empty TLVs of type 0
    expect(toHex(v4.subarray(r4.length))).toBe(tail)
    const v6 = hex(
      SIG,
      '21 21 0054',
      `${'00'.repeat(15)}01 ${'00'.repeat(15)}01 fffd fffd`,
      '00'.repeat(48),
      tail,
    )
    const r6 = expectComplete(v6)
    expect(r6.header.tlvs).toHaveLength(16)
    expect(toHex(v6.subarray(r6.length))).toBe(tail)
  })

  it('refuses to encode a TLV of 65536 bytes (TestV2TLVFormatTooLargeTLV)', () => {
    const h = {
      version: 2 as const,
      family: 'IPv4' as const,
      source: { address: '127.0.0.1', port: 1 },
      destination: { address: '127.0.0.1', port: 1 },
    }
    expectError(
      () => encode({ ...h, tlvs: [{ type: 0xff, value: new Uint8Array(1 << 16) }] }),
      ErrorCodes.ENCODE_INVALID,
    )
    expectError(
      () => encode({ ...h, command: 'LOCAL', tlvs: [{ type: 0xff, value: new Uint8Array(1 << 16) }] }),
      ErrorCodes.ENCODE_INVALID,
    )
  })
})

describe('Erlang ranch vectors', () => {
  it('parses the spec examples (parse_v1_test)', () => {
    const v4 = expectComplete(ascii('PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n'))
    expect(v4.header.source).toEqual({ address: '255.255.255.255', port: 65535 })
    const f = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'
    const v6 = expectComplete(ascii(`PROXY TCP6 ${f} ${f} 65535 65535\r\n`))
    expect(v6.header.destination).toEqual({ address: f, port: 65535 })
    expect(expectComplete(ascii(`PROXY UNKNOWN ${f} ${f} 65535 65535\r\n`)).header.family).toBe('UNSPEC')
  })

  it('returns the length of the line and leaves the request (parse_v1_test)', () => {
    const input = ascii(
      'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n',
    )
    const { length } = expectComplete(input)
    expect(rest(input, length)).toBe('GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n')
    const partial = ascii('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r')
    expect(rest(partial, expectComplete(partial).length)).toBe('GET / HTTP/1.1\r')
  })

  it('rejects the malformed lines of parse_v1_test (from tomciopp/proxy_protocol)', () => {
    expectParseError(
      ascii('PROXY TCP4 192.1638.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r'),
      ErrorCodes.V1_BAD_ADDRESS,
    )
    expectParseError(
      ascii('PROXY TCP4 192.168.0.1 192.168.0.11 1111111 443\r\nGET / HTTP/1.1\r'),
      ErrorCodes.V1_BAD_PORT,
    )
    expectParseError(
      ascii(
        'PROXY TCP6 2001:0db8:0000:0042:0000:8a2e:0370:7334 2001:0db8:00;0:0042:0000:8a2e:0370:7335 4124 443\r\n',
      ),
      ErrorCodes.V1_BAD_ADDRESS,
    )
    expectParseError(
      ascii(
        'PROXY TCP6 2001:0db8:0000:0042:0000:8a2e:0370:7334 2001:0db8:0000:0042:0000:8a2e:0370:7335 4124 foo\r\n',
      ),
      ErrorCodes.V1_BAD_PORT,
    )
  })

  it('canonicalises the zero-padded TCP6 addresses of parse_v1_test', () => {
    const input = ascii(
      'PROXY TCP6 2001:0db8:0000:0042:0000:8a2e:0370:7334 2001:0db8:0000:0042:0000:8a2e:0370:7335 4124 443\r\nGET / HTTP/1.1\r',
    )
    const { header, length } = expectComplete(input)
    expect(header.source).toEqual({ address: '2001:db8:0:42:0:8a2e:370:7334', port: 4124 })
    expect(header.destination).toEqual({ address: '2001:db8:0:42:0:8a2e:370:7335', port: 443 })
    expect(rest(input, length)).toBe('GET / HTTP/1.1\r')
  })

  it('accepts UNKNOWN with trailing fields and leaves the request (parse_v1_test)', () => {
    const input = ascii('PROXY UNKNOWN 4124 443\r\nGET / HTTP/1.1\r')
    expect(rest(input, expectComplete(input).length)).toBe('GET / HTTP/1.1\r')
  })

  it('parses the binary headers of parse_v2_test', () => {
    const get = toHex(ascii('GET / HTTP/1.1\r\n'))
    const v4 = '7f000001 c0a80001 01bc 01bb' // 127.0.0.1:444 -> 192.168.0.1:443
    for (const [fam, transport] of [
      ['11', 'STREAM'],
      ['12', 'DGRAM'],
    ] as const) {
      const input = hex(v2hex('21', fam, v4), get)
      const { header, length } = expectComplete(input)
      expect(header).toMatchObject({
        transport,
        source: { address: '127.0.0.1', port: 444 },
        destination: { address: '192.168.0.1', port: 443 },
      })
      expect(rest(input, length)).toBe('GET / HTTP/1.1\r\n')
    }
    const v6 = '159c1090000100000000000000000000 20010db8000100000000000000000000 01bc 01bb'
    for (const fam of ['21', '22']) {
      const { header } = expectComplete(hex(v2hex('21', fam, v6), get))
      expect(header.source).toEqual({ address: '159c:1090:1::', port: 444 })
      expect(header.destination).toEqual({ address: '2001:db8:1::', port: 443 })
    }
    const path = toHex(ascii('/var/pgsql_sock')) + '00'.repeat(108 - 15)
    for (const fam of ['31', '32']) {
      const input = hex(v2hex('21', fam, path + path), get)
      const { header, length } = expectComplete(input)
      expect(header.source).toEqual({ path: '/var/pgsql_sock' })
      expect(rest(input, length)).toBe('GET / HTTP/1.1\r\n')
    }
  })

  it('accepts the real AWS NLB header with its CRC32C, VPC endpoint and NOOP TLVs (parse_v2_regression_test)', () => {
    const input = hex(AWS_NLB_HEX)
    const { header, length } = expectComplete(input)
    expect(length).toBe(input.length)
    expect(header).toMatchObject({
      version: 2,
      command: 'PROXY',
      family: 'IPv4',
      transport: 'STREAM',
      source: { address: '172.31.7.113', port: 51442 },
      destination: { address: '172.31.10.31', port: 80 },
    })
    const decoded = decodeTlvs(header.tlvs)
    expect(decoded.awsVpceId).toBe('vpce-08d2bf15fac5001c9')
    expect(decoded.crc32c).toBe(0xe8d6892d)
    expect(decoded.unknown).toEqual([]) // NOOP is dropped
  })

  it('round-trips the TLVs of v2_tlvs_test through encode and parse', () => {
    const common = {
      version: 2 as const,
      family: 'IPv4' as const,
      source: { address: '127.0.0.1', port: 1234 },
      destination: { address: '10.11.12.13', port: 23456 },
    }
    const enc = new TextEncoder()
    const ssl = tlv.ssl({
      client: SslClient.SSL | SslClient.CERT_CONN | SslClient.CERT_SESS,
      verify: 0,
      tlvs: [
        { type: 0x21, value: enc.encode('TLSv1.3') },
        { type: 0x22, value: enc.encode('example.com') },
        { type: 0x23, value: enc.encode('ECDHE-RSA-AES128-GCM-SHA256') },
        { type: 0x24, value: enc.encode('SHA256') },
        { type: 0x25, value: enc.encode('RSA2048') },
      ],
    })
    const uniqueId = Uint8Array.from({ length: 77 }, (_, i) => (i * 37) & 0xff)
    const raw = [
      { type: 0xea, value: concat(hex('01'), ascii('instance-id')) },
      { type: 0xff, value: hex('01020304050607080900') },
    ]
    const h = encode(
      {
        ...common,
        tlvs: [
          tlv.alpn('h2'),
          tlv.authority('internal.example.org'),
          tlv.netns('/var/run/netns/example'),
          ssl,
          tlv.uniqueId(uniqueId),
          ...raw,
        ],
      },
      { crc32c: true, padTo: 400 },
    )
    expect(h.length).toBe(400)
    const { header } = expectComplete(h)
    expect(header.source).toEqual(common.source)
    const d = decodeTlvs(header.tlvs)
    expect(d.alpn).toBe('h2')
    expect(d.authority).toBe('internal.example.org')
    expect(d.netns).toBe('/var/run/netns/example')
    expect(d.uniqueId).toEqual(uniqueId)
    expect(d.awsVpceId).toBe('instance-id')
    expect(d.unknown.map((t) => [t.type, toHex(t.value)])).toEqual([[0xff, '01020304050607080900']])
    expect(d.ssl).toMatchObject({
      ssl: true,
      certInConnection: true,
      certInSession: true,
      verified: true,
      version: 'TLSv1.3',
      cn: 'example.com',
      cipher: 'ECDHE-RSA-AES128-GCM-SHA256',
      sigAlg: 'SHA256',
      keyAlg: 'RSA2048',
    })
    expect(decodeSsl(header.tlvs.find((t) => t.type === 0x20)!.value).client).toBe(7)
  })
})

describe('Netty HAProxyMessageDecoderTest vectors', () => {
  it('decodes v1 IPv4, IPv6 and UNKNOWN', () => {
    const v4 = expectComplete(ascii('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n')).header
    expect(v4).toMatchObject({
      source: { address: '192.168.0.1', port: 56324 },
      destination: { address: '192.168.0.11', port: 443 },
    })
    const v6 = expectComplete(
      ascii('PROXY TCP6 2001:0db8:85a3:0000:0000:8a2e:0370:7334 1050:0:0:0:5:600:300c:326b 56324 443\r\n'),
    ).header
    // Netty keeps the text as sent; we return Node's canonical form
    expect(v6.source).toEqual({ address: '2001:db8:85a3::8a2e:370:7334', port: 56324 })
    expect(v6.destination).toEqual({ address: '1050::5:600:300c:326b', port: 443 })
    const unknown = expectComplete(ascii('PROXY UNKNOWN 192.168.0.1 192.168.0.11 56324 443\r\n')).header
    expect(unknown).toEqual({ version: 1, command: 'PROXY', family: 'UNSPEC', transport: 'UNSPEC', tlvs: [] })
  })

  it('rejects the invalid v1 lines', () => {
    const cases = [
      ['PROXY UDP4 192.168.0.1 192.168.0.11 56324 443\r\n', ErrorCodes.V1_BAD_PROTOCOL],
      ['PROXY TCP4 192.168.0.1 192.168.0.11 80000 443\r\n', ErrorCodes.V1_BAD_PORT],
      ['PROXY TCP4 299.168.0.1 192.168.0.11 56324 443\r\n', ErrorCodes.V1_BAD_ADDRESS],
      [
        'PROXY TCP6 r001:0db8:85a3:0000:0000:8a2e:0370:7334 1050:0:0:0:5:600:300c:326b 56324 443\r\n',
        ErrorCodes.V1_BAD_ADDRESS,
      ],
      ['PROXY TCP7 192.168.0.1 192.168.0.11 56324 443\r\n', ErrorCodes.V1_BAD_PROTOCOL],
      ['PROXY TCP4 192.168.0.1 192.168.0.11 56324\r\n', ErrorCodes.V1_SYNTAX],
      ['PROXY TCP4 192.168.0.1 192.168.0.11 56324 443 123\r\n', ErrorCodes.V1_SYNTAX],
      ['PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\nGET / HTTP/1.1\r\n', ErrorCodes.V1_SYNTAX],
    ] as const
    for (const [text, code] of cases) expectParseError(ascii(text), code)
  })

  it('reports a wrong command word and an HTTP request as absent, and a partial line as incomplete', () => {
    expect(parse(ascii('PING TCP4 192.168.0.1 192.168.0.11 56324 443\r\n')).status).toBe('absent')
    expect(parse(ascii('GET / HTTP/1.1\r\n')).status).toBe('absent')
    expect(parse(ascii('PROXY TCP4 192.168.0.1 192.168.0.11 56324')).status).toBe('incomplete')
  })

  it('decodes v2 TCP4, UDP4, TCP6 and UNIX_STREAM', () => {
    const v4 = 'c0a80001 c0a8000b dc04 01bb'
    expect(expectComplete(hex(v2hex('21', '11', v4))).header).toMatchObject({
      transport: 'STREAM',
      source: { address: '192.168.0.1', port: 56324 },
      destination: { address: '192.168.0.11', port: 443 },
    })
    expect(expectComplete(hex(v2hex('21', '12', v4))).header.transport).toBe('DGRAM')
    const v6 = '20010db885a3000000008a2e03707334 10500000000000000005060030 0c326b dc04 01bb'
    expect(expectComplete(hex(v2hex('21', '21', v6))).header).toMatchObject({
      source: { address: '2001:db8:85a3::8a2e:370:7334' },
      destination: { address: '1050::5:600:300c:326b' },
    })
    const path = (p: string) => toHex(ascii(p)) + '00'.repeat(108 - p.length)
    const unix = path('/var/run/src.sock') + path('/var/run/dest.sock')
    expect(expectComplete(hex(v2hex('21', '31', unix))).header).toMatchObject({
      source: { path: '/var/run/src.sock' },
      destination: { path: '/var/run/dest.sock' },
    })
    // testV2WithTLV: the same UNIX header plus a one-byte ALPN TLV
    const withTlv = expectComplete(hex(v2hex('21', '31', `${unix} 01 0001 01`)))
    expect(withTlv.length).toBe(236)
    expect(withTlv.header.tlvs.map((t) => [t.type, toHex(t.value)])).toEqual([[1, '01']])
  })

  it('decodes LOCAL with an address block as LOCAL without addresses', () => {
    const { header, length } = expectComplete(hex(v2hex('20', '00', 'c0a80001 c0a8000b dc04 01bb')))
    expect(header).toEqual({ version: 2, command: 'LOCAL', family: 'UNSPEC', transport: 'UNSPEC', tlvs: [] })
    expect(length).toBe(28)
  })

  it('rejects a bogus family, a short length, a bogus command and a bogus version', () => {
    expectParseError(hex(v2hex('21', '41', 'c0a80001 c0a8000b dc04 01bb')), ErrorCodes.V2_BAD_FAMILY)
    expectParseError(hex(SIG, '21 11 000a', 'c0a80001 c0a8000b dc04'), ErrorCodes.V2_LENGTH_TOO_SHORT)
    expectParseError(hex(v2hex('22', '11', 'c0a80001 c0a8000b dc04 01bb')), ErrorCodes.V2_BAD_COMMAND)
    expectParseError(hex(v2hex('31', '11', 'c0a80001 c0a8000b dc04 01bb')), ErrorCodes.V2_BAD_VERSION)
  })
})

describe('Envoy proxy_protocol_test vectors', () => {
  const more = toHex(ascii('more data'))

  it('parses V1Basic, BasicV6 and V1Minimal and leaves "more data"', () => {
    for (const [text, address] of [
      ['PROXY TCP4 1.2.3.4 253.253.253.253 65535 1234\r\n', '1.2.3.4'],
      ['PROXY TCP6 1:2:3::4 5:6::7:8 65535 1234\r\n', '1:2:3::4'],
      ['PROXY UNKNOWN\r\n', undefined],
    ] as const) {
      const input = ascii(`${text}more data`)
      const { header, length } = expectComplete(input)
      expect((header.source as { address?: string } | undefined)?.address).toBe(address)
      expect(rest(input, length)).toBe('more data')
    }
  })

  it('parses V2Basic and V2BasicV6', () => {
    const v4 = hex(v2hex('21', '11', '01020304 00010102 0305 0002'), more)
    const r4 = expectComplete(v4)
    expect(r4.header.source).toEqual({ address: '1.2.3.4', port: 0x0305 })
    expect(r4.header.destination).toEqual({ address: '0.1.1.2', port: 2 })
    expect(rest(v4, r4.length)).toBe('more data')
    const v6 = hex(
      v2hex('21', '22', '0001000200030000000000000000 0004 0005000600000000000000000007 0008 0000 0002'),
      more,
    )
    const r6 = expectComplete(v6)
    expect(r6.header.source).toEqual({ address: '1:2:3::4', port: 0 })
    expect(r6.header.destination).toEqual({ address: '5:6::7:8', port: 2 })
    expect(rest(v6, r6.length)).toBe('more data')
  })

  it('parses V2LocalConnection, V2LocalConnectionExtension and the AWS NLB health-check LOCAL header', () => {
    for (const body of ['', '0000 01ff', '0000 040a 0b0c 0d']) {
      const input = hex(v2hex('20', '00', body), more)
      const { header, length } = expectComplete(input)
      expect(header.command).toBe('LOCAL')
      expect(rest(input, length)).toBe('more data')
    }
  })

  it('rejects V2UnsupportedAF, V2NotLocalOrOnBehalf and the short-length headers', () => {
    expectParseError(hex(v2hex('21', '41', '01020304 00010102 0305 0002'), more), ErrorCodes.V2_BAD_FAMILY)
    expectParseError(hex(v2hex('23', '1f', '01020304 00010102 0305 0002'), more), ErrorCodes.V2_BAD_COMMAND)
    expectParseError(hex(SIG, '21 21 0004 0008 0002', more), ErrorCodes.V2_LENGTH_TOO_SHORT) // V2ShortV4
    expectParseError(hex(SIG, '21 11 000b 01020304 00010102 0305 0002', more), ErrorCodes.V2_LENGTH_TOO_SHORT) // V2ShortAddrV4
    expectParseError(hex(SIG, '21 22 0014', '00'.repeat(20), more), ErrorCodes.V2_LENGTH_TOO_SHORT) // V2ShortV6
    expectParseError(hex(SIG, '21 22 0023', '00'.repeat(35), more), ErrorCodes.V2_LENGTH_TOO_SHORT) // V2ShortAddrV6
  })
})
