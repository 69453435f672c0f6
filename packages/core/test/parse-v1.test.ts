/**
 * PROXY protocol v1 (spec §2.1): "PROXY" SP ("TCP4" | "TCP6" | "UNKNOWN") SP src SP dst SP sport SP dport CRLF,
 * at most 107 bytes. Fixtures are the human-readable lines, converted to bytes with ascii().
 */
import { ErrorCodes, type InetAddress, ProxyProtocolError, V1_MAX_LENGTH, parse } from '@proxyproto/core'
import { SocketAddress } from 'node:net'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ascii, concat, expectComplete, expectParseError, expectPrefixesIncomplete } from './helpers.js'

const TCP4 = 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n'
const TCP6 = 'PROXY TCP6 2001:db8::1 2001:db8::2 56324 443\r\n'

// 11 + 45 + 1 + 36 + 1 + 11 + 2 = 107 bytes: the longest TCP6 line the 107-byte limit admits.
const WORST_TCP6_SRC = 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255'
const WORST_TCP6_DST = 'ffff:ffff:ffff:ffff:ffff:fff:1.2.3.4'
const WORST_TCP6 = `PROXY TCP6 ${WORST_TCP6_SRC} ${WORST_TCP6_DST} 65535 65535\r\n`
// The spec's own worst case (§2.1).
const WORST_UNKNOWN =
  'PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n'

const line = (src: string, dst: string, sport = '56324', dport = '443', proto = 'TCP4') =>
  ascii(`PROXY ${proto} ${src} ${dst} ${sport} ${dport}\r\n`)

describe('v1 TCP4', () => {
  it('parses a TCP4 header and reports its length up to and including CRLF', () => {
    const { header, length } = expectComplete(ascii(TCP4))
    expect(header).toEqual({
      version: 1,
      command: 'PROXY',
      family: 'IPv4',
      transport: 'STREAM',
      source: { address: '192.168.0.1', port: 56324 },
      destination: { address: '192.168.0.11', port: 443 },
      tlvs: [],
    })
    expect(length).toBe(TCP4.length)
  })

  it('does not consume the application data that follows the CRLF', () => {
    const input = ascii(`${TCP4}GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n`)
    const { length } = expectComplete(input)
    expect(length).toBe(TCP4.length)
    expect(String.fromCharCode(...input.subarray(length))).toBe(
      'GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n',
    )
  })

  it('parses the spec example with all-ones addresses and the highest ports', () => {
    const { header } = expectComplete(ascii('PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n'))
    expect(header.source).toEqual({ address: '255.255.255.255', port: 65535 })
    expect(header.destination).toEqual({ address: '255.255.255.255', port: 65535 })
  })

  it('accepts 0.0.0.0 and port 0', () => {
    const { header } = expectComplete(line('0.0.0.0', '10.0.0.1', '0', '0'))
    expect(header.source).toEqual({ address: '0.0.0.0', port: 0 })
    expect(header.destination).toEqual({ address: '10.0.0.1', port: 0 })
  })
})

describe('v1 TCP6', () => {
  it('parses a TCP6 header', () => {
    const { header, length } = expectComplete(ascii(TCP6))
    expect(header).toMatchObject({
      version: 1,
      command: 'PROXY',
      family: 'IPv6',
      transport: 'STREAM',
      source: { address: '2001:db8::1', port: 56324 },
      destination: { address: '2001:db8::2', port: 443 },
      tlvs: [],
    })
    expect(length).toBe(TCP6.length)
  })

  it('canonicalises uncompressed and upper-case IPv6 addresses as Node formats remoteAddress', () => {
    const { header } = expectComplete(
      line('2001:0DB8:0000:0000:0000:0000:0000:0001', 'FE80::ABCD', '1', '2', 'TCP6'),
    )
    expect(header.source).toEqual({ address: '2001:db8::1', port: 1 })
    expect(header.destination).toEqual({ address: 'fe80::abcd', port: 2 })
  })

  it('formats IPv4-mapped and IPv4-compatible addresses with a dotted quad', () => {
    const { header } = expectComplete(line('::ffff:7f00:1', '::102:304', '1', '2', 'TCP6'))
    expect(header.source).toMatchObject({ address: '::ffff:127.0.0.1' })
    expect(header.destination).toMatchObject({ address: '::1.2.3.4' })
  })

  it('parses the spec example with all-ones IPv6 addresses', () => {
    const a = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'
    const { header } = expectComplete(line(a, a, '65535', '65535', 'TCP6'))
    expect(header.source).toEqual({ address: a, port: 65535 })
  })

  it('accepts a valid 107-byte worst-case TCP6 header', () => {
    const input = ascii(WORST_TCP6)
    expect(input.length).toBe(V1_MAX_LENGTH)
    const { header, length } = expectComplete(concat(input, ascii('payload')))
    expect(length).toBe(107)
    expect(header.source).toEqual({ address: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', port: 65535 })
    expect(header.destination).toEqual({ address: 'ffff:ffff:ffff:ffff:ffff:fff:102:304', port: 65535 })
  })

  it('rejects the same TCP6 header one byte longer (108 bytes) as too long', () => {
    const input = ascii(`PROXY TCP6 ${WORST_TCP6_SRC} ffff:ffff:ffff:ffff:ffff:ffff:1.2.3.4 65535 65535\r\n`)
    expect(input.length).toBe(108)
    expectParseError(input, ErrorCodes.V1_TOO_LONG)
  })

  it('accepts the unspecified address ::', () => {
    const { header } = expectComplete(line('::', '::1', '1', '2', 'TCP6'))
    expect(header.source).toMatchObject({ address: '::' })
    expect(header.destination).toMatchObject({ address: '::1' })
  })
})

describe('v1 UNKNOWN', () => {
  it('accepts the short form PROXY UNKNOWN CRLF with family UNSPEC and no addresses', () => {
    const { header, length } = expectComplete(ascii('PROXY UNKNOWN\r\n'))
    expect(header).toEqual({ version: 1, command: 'PROXY', family: 'UNSPEC', transport: 'UNSPEC', tlvs: [] })
    expect(header.source).toBeUndefined()
    expect(header.destination).toBeUndefined()
    expect(length).toBe(15)
  })

  it('accepts the long form PROXY UNKNOWN anything CRLF and ignores what follows UNKNOWN', () => {
    for (const rest of [' anything', ' ', ' 1.2.3.4 5.6.7.8 99999 99999', ' \x00\xff\r junk', ' 4124 443']) {
      const text = `PROXY UNKNOWN${rest}\r\n`
      const { header, length } = expectComplete(ascii(`${text}GET /`))
      expect(header.family).toBe('UNSPEC')
      expect(header.source).toBeUndefined()
      expect(length).toBe(text.length)
    }
  })

  it('accepts the spec worst case of exactly 107 bytes', () => {
    expect(WORST_UNKNOWN.length).toBe(107)
    const { header, length } = expectComplete(ascii(WORST_UNKNOWN))
    expect(header.family).toBe('UNSPEC')
    expect(length).toBe(107)
  })

  it('rejects UNKNOWN run together with other characters', () => {
    expectParseError(ascii('PROXY UNKNOWNX\r\n'), ErrorCodes.V1_BAD_PROTOCOL)
    expectParseError(ascii('PROXY UNKNOWN\tx\r\n'), ErrorCodes.V1_BAD_PROTOCOL)
  })

  it('rejects a truncated UNKNOWN keyword', () => {
    expectParseError(ascii('PROXY UNKNOW\r\n'), ErrorCodes.V1_BAD_PROTOCOL)
  })
})

describe('v1 protocol keyword', () => {
  it('rejects protocols other than TCP4, TCP6 and UNKNOWN', () => {
    for (const proto of ['TCP5', 'TCP7', 'UDP4', 'UDP6', 'tcp4', 'SOMETHING', 'TCP46']) {
      const err = expectParseError(line('1.2.3.4', '5.6.7.8', '1', '2', proto), ErrorCodes.V1_BAD_PROTOCOL)
      expect(err.offset).toBe(6)
    }
  })

  it('rejects PROXY followed directly by CRLF', () => {
    expectParseError(ascii('PROXY \r\n'), ErrorCodes.V1_BAD_PROTOCOL)
  })

  it('rejects TCP4 without addresses', () => {
    expectParseError(ascii('PROXY TCP4\r\n'), ErrorCodes.V1_SYNTAX)
    expectParseError(ascii('PROXY TCP4 \r\n'), ErrorCodes.V1_BAD_ADDRESS)
  })

  it('treats bytes that cannot begin "PROXY" as absent', () => {
    expect(parse(ascii('PING TCP4 192.168.0.1 192.168.0.11 56324 443\r\n')).status).toBe('absent')
    expect(parse(ascii('proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n')).status).toBe('absent')
    expect(parse(ascii('PROXIES\r\n')).status).toBe('absent')
    expect(parse(ascii('PROX')).status).toBe('incomplete')
  })

  // §2.1: the five bytes "PROXY" identify v1 (go-proxyproto and ranch refuse these too).
  it.each(['PROXY\tTCP4 1.2.3.4 5.6.7.8 1 2\r\n', 'PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n', 'PROXY\r\n', 'PROXY\n', 'PROXY  TCP4', 'PROXY\t'])(
    'rejects "PROXY" followed by anything but a single space (%j) as a malformed v1 header',
    (text) => {
      const err = expectParseError(ascii(text), text.startsWith('PROXY ') ? ErrorCodes.V1_BAD_PROTOCOL : ErrorCodes.V1_SYNTAX)
      expect(err.offset).toBe(text.startsWith('PROXY ') ? 6 : 5)
    },
  )
})

describe('v1 separators and line ending', () => {
  it('rejects a double space between any two fields', () => {
    const base = 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n'
    const expected = [
      ErrorCodes.V1_BAD_PROTOCOL, // after PROXY
      ErrorCodes.V1_BAD_ADDRESS, // after TCP4
      ErrorCodes.V1_BAD_ADDRESS, // after the source address
      ErrorCodes.V1_BAD_PORT, // after the destination address
      ErrorCodes.V1_BAD_PORT, // after the source port
    ]
    const spaces = [...base].flatMap((c, i) => (c === ' ' ? [i] : []))
    expect(spaces).toHaveLength(5)
    spaces.forEach((at, k) => {
      const doubled = `${base.slice(0, at)} ${base.slice(at)}`
      expectParseError(ascii(doubled), expected[k]!)
      // also before the line is complete
      expectParseError(ascii(doubled.slice(0, at + 2)), expected[k]!)
    })
  })

  it('rejects a trailing space before the CRLF', () => {
    expectParseError(ascii('PROXY TCP4 1.2.3.4 5.6.7.8 80 443 \r\n'), ErrorCodes.V1_SYNTAX)
  })

  it('rejects a tab used as a separator', () => {
    expectParseError(ascii('PROXY TCP4 1.2.3.4\t5.6.7.8 80 443\r\n'), ErrorCodes.V1_BAD_ADDRESS)
  })

  it('rejects a bare LF line ending and points at the LF', () => {
    const text = 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\nGET / HTTP/1.1\r\n'
    const err = expectParseError(ascii(text), ErrorCodes.V1_SYNTAX)
    expect(err.offset).toBe(text.indexOf('\n'))
    expectParseError(ascii('PROXY \n'), ErrorCodes.V1_SYNTAX)
    expectParseError(ascii('PROXY UNKNOWN\n'), ErrorCodes.V1_SYNTAX)
    expectParseError(ascii('PROXY UNKNOWN foo\n'), ErrorCodes.V1_SYNTAX)
  })

  it('rejects a CR that is not followed by LF', () => {
    expectParseError(ascii('PROXY TCP4 1.2.3.4 5.6.7.8 80 443\rX'), ErrorCodes.V1_BAD_PORT)
    expectParseError(ascii('PROXY TCP4 1.2.3.4 5.6.7.8 80 443\r\r\n'), ErrorCodes.V1_BAD_PORT)
    expectParseError(ascii('PROXY UNKNOWN\rX'), ErrorCodes.V1_BAD_PROTOCOL)
    expectParseError(ascii('PROXY TCP4 1.2.3.4\r5.6.7.8 80 443\r\n'), ErrorCodes.V1_BAD_ADDRESS)
  })

  it('rejects a header with a missing field', () => {
    expectParseError(ascii('PROXY TCP4 192.168.0.1 192.168.0.11 56324\r\n'), ErrorCodes.V1_SYNTAX)
    expectParseError(ascii('PROXY TCP4 192.168.0.1 192.168.0.11\r\n'), ErrorCodes.V1_SYNTAX)
    expectParseError(ascii('PROXY TCP4 192.168.0.1\r\n'), ErrorCodes.V1_SYNTAX)
  })

  it('rejects extra fields after the destination port', () => {
    const err = expectParseError(
      ascii('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443 123\r\n'),
      ErrorCodes.V1_SYNTAX,
    )
    expect(err.offset).toBe('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443'.length)
  })
})

describe('v1 length limit', () => {
  it('rejects 107 bytes without an LF with ERR_PROXY_V1_TOO_LONG', () => {
    const input = ascii(`PROXY UNKNOWN ${'x'.repeat(93)}`)
    expect(input.length).toBe(107)
    expectParseError(input, ErrorCodes.V1_TOO_LONG)
  })

  it('applies a maxHeaderSize below 107 to v1 lines too', () => {
    const line = ascii(TCP4) // 47 bytes
    expect(parse(line, { maxHeaderSize: 47 }).status).toBe('complete')
    const err = expectParseError(line, ErrorCodes.HEADER_TOO_LARGE, { maxHeaderSize: 46 })
    expect(err.offset).toBe(45)
    expect(parse(line.subarray(0, 45), { maxHeaderSize: 46 }).status).toBe('incomplete')
  })

  it('still waits for more bytes at 106 bytes without an LF', () => {
    expect(parse(ascii(`PROXY UNKNOWN ${'x'.repeat(92)}`)).status).toBe('incomplete')
    expect(parse(ascii(`PROXY UNKNOWN ${'x'.repeat(91)}\r`)).status).toBe('incomplete')
  })

  it('rejects 107 bytes ending in CR, since the LF would be the 108th byte', () => {
    const input = ascii(`PROXY UNKNOWN ${'x'.repeat(92)}\r`)
    expect(input.length).toBe(107)
    expectParseError(input, ErrorCodes.V1_TOO_LONG)
  })

  it('rejects a 108-byte UNKNOWN line even when the CRLF arrives in the same read', () => {
    const input = ascii(`PROXY UNKNOWN ${'x'.repeat(92)}\r\n`)
    expect(input.length).toBe(108)
    expectParseError(input, ErrorCodes.V1_TOO_LONG)
  })

  it('rejects a 100 KB line of spaces as too long', () => {
    expectParseError(ascii(`PROXY UNKNOWN${' '.repeat(100_000)}`), ErrorCodes.V1_TOO_LONG)
  })

  it('rejects a port padded with zeros to an overlong line', () => {
    // Netty HAProxyMessageDecoderTest.testHeaderTooLong
    const text = `PROXY TCP4 192.168.0.1 192.168.0.11 56324 ${'0'.repeat(64)}443\r\n`
    expect(() => parse(ascii(text))).toThrow(ProxyProtocolError)
  })
})

describe('v1 IPv4 addresses', () => {
  it.each([
    ['leading zero in the first octet', '01.2.3.4'],
    ['leading zero in an inner octet', '192.168.000.1'],
    ['a zero-padded octet', '1.02.3.4'],
    ['octet 256', '1.2.3.256'],
    ['octet 299', '299.168.0.1'],
    ['a four-digit octet', '192.1638.0.1'],
    ['three octets', '1.2.3'],
    ['five octets', '1.2.3.4.5'],
    ['an empty octet', '1..3.4'],
    ['a trailing dot', '1.2.3.4.'],
    ['a leading dot', '.1.2.3'],
    ['a sign', '+1.2.3.4'],
    ['hex notation', '0x7f.0.0.1'],
    ['a single number', '3232235521'],
    ['a word', 'invalid'],
    ['an IPv6 address', '::1'],
    ['an IPv4-mapped IPv6 address', '::ffff:127.0.0.1'],
  ])('rejects a TCP4 address with %s (%s)', (_what, address) => {
    expectParseError(line(address, '10.0.0.1'), ErrorCodes.V1_BAD_ADDRESS)
    expectParseError(line('10.0.0.1', address), ErrorCodes.V1_BAD_ADDRESS)
  })

  it('points the offset at the start of the bad address', () => {
    const err = expectParseError(line('10.0.0.1', '10.0.0.256'), ErrorCodes.V1_BAD_ADDRESS)
    expect(err.offset).toBe('PROXY TCP4 10.0.0.1 '.length)
  })
})

describe('v1 IPv6 addresses', () => {
  it.each([
    ['a zone id', 'fe80::1%eth0'],
    ['a numeric zone id', 'fe80::1%1'],
    ['brackets', '[::1]'],
    ['a non-hex digit', 'r001:0db8:85a3:0000:0000:8a2e:0370:7334'],
    ['a stray punctuation character', '2001:0db8:00;0:0042:0000:8a2e:0370:7335'],
    ['two "::"', '1::2::3'],
    ['":::"', ':::1'],
    ['a single leading colon', ':1:2:3:4:5:6:7'],
    ['a single trailing colon', '1:2:3:4:5:6:7:'],
    ['nine groups', '1:2:3:4:5:6:7:8:9'],
    ['seven groups and no "::"', '1:2:3:4:5:6:7'],
    ['"::" with eight groups', '1::2:3:4:5:6:7:8'],
    ['a five-digit group', '12345::1'],
    ['an embedded IPv4 with a leading zero', '::ffff:01.2.3.4'],
    ['an embedded IPv4 not at the end', '::1.2.3.4:1'],
    ['an embedded IPv4 with too many groups', '1:2:3:4:5:6:7:1.2.3.4'],
    ['an IPv4 address', '127.0.0.1'],
    ['a single colon', ':'],
  ])('rejects a TCP6 address with %s (%s)', (_what, address) => {
    expectParseError(line(address, '::1', '1', '2', 'TCP6'), ErrorCodes.V1_BAD_ADDRESS)
    expectParseError(line('::1', address, '1', '2', 'TCP6'), ErrorCodes.V1_BAD_ADDRESS)
  })

  it('refuses, and never waits on, a TCP6 field with eight groups beside a "::"', () => {
    for (const address of ['1:2:3:4:5:6:7::8', '1:2:3:4:5:6:7::8:9', '1::2:3:4:5:6:7:8']) {
      expectParseError(ascii(`PROXY TCP6 ${address} ::1 1 2\r\n`), ErrorCodes.V1_BAD_ADDRESS)
      expectParseError(ascii(`PROXY TCP6 ::1 ${address} 1 2\r\n`), ErrorCodes.V1_BAD_ADDRESS)
      expectParseError(ascii(`PROXY TCP6 ${address}`), ErrorCodes.V1_BAD_ADDRESS)
    }
  })

  it('accepts upper-case hex and returns it in lower case', () => {
    const { header } = expectComplete(
      line('2001:DB8:85A3::8A2E:370:7334', '::FFFF:10.0.0.1', '1', '2', 'TCP6'),
    )
    expect(header.source).toMatchObject({ address: '2001:db8:85a3::8a2e:370:7334' })
    expect(header.destination).toMatchObject({ address: '::ffff:10.0.0.1' })
  })

  it('rejects a TCP6 header carrying IPv4 addresses and a TCP4 header carrying IPv6 addresses', () => {
    expectParseError(line('127.0.0.1', '127.0.0.1', '1', '2', 'TCP6'), ErrorCodes.V1_BAD_ADDRESS)
    expectParseError(line('::1', '::1', '1', '2', 'TCP4'), ErrorCodes.V1_BAD_ADDRESS)
  })
})

describe('v1 ports', () => {
  it('accepts ports 0 and 65535', () => {
    const { header } = expectComplete(line('1.2.3.4', '5.6.7.8', '0', '65535'))
    expect(header.source).toMatchObject({ port: 0 })
    expect(header.destination).toMatchObject({ port: 65535 })
  })

  it.each([
    ['65536', '65536'],
    ['80000', '80000'],
    ['99999', '99999'],
    ['seven digits', '1111111'],
    ['a leading zero', '080'],
    ['a lone double zero', '00'],
    ['a plus sign', '+80'],
    ['a minus sign', '-1'],
    ['hex', '0x50'],
    ['letters', 'foo'],
    ['a decimal point', '80.0'],
  ])('rejects a port with %s (%s)', (_what, port) => {
    const err1 = expectParseError(line('1.2.3.4', '5.6.7.8', port, '443'), ErrorCodes.V1_BAD_PORT)
    expect(err1.offset).toBeGreaterThanOrEqual('PROXY TCP4 1.2.3.4 5.6.7.8 '.length)
    expectParseError(line('1.2.3.4', '5.6.7.8', '443', port), ErrorCodes.V1_BAD_PORT)
  })

  it('points the offset at the port that has a leading zero', () => {
    const err = expectParseError(line('1.2.3.4', '5.6.7.8', '80', '0443'), ErrorCodes.V1_BAD_PORT)
    expect(err.offset).toBe('PROXY TCP4 1.2.3.4 5.6.7.8 80 '.length)
  })
})

// parseV1 keeps the last destination's text (TCP4: with the address's two halves; TCP6: with the field's
// bytes, taken without a scan when they come again): these check that what it takes is always what a fresh
// parse would give.
describe('v1 destination seen before', () => {
  const destination = (text: string) => expectComplete(ascii(text)).header.destination as InetAddress

  it('parses a destination that extends the previous one by a digit, and the previous one again', () => {
    expect(destination(TCP4)).toEqual({ address: '192.168.0.11', port: 443 })
    expect(destination('PROXY TCP4 10.0.0.1 192.168.0.1 1 2\r\n')).toEqual({
      address: '192.168.0.1',
      port: 2,
    })
    expect(destination('PROXY TCP4 10.0.0.1 192.168.0.11 1 2\r\n')).toEqual({
      address: '192.168.0.11',
      port: 2,
    })
    expect(destination('PROXY TCP4 10.0.0.1 192.168.0.1 1 2\r\n')).toEqual({
      address: '192.168.0.1',
      port: 2,
    })
  })

  it('still waits for more bytes, or refuses, when a destination seen before is cut short or badly followed', () => {
    expectComplete(ascii(TCP4))
    expect(parse(ascii('PROXY TCP4 10.0.0.1 192.168.0.11'))).toEqual({ status: 'incomplete' })
    expectParseError(ascii('PROXY TCP4 10.0.0.1 192.168.0.11\r\n'), ErrorCodes.V1_SYNTAX)
    expectParseError(ascii('PROXY TCP4 10.0.0.1 192.168.0.11x 1 2\r\n'), ErrorCodes.V1_BAD_ADDRESS)
    expectParseError(ascii('PROXY TCP4 10.0.0.1 192.168.0.11 01 2\r\n'), ErrorCodes.V1_BAD_PORT)
  })

  it('does not take a TCP4 destination seen before as valid in a TCP6 line', () => {
    expectComplete(ascii(TCP4))
    expectParseError(ascii('PROXY TCP6 ::1 192.168.0.11 1 2\r\n'), ErrorCodes.V1_BAD_ADDRESS)
  })

  it('gives a TCP6 destination seen before in upper case its canonical text each time', () => {
    for (let i = 0; i < 3; i++)
      expect(destination('PROXY TCP6 ::1 2001:DB8:0::2 1 2\r\n').address).toBe('2001:db8::2')
    expect(destination(TCP6).address).toBe('2001:db8::2')
  })

  it('tells a TCP6 destination kept after coming twice from one that differs only in its first byte', () => {
    for (const address of ['2001:db8::2', '2001:db8::2', '2001:db8::2', '3001:db8::2', '3001:db8::2', '2001:db8::2']) {
      expect(destination(`PROXY TCP6 ::1 ${address} 1 2\r\n`).address).toBe(address)
    }
  })

  it('gives the same destinations as Node for any sequence of lines drawn from a few addresses', () => {
    const v4 = fc.constantFrom('192.168.0.1', '192.168.0.11', '10.0.0.1', '1.2.3.4')
    const v6 = fc.constantFrom('2001:db8::2', '2001:DB8::2', '::ffff:1.2.3.4', '::1', '1:0:0:2::3')
    const one = fc.oneof(
      v4.map((a) => ['TCP4', a] as const),
      v6.map((a) => ['TCP6', a] as const),
    )
    fc.assert(
      fc.property(fc.array(one, { minLength: 2, maxLength: 12 }), (lines) => {
        for (const [proto, dst] of lines) {
          const src = proto === 'TCP4' ? '10.0.0.2' : '::2'
          const got = destination(`PROXY ${proto} ${src} ${dst} 1 2\r\n`).address
          expect(got).toBe(
            new SocketAddress({ address: dst, family: proto === 'TCP4' ? 'ipv4' : 'ipv6' }).address,
          )
        }
      }),
      { numRuns: 200 },
    )
  })
})

describe('v1 incremental parsing', () => {
  const valid = [
    TCP4,
    TCP6,
    WORST_TCP6,
    WORST_UNKNOWN,
    'PROXY UNKNOWN\r\n',
    'PROXY UNKNOWN anything\r\n',
    'PROXY TCP6 ::ffff:1.2.3.4 ::1.2.3.4 0 0\r\n',
    'PROXY TCP4 0.0.0.0 255.255.255.255 65535 1\r\n',
  ]

  it.each(valid)('reports every strict prefix of %j as incomplete', (text) => {
    const input = ascii(`${text}GET / HTTP/1.1\r\n`)
    expectPrefixesIncomplete(input, text.length)
    const { length } = expectComplete(input.subarray(0, text.length))
    expect(length).toBe(text.length)
  })

  it.each([
    ['PROXY TCP5', ErrorCodes.V1_BAD_PROTOCOL],
    ['PROXY X', ErrorCodes.V1_BAD_PROTOCOL],
    ['PROXY UNKNOWNX', ErrorCodes.V1_BAD_PROTOCOL],
    ['PROXY TCP4x', ErrorCodes.V1_BAD_PROTOCOL],
    ['PROXY TCP4 1.2.3.4x', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP4 01.', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP4 00', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP4 256', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP4 1.2.3.4.', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP4 1..', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP4 1.2.3 ', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP4 ::1', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 01', ErrorCodes.V1_BAD_PORT],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 123456', ErrorCodes.V1_BAD_PORT],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 8a', ErrorCodes.V1_BAD_PORT],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 65536', ErrorCodes.V1_BAD_PORT],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 80 99999', ErrorCodes.V1_BAD_PORT],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 80 443 ', ErrorCodes.V1_SYNTAX],
    ['PROXY TCP6 fe80::1%', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP6 g', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP6 [', ErrorCodes.V1_BAD_ADDRESS],
    [`PROXY TCP6 ${'0'.repeat(46)}`, ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP6 :::', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP6 :1', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP6 12345', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP6 1::2::', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP6 1:2:3:4:5:6:7:8:', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP6 1:2:3:4:5:6:7:8:9:', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP6 1::2:3:4:5:6:7:8', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP6 ::ffff:01.', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP6 ::ffff:1.2.3.4.', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP6 ::ffff:1.2.3.256', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP6 1:2:3:4:5:1.', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP6 ::1.2.3.4:', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY TCP4\r', ErrorCodes.V1_SYNTAX],
    ['PROXY TCP4 \r', ErrorCodes.V1_BAD_ADDRESS],
    ['PROXY UNKNOW\r', ErrorCodes.V1_BAD_PROTOCOL],
    ['PROXY TCP4 1.2.3.4\r', ErrorCodes.V1_SYNTAX],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1\r', ErrorCodes.V1_SYNTAX],
  ] as const)('throws at once for the never-valid prefix %j', (text, code) => {
    expectParseError(ascii(text), code)
  })

  it.each(['PROXY TCP6 :', 'PROXY TCP6 ::', 'PROXY TCP6 1:2:3:4:5:6:7::', 'PROXY TCP6 1:2:3:4:5:6:1.2.3.4', 'PROXY TCP6 ::ffff:1.2.3.4', 'PROXY UNKNOWN\r', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r'])(
    'waits for more bytes after %j, which can still become a header',
    (text) => {
      expect(parse(ascii(text))).toEqual({ status: 'incomplete' })
    },
  )

  it('reports every strict prefix of random canonical and uncompressed TCP6 lines as incomplete', () => {
    fc.assert(
      fc.property(fc.ipV6(), fc.ipV6(), (src, dst) => {
        const text = `PROXY TCP6 ${src} ${dst} 1 2\r\n`
        if (text.length > V1_MAX_LENGTH) return
        expectPrefixesIncomplete(ascii(text), text.length)
      }),
      { numRuns: 300 },
    )
  })

  it('decides on the first header only when the input holds two', () => {
    const input = ascii(`${TCP4}PROXY TCP4 6.6.6.6 6.6.6.6 1 1\r\n`)
    const { header, length } = expectComplete(input)
    expect(length).toBe(TCP4.length)
    expect(header.source).toMatchObject({ address: '192.168.0.1' })
  })

  it('gives every parse error a numeric offset', () => {
    for (const text of [
      'PROXY TCP9',
      'PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n',
      'PROXY UNKNOWN\n',
      `PROXY UNKNOWN ${'x'.repeat(200)}`,
    ]) {
      let err: unknown
      try {
        parse(ascii(text))
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(ProxyProtocolError)
      expect(typeof (err as ProxyProtocolError).offset).toBe('number')
    }
  })
})
