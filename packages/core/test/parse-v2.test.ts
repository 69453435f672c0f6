/**
 * PROXY protocol v2 (spec §2.2): 12-byte signature, ver/cmd, fam, 16-bit length, address block, TLVs.
 * Fixtures are hex strings; v2hex() fills in the length field.
 */
import {
  DEFAULT_MAX_HEADER_SIZE,
  ErrorCodes,
  MAX_HEADER_SIZE_LIMIT,
  type ParseOptions,
  V2_SIGNATURE,
  crc32c,
  decodeTlvs,
  encode,
  parse,
} from '@proxyproto/core'
import { describe, expect, it } from 'vitest'
import {
  AWS_NLB_HEX,
  SIG,
  ascii,
  concat,
  expectComplete,
  expectError,
  expectParseError,
  expectPrefixesIncomplete,
  hex,
  toHex,
  u16,
  v2hex,
} from './helpers.js'

const IPV4_BODY = 'c0a80001 c0a8000b dc04 01bb' // 192.168.0.1 -> 192.168.0.11, 56324 -> 443
const IPV6_BODY =
  '20010db885a3000000008a2e03707334' + // 2001:db8:85a3::8a2e:370:7334
  '10500000000000000005060030 0c326b' + // 1050::5:600:300c:326b
  'dc04 01bb'
const unixPath = (path: string) => toHex(ascii(path)) + '00'.repeat(108 - path.length)
const UNIX_BODY = unixPath('/var/run/src.sock') + unixPath('/var/run/dest.sock')

const PROXY_TCP4 = v2hex('21', '11', IPV4_BODY)
const PAYLOAD = ascii('GET / HTTP/1.1\r\n\r\n')

describe('v2 address families', () => {
  it('parses TCP over IPv4', () => {
    const input = hex(PROXY_TCP4)
    const { header, length } = expectComplete(input)
    expect(header).toEqual({
      version: 2,
      command: 'PROXY',
      family: 'IPv4',
      transport: 'STREAM',
      source: { address: '192.168.0.1', port: 56324 },
      destination: { address: '192.168.0.11', port: 443 },
      tlvs: [],
    })
    expect(length).toBe(28)
  })

  it('parses each destination of consecutive IPv4 headers, the one before it kept or not', () => {
    // The parser keeps the last IPv4 destination's text with its two 16-bit halves: each answer must be a fresh one.
    const header = (destination: string) =>
      encode({
        version: 2,
        family: 'IPv4',
        source: { address: '10.0.0.1', port: 1 },
        destination: { address: destination, port: 2 },
      })
    for (const address of [
      '192.168.0.11',
      '192.168.0.11',
      '192.168.0.12',
      '10.1.1.1',
      '192.168.0.11',
      '255.255.255.255',
      '0.0.0.0',
    ]) {
      expect(expectComplete(header(address)).header.destination).toEqual({ address, port: 2 })
    }
  })

  it('parses UDP over IPv4 as transport DGRAM', () => {
    const { header } = expectComplete(hex(v2hex('21', '12', IPV4_BODY)))
    expect(header).toMatchObject({
      family: 'IPv4',
      transport: 'DGRAM',
      source: { address: '192.168.0.1', port: 56324 },
    })
  })

  it('parses TCP over IPv6 and formats the addresses canonically', () => {
    const { header, length } = expectComplete(hex(v2hex('21', '21', IPV6_BODY)))
    expect(header).toMatchObject({
      family: 'IPv6',
      transport: 'STREAM',
      source: { address: '2001:db8:85a3::8a2e:370:7334', port: 56324 },
      destination: { address: '1050::5:600:300c:326b', port: 443 },
    })
    expect(length).toBe(52)
  })

  it('parses UDP over IPv6 as transport DGRAM', () => {
    const { header } = expectComplete(hex(v2hex('21', '22', IPV6_BODY)))
    expect(header).toMatchObject({ family: 'IPv6', transport: 'DGRAM' })
  })

  it('parses UNIX stream and datagram addresses up to the first NUL', () => {
    for (const [fam, transport] of [
      ['31', 'STREAM'],
      ['32', 'DGRAM'],
    ] as const) {
      const { header, length } = expectComplete(hex(v2hex('21', fam, UNIX_BODY)))
      expect(header).toEqual({
        version: 2,
        command: 'PROXY',
        family: 'UNIX',
        transport,
        source: { path: '/var/run/src.sock' },
        destination: { path: '/var/run/dest.sock' },
        tlvs: [],
      })
      expect(length).toBe(16 + 216)
    }
  })

  it('reads a UNIX path that fills all 108 bytes without a NUL', () => {
    const long = `/${'p'.repeat(107)}`
    const { header } = expectComplete(hex(v2hex('21', '31', toHex(ascii(long)) + unixPath('/b'))))
    expect(header.source).toEqual({ path: long })
    expect(header.destination).toEqual({ path: '/b' })
  })

  it('ignores bytes after the NUL that ends a UNIX path', () => {
    const src = `${toHex(ascii('/a'))}00${'ff'.repeat(105)}`
    const { header } = expectComplete(hex(v2hex('21', '31', src + unixPath('/b'))))
    expect(header.source).toEqual({ path: '/a' })
  })

  it('keeps a leading byte order mark in a UNIX path, so encode and parse round-trip it', () => {
    const out = encode({ version: 2, family: 'UNIX', source: { path: '\ufeff/s' }, destination: { path: '/d' } })
    expect(expectComplete(out).header.source).toEqual({ path: '\ufeff/s' })
  })

  it('decodes a UTF-8 UNIX path and rejects one that is not valid UTF-8', () => {
    const utf8 = toHex(new TextEncoder().encode('/tmp/é.sock'))
    const ok = utf8 + '00'.repeat(108 - utf8.length / 2)
    expect(expectComplete(hex(v2hex('21', '31', ok + ok))).header.source).toEqual({ path: '/tmp/é.sock' })
    const bad = `2fff${'00'.repeat(106)}`
    const err = expectParseError(hex(v2hex('21', '31', bad + unixPath('/b'))), ErrorCodes.V2_BAD_UNIX_PATH)
    expect(err.offset).toBe(16)
  })

  it('parses PROXY with the UNSPEC family (0x00): no addresses, TLVs still read', () => {
    const { header, length } = expectComplete(hex(v2hex('21', '00', '')))
    expect(header).toEqual({ version: 2, command: 'PROXY', family: 'UNSPEC', transport: 'UNSPEC', tlvs: [] })
    expect(length).toBe(16)
    const withAlpn = expectComplete(hex(v2hex('21', '00', '01 0002 6832')))
    expect(withAlpn.header.family).toBe('UNSPEC')
    expect(withAlpn.header.source).toBeUndefined()
    expect(withAlpn.header.tlvs).toHaveLength(1)
    expect(withAlpn.header.tlvs[0]!.type).toBe(0x01)
    expect(toHex(withAlpn.header.tlvs[0]!.value)).toBe('6832')
  })
})

describe('v2 LOCAL', () => {
  it('parses LOCAL with no address block', () => {
    const { header, length } = expectComplete(concat(hex(v2hex('20', '00', '')), PAYLOAD))
    expect(header).toEqual({ version: 2, command: 'LOCAL', family: 'UNSPEC', transport: 'UNSPEC', tlvs: [] })
    expect(length).toBe(16)
  })

  it('skips an address block sent with LOCAL and reports no addresses', () => {
    for (const fam of ['00', '11', '21', '31']) {
      const body = fam === '31' ? UNIX_BODY : fam === '21' ? IPV6_BODY : IPV4_BODY
      const { header, length } = expectComplete(hex(v2hex('20', fam, body)))
      expect(header.command).toBe('LOCAL')
      expect(header.family).toBe('UNSPEC')
      expect(header.transport).toBe('UNSPEC')
      expect(header.source).toBeUndefined()
      expect(header.destination).toBeUndefined()
      expect(header.tlvs).toEqual([])
      expect(length).toBe(16 + body.replace(/\s/g, '').length / 2)
    }
  })

  it('skips a LOCAL block of any content without parsing it as TLVs', () => {
    // not a valid TLV sequence, or TLVs without a checksum: neither matters for LOCAL
    for (const body of ['ff', 'ffff', 'ffffff', '03 0002 0000', '20 0000', '03 0004 deadbeef ff']) {
      const { header, length } = expectComplete(hex(v2hex('20', '00', body)))
      expect(header.tlvs).toEqual([])
      expect(length).toBe(16 + body.replace(/\s/g, '').length / 2)
    }
  })

  it('refuses a LOCAL header whose CRC32C TLV does not match (a PROXY header with its command byte corrupted)', () => {
    const proxy = encode({ version: 2, family: 'IPv4', source: { address: '10.0.0.1', port: 1 }, destination: { address: '10.0.0.2', port: 2 } }, { crc32c: true })
    expect(proxy[12]).toBe(0x21)
    const flipped = proxy.slice()
    flipped[12] = 0x20 // PROXY -> LOCAL
    const err = expectParseError(flipped, ErrorCodes.CRC32C_MISMATCH)
    expect(err.offset).toBe(16 + 12 + 3)
    expectParseError(hex(v2hex('20', '00', '03 0004 deadbeef')), ErrorCodes.CRC32C_MISMATCH)
    // verifyChecksum: false turns the check off, as for PROXY headers
    expect(expectComplete(flipped, { verifyChecksum: false }).header.command).toBe('LOCAL')
  })

  it('accepts a LOCAL header whose CRC32C TLV matches', () => {
    const input = hex(v2hex('20', '00', '04 0002 0000 03 0004 00000000'))
    const c = crc32c(input)
    input.set([c >>> 24, (c >>> 16) & 0xff, (c >>> 8) & 0xff, c & 0xff], input.length - 4)
    const { header, length } = expectComplete(concat(input, PAYLOAD))
    expect(header).toEqual({ version: 2, command: 'LOCAL', family: 'UNSPEC', transport: 'UNSPEC', tlvs: [] })
    expect(length).toBe(input.length)
  })

  it('skips the largest possible LOCAL block when maxHeaderSize allows it', () => {
    const input = concat(hex(SIG, '20 00 ffff'), new Uint8Array(0xffff).fill(0xaa), PAYLOAD)
    const { header, length } = expectComplete(input, { maxHeaderSize: MAX_HEADER_SIZE_LIMIT })
    expect(header.command).toBe('LOCAL')
    expect(length).toBe(MAX_HEADER_SIZE_LIMIT)
  })
})

describe('v2 version, command and family byte', () => {
  it('rejects a version nibble other than 2 as soon as byte 12 arrives', () => {
    for (let v = 0; v < 16; v++) {
      if (v === 2) continue
      const verCmd = ((v << 4) | 1).toString(16).padStart(2, '0')
      const input = hex(v2hex(verCmd, '11', IPV4_BODY))
      const err = expectParseError(input, ErrorCodes.V2_BAD_VERSION)
      expect(err.offset).toBe(12)
      expectParseError(input.subarray(0, 13), ErrorCodes.V2_BAD_VERSION)
    }
  })

  it('rejects a command above 1 as soon as byte 12 arrives', () => {
    for (let c = 2; c < 16; c++) {
      const input = hex(v2hex(`2${c.toString(16)}`, '11', IPV4_BODY))
      const err = expectParseError(input, ErrorCodes.V2_BAD_COMMAND)
      expect(err.offset).toBe(12)
      expectParseError(input.subarray(0, 13), ErrorCodes.V2_BAD_COMMAND)
    }
  })

  it('accepts exactly the family bytes 00 11 12 21 22 31 32 out of all 256', () => {
    const accepted: number[] = []
    for (let fam = 0; fam < 256; fam++) {
      // 216 zero bytes fit every family: UNIX addresses, or addresses followed by empty type-0 TLVs
      const input = hex(SIG, '21', fam.toString(16).padStart(2, '0'), '00d8', '00'.repeat(216))
      let result: ReturnType<typeof parse> | undefined
      try {
        result = parse(input)
      } catch {
        const err = expectParseError(input, ErrorCodes.V2_BAD_FAMILY)
        expect(err.offset).toBe(13)
        // and already with 14 bytes, before the length arrives
        expectParseError(input.subarray(0, 14), ErrorCodes.V2_BAD_FAMILY)
        continue
      }
      expect(result.status).toBe('complete')
      accepted.push(fam)
    }
    expect(accepted).toEqual([0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32])
  })
})

describe('v2 length field', () => {
  it.each([
    ['IPv4', '11', 12],
    ['UDP over IPv4', '12', 12],
    ['IPv6', '21', 36],
    ['UDP over IPv6', '22', 36],
    ['UNIX', '31', 216],
    ['UNIX datagram', '32', 216],
  ])(
    'rejects a %s length shorter than the address block from the 16 fixed bytes alone',
    (_f, fam, addrLen) => {
      for (const len of [0, 1, addrLen - 1]) {
        const fixed = hex(SIG, '21', fam, u16(len))
        const err = expectParseError(fixed, ErrorCodes.V2_LENGTH_TOO_SHORT)
        expect(err.offset).toBe(14)
        // and with the bytes present too
        expectParseError(concat(fixed, new Uint8Array(addrLen)), ErrorCodes.V2_LENGTH_TOO_SHORT)
      }
    },
  )

  it('accepts a length exactly equal to the address block', () => {
    expect(expectComplete(hex(SIG, '21 11 000c', '00'.repeat(12))).length).toBe(28)
    expect(expectComplete(hex(SIG, '21 21 0024', '00'.repeat(36))).length).toBe(52)
    expect(expectComplete(hex(SIG, '21 31 00d8', '00'.repeat(216))).length).toBe(232)
  })

  it('waits for the whole length before deciding', () => {
    const input = hex(v2hex('21', '11', `${IPV4_BODY} ff 0004 01020304`))
    expectPrefixesIncomplete(input, input.length)
    expect(expectComplete(input).length).toBe(input.length)
  })
})

describe('v2 TLVs', () => {
  it('returns TLVs in wire order', () => {
    const { header } = expectComplete(
      hex(v2hex('21', '11', `${IPV4_BODY} 02 0003 616263 01 0002 6832 ff 0000`)),
    )
    expect(header.tlvs.map((t) => [t.type, toHex(t.value)])).toEqual([
      [0x02, '616263'],
      [0x01, '6832'],
      [0xff, ''],
    ])
  })

  it('returns TLV values as views into the input, not copies', () => {
    const input = hex(v2hex('21', '11', `${IPV4_BODY} e0 0008 0102030405060708`))
    const { header } = expectComplete(input)
    const value = header.tlvs[0]!.value
    expect(value.buffer).toBe(input.buffer)
    expect(value.byteOffset).toBe(input.byteOffset + 31)
    expect(value.length).toBe(8)
    input[31] = 0x99
    expect(value[0]).toBe(0x99)
  })

  it('returns views into the same buffer when the input is itself a view at an offset', () => {
    const backing = hex('aabbcc', v2hex('21', '11', `${IPV4_BODY} 05 0002 beef`), 'ddee')
    const input = backing.subarray(3, backing.length - 2)
    const { header, length } = expectComplete(input)
    expect(length).toBe(input.length)
    expect(header.tlvs[0]!.value.buffer).toBe(backing.buffer)
    expect(toHex(header.tlvs[0]!.value)).toBe('beef')
  })

  it('rejects a TLV whose value runs past the end of the header', () => {
    const err = expectParseError(
      hex(v2hex('21', '11', `${IPV4_BODY} 01 0005 68326832`)),
      ErrorCodes.V2_TLV_TRUNCATED,
    )
    expect(err.offset).toBe(28)
  })

  it('rejects one or two bytes left over after the last TLV', () => {
    expectParseError(hex(v2hex('21', '11', `${IPV4_BODY} 01`)), ErrorCodes.V2_TLV_TRUNCATED)
    expectParseError(hex(v2hex('21', '11', `${IPV4_BODY} 01 00`)), ErrorCodes.V2_TLV_TRUNCATED)
    expectParseError(hex(v2hex('21', '11', `${IPV4_BODY} 01 0001 68 04`)), ErrorCodes.V2_TLV_TRUNCATED)
  })

  it('accepts an empty TLV that ends exactly at the end of the header', () => {
    const { header } = expectComplete(hex(v2hex('21', '11', `${IPV4_BODY} 04 0000`)))
    expect(header.tlvs).toHaveLength(1)
    expect(header.tlvs[0]!.value.length).toBe(0)
  })

  it('does not read TLV bytes beyond the header length even when more bytes follow', () => {
    // length covers the addresses only; the bytes after are application data, not a TLV
    const input = hex(v2hex('21', '11', IPV4_BODY), '01 0002 6832')
    const { header, length } = expectComplete(input)
    expect(header.tlvs).toEqual([])
    expect(length).toBe(28)
  })
})

describe('v2 CRC32C', () => {
  const aws = hex(AWS_NLB_HEX)
  // offsets of TLV type/length bytes in the AWS header (flipping these changes the structure, not only the checksum)
  const tlvHeaderBytes = new Set([28, 29, 30, 35, 36, 37, 61, 62, 63])

  it('accepts a header whose CRC32C TLV matches', () => {
    const { header, length } = expectComplete(aws)
    expect(length).toBe(100)
    expect(header.tlvs.map((t) => t.type)).toEqual([0x03, 0xea, 0x04])
  })

  it('rejects a header with any single flipped bit outside the TLV headers', () => {
    for (let i = 16; i < aws.length; i++) {
      if (tlvHeaderBytes.has(i)) continue
      for (let bit = 0; bit < 8; bit++) {
        const bad = aws.slice()
        bad[i]! ^= 1 << bit
        const err = expectParseError(bad, ErrorCodes.CRC32C_MISMATCH)
        expect(err.offset).toBe(31)
      }
    }
  })

  it('rejects a changed family byte that keeps the header well formed (TCP -> UDP)', () => {
    const bad = aws.slice()
    bad[13] = 0x12
    expectParseError(bad, ErrorCodes.CRC32C_MISMATCH)
  })

  it('accepts a mismatching checksum when verifyChecksum is false', () => {
    const bad = aws.slice()
    bad[20]! ^= 0x01
    expect(expectComplete(bad, { verifyChecksum: false }).header.destination).toMatchObject({
      address: '173.31.10.31',
    })
  })

  it('rejects a CRC32C TLV that is not 4 bytes long, even with verifyChecksum false', () => {
    for (const tlv of ['03 0000', '03 0003 000000', '03 0005 0000000000']) {
      const input = hex(v2hex('21', '11', `${IPV4_BODY} ${tlv}`))
      expectParseError(input, ErrorCodes.CRC32C_INVALID)
      expectParseError(input, ErrorCodes.CRC32C_INVALID, { verifyChecksum: false })
    }
  })

  it('rejects a header with two CRC32C TLVs', () => {
    expectParseError(
      hex(v2hex('21', '11', `${IPV4_BODY} 03 0004 00000000 03 0004 00000000`)),
      ErrorCodes.CRC32C_INVALID,
    )
  })

  it('verifies the checksum over the bytes exactly as received, whatever TLVs surround it', () => {
    // checksum placed between other TLVs, computed by hand over the header with the CRC field zeroed
    const body = `${IPV4_BODY} ff 0002 abcd 03 0004 00000000 04 0003 000000 01 0002 6832`
    const input = hex(v2hex('21', '11', body))
    const at = 28 + 5 + 3
    const c = crc32c(input)
    input.set([c >>> 24, (c >>> 16) & 0xff, (c >>> 8) & 0xff, c & 0xff], at)
    const { header } = expectComplete(input)
    expect(decodeTlvs(header.tlvs).crc32c).toBe(c)
  })

  it('accepts the CRC32C TLV that encode() appends', () => {
    const h = encode(
      {
        version: 2,
        family: 'IPv6',
        source: { address: '2001:db8::1', port: 1 },
        destination: { address: '::1', port: 2 },
      },
      { crc32c: true },
    )
    expect(expectComplete(h).header.tlvs.at(-1)!.type).toBe(0x03)
  })
})

describe('v2 maxHeaderSize', () => {
  const withTlvOfTotal = (total: number) => {
    const valueLen = total - 28 - 3
    return concat(
      hex(SIG, '21 11', u16(total - 16), IPV4_BODY, 'ff', u16(valueLen)),
      new Uint8Array(valueLen),
    )
  }

  it(`accepts a header of exactly the default ${DEFAULT_MAX_HEADER_SIZE} bytes`, () => {
    expect(expectComplete(withTlvOfTotal(4096)).length).toBe(4096)
  })

  it('rejects a header one byte over the default size from the 16 fixed bytes alone', () => {
    const input = withTlvOfTotal(4097)
    const err = expectParseError(input.subarray(0, 16), ErrorCodes.HEADER_TOO_LARGE)
    expect(err.offset).toBe(14)
    expectParseError(input, ErrorCodes.HEADER_TOO_LARGE)
  })

  it('honours a smaller configured maxHeaderSize', () => {
    const input = hex(PROXY_TCP4)
    expect(expectComplete(input, { maxHeaderSize: 28 }).length).toBe(28)
    expectParseError(input, ErrorCodes.HEADER_TOO_LARGE, { maxHeaderSize: 27 })
    expectParseError(input.subarray(0, 16), ErrorCodes.HEADER_TOO_LARGE, { maxHeaderSize: 27 })
    expect(expectComplete(hex(v2hex('20', '00', '')), { maxHeaderSize: 16 }).length).toBe(16)
  })

  it('accepts the largest possible header when maxHeaderSize is raised to the limit', () => {
    const input = withTlvOfTotal(MAX_HEADER_SIZE_LIMIT)
    expect(MAX_HEADER_SIZE_LIMIT).toBe(16 + 65535)
    expect(expectComplete(input, { maxHeaderSize: MAX_HEADER_SIZE_LIMIT }).length).toBe(MAX_HEADER_SIZE_LIMIT)
    expectParseError(input, ErrorCodes.HEADER_TOO_LARGE, { maxHeaderSize: MAX_HEADER_SIZE_LIMIT - 1 })
  })

  it('rejects invalid options with ERR_PROXY_INVALID_OPTION', () => {
    const bad: unknown[] = [
      { maxHeaderSize: 15 },
      { maxHeaderSize: MAX_HEADER_SIZE_LIMIT + 1 },
      { maxHeaderSize: 100.5 },
      { maxHeaderSize: Number.NaN },
      { maxHeaderSize: '4096' },
      { versions: [] },
      { versions: [3] },
      { versions: [1, 3] },
      { versions: '1' },
      { verifyChecksum: 'yes' },
    ]
    for (const options of bad) {
      expectError(() => parse(hex(PROXY_TCP4), options as ParseOptions), ErrorCodes.INVALID_OPTION)
    }
  })
})

describe('versions option', () => {
  const v1 = ascii('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n')
  const v2 = hex(PROXY_TCP4)

  it('rejects a v2 header when only v1 is allowed', () => {
    const err = expectParseError(v2, ErrorCodes.VERSION_NOT_ALLOWED, { versions: [1] })
    expect(err.offset).toBe(0)
  })

  it('rejects a v1 header when only v2 is allowed', () => {
    expectParseError(v1, ErrorCodes.VERSION_NOT_ALLOWED, { versions: [2] })
  })

  it('waits until a disallowed signature is certain before rejecting', () => {
    expect(parse(v2.subarray(0, 5), { versions: [1] }).status).toBe('incomplete')
    expectParseError(v2.subarray(0, 6), ErrorCodes.VERSION_NOT_ALLOWED, { versions: [1] })
    expect(parse(v1.subarray(0, 5), { versions: [2] }).status).toBe('incomplete')
    expectParseError(v1.subarray(0, 6), ErrorCodes.VERSION_NOT_ALLOWED, { versions: [2] })
  })

  it('parses the allowed version normally', () => {
    expect(expectComplete(v1, { versions: [1] }).header.version).toBe(1)
    expect(expectComplete(v2, { versions: [2] }).header.version).toBe(2)
    expect(expectComplete(v2, { versions: [2, 1] }).header.version).toBe(2)
  })

  it('still reports other protocols as absent', () => {
    expect(parse(ascii('GET / HTTP/1.1\r\n'), { versions: [1] }).status).toBe('absent')
    expect(parse(ascii('GET / HTTP/1.1\r\n'), { versions: [2] }).status).toBe('absent')
  })
})

describe('detection', () => {
  it('treats empty input as incomplete', () => {
    expect(parse(new Uint8Array(0))).toEqual({ status: 'incomplete' })
  })

  it.each([
    ['an HTTP/1.1 request', ascii('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
    ['the HTTP/2 preface', ascii('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')],
    ['a TLS ClientHello', hex('16 03 01 00 c8 01 00 00 c4 03 03')],
    ['the first byte of a TLS record', hex('16')],
    ['an SSH banner', ascii('SSH-2.0-OpenSSH_9.6\r\n')],
    ['a NUL byte', hex('00')],
    ['CRLF then text', ascii('\r\nGET')],
    ['CRLF CRLF then text', ascii('\r\n\r\nGET')],
    ['a near miss of both signatures (Envoy)', ascii('PR\r\n')],
    ['a near miss of both signatures, v2 first (Envoy)', ascii('\r\nOX')],
    ['four bytes of data (Envoy)', ascii('data')],
  ])('reports %s as absent', (_what, input) => {
    expect(parse(input).status).toBe('absent')
  })

  it('checks the signature constant', () => {
    expect(toHex(V2_SIGNATURE)).toBe(SIG)
  })
})

describe('v2 incremental parsing', () => {
  it.each([
    ['TCP over IPv4', PROXY_TCP4],
    ['TCP over IPv6', v2hex('21', '21', IPV6_BODY)],
    ['UNIX', v2hex('21', '31', UNIX_BODY)],
    ['LOCAL', v2hex('20', '00', '')],
    ['LOCAL with a block', v2hex('20', '11', IPV4_BODY)],
    ['UNSPEC', v2hex('21', '00', '0400 00')],
    ['AWS NLB with CRC32C', AWS_NLB_HEX],
  ])('reports every strict prefix of a %s header as incomplete', (_what, h) => {
    const header = hex(h)
    const input = concat(header, PAYLOAD)
    expectPrefixesIncomplete(input, header.length)
    expect(expectComplete(input).length).toBe(header.length)
  })

  it('leaves a second v2 header after the first as application data', () => {
    const first = hex(PROXY_TCP4)
    const second = hex(v2hex('21', '11', '06060606 06060606 0001 0001'))
    const { header, length } = expectComplete(concat(first, second))
    expect(length).toBe(first.length)
    expect(header.source).toMatchObject({ address: '192.168.0.1' })
  })

  it('leaves a v1 line after a v2 header as application data', () => {
    const first = hex(PROXY_TCP4)
    const { length } = expectComplete(concat(first, ascii('PROXY TCP4 6.6.6.6 6.6.6.6 1 1\r\n')))
    expect(length).toBe(first.length)
  })
})
