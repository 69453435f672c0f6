// @proxyproto/core under Node, Deno and Bun with one runner each implements: node:test + node:assert
// (`node --test`, `deno test`, `bun test`; see scripts/runtimes.sh). It imports the built package and
// nothing from node: except the runner, and uses no Buffer: the core is pure, so it must work on any
// runtime with Uint8Array. The full suite (vitest, fast-check) is packages/core/test/*.test.ts.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { crc32c, decodeTlvs, encode, ErrorCodes, isProxyProtocolError, parse } from '@proxyproto/core'

const hex = (s) => Uint8Array.from(s.replace(/\s+/g, '').match(/../g), (b) => Number.parseInt(b, 16))
const ascii = (s) => new TextEncoder().encode(s)
const SIG = '0d0a0d0a000d0a515549540a'

/** The error code parse() throws for `input`, or 'no error'. */
function codeOf(input, options) {
  try {
    parse(input, options)
    return 'no error'
  } catch (err) {
    assert.ok(isProxyProtocolError(err), `not a ProxyProtocolError: ${err}`)
    return err.code
  }
}

test('parses a v1 TCP4 header and says where the payload starts', () => {
  const input = ascii('PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\nGET /')
  const result = parse(input)
  assert.equal(result.status, 'complete')
  assert.equal(result.length, 46)
  assert.deepEqual(
    {
      version: result.header.version,
      family: result.header.family,
      source: result.header.source,
      destination: result.header.destination,
    },
    {
      version: 1,
      family: 'IPv4',
      source: { address: '192.0.2.10', port: 56324 },
      destination: { address: '198.51.100.1', port: 443 },
    },
  )
})

test('parses a v2 TCP over IPv6 header to canonical addresses', () => {
  const input = hex(
    `${SIG} 21 21 0024 20010db8000000000000000000000001 20010db8000000000000000000000002 c350 01bb`,
  )
  const { status, header, length } = parse(input)
  assert.equal(status, 'complete')
  assert.equal(length, 52)
  assert.deepEqual(header.source, { address: '2001:db8::1', port: 50000 })
  assert.deepEqual(header.destination, { address: '2001:db8::2', port: 443 })
})

test('reports incomplete for every proper prefix of a header, and absent for other protocols', () => {
  const full = ascii('PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\n')
  for (let n = 1; n < full.length; n++)
    assert.equal(parse(full.subarray(0, n)).status, 'incomplete', `prefix ${n}`)
  assert.equal(parse(ascii('GET / HTTP/1.1\r\n')).status, 'absent')
})

test('throws coded errors for malformed headers', () => {
  assert.equal(codeOf(ascii('PROXY TCP4 192.0.2.300 198.51.100.1 1 2\r\n')), ErrorCodes.V1_BAD_ADDRESS)
  assert.equal(codeOf(ascii('PROXY TCP4 192.0.2.1 198.51.100.1 65536 2\r\n')), ErrorCodes.V1_BAD_PORT)
  assert.equal(codeOf(hex(`${SIG} 31 11 000c c0000201 c6336401 0001 0002`)), ErrorCodes.V2_BAD_VERSION)
  assert.equal(codeOf(hex(`${SIG} 21 11 0008 c0000201 c6336401`)), ErrorCodes.V2_LENGTH_TOO_SHORT)
})

test('verifies a CRC32C TLV over the bytes as received', () => {
  const header = {
    version: 2,
    family: 'IPv4',
    source: { address: '192.0.2.10', port: 1 },
    destination: { address: '198.51.100.1', port: 2 },
  }
  const bytes = encode(header, { crc32c: true })
  assert.equal(parse(bytes).status, 'complete')
  const tampered = bytes.slice()
  tampered[16] ^= 1 // an address byte
  assert.equal(codeOf(tampered), ErrorCodes.CRC32C_MISMATCH)
  assert.equal(crc32c(ascii('123456789')), 0xe3069283) // RFC 3720 check value
})

test('round-trips encode and parse with TLVs, and decodes them', () => {
  const header = {
    version: 2,
    family: 'IPv4',
    source: { address: '203.0.113.7', port: 51234 },
    destination: { address: '192.0.2.1', port: 443 },
    tlvs: [{ type: 0x02, value: ascii('example.com') }],
  }
  const parsed = parse(encode(header)).header
  assert.deepEqual(parsed.source, header.source)
  assert.equal(decodeTlvs(parsed.tlvs).authority, 'example.com')
})
