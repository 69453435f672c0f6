/**
 * Address text: the parser and canonicalAddress() must format IPv6 exactly as Node formats
 * `socket.remoteAddress` (libuv inet_ntop), which `new net.SocketAddress(...).address` reproduces.
 */
import net from 'node:net'
import { canonicalAddress, parse } from '@proxyproto/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SIG, ascii, expectComplete, hex, toHex } from './helpers.js'

const nodeIPv6 = (address: string) => new net.SocketAddress({ address, family: 'ipv6' }).address
const nodeIPv4 = (address: string) => new net.SocketAddress({ address, family: 'ipv4' }).address

const wordsToBytes = (words: number[]) => Uint8Array.from(words.flatMap((w) => [w >> 8, w & 0xff]))
const fullText = (words: number[]) => words.map((w) => w.toString(16).padStart(4, '0')).join(':')

/** A v2 TCP6 header carrying src and dst as given (16 bytes each). */
function v2Tcp6(src: Uint8Array, dst: Uint8Array): Uint8Array {
  return hex(SIG, '21 21 0024', toHex(src), toHex(dst), '0001 0002')
}

// 16-bit groups biased towards zero runs, all-ones and small values.
const word = fc.oneof(
  { weight: 8, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.constant(0xffff) },
  { weight: 1, arbitrary: fc.constant(1) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xff }) },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
)
const ipv6Words = fc.oneof(
  { weight: 6, arbitrary: fc.array(word, { minLength: 8, maxLength: 8 }) },
  // ::ffff:a.b.c.d (IPv4-mapped)
  { weight: 2, arbitrary: fc.tuple(word, word).map(([a, b]) => [0, 0, 0, 0, 0, 0xffff, a, b]) },
  // ::a.b.c.d (IPv4-compatible)
  { weight: 2, arbitrary: fc.tuple(word, word).map(([a, b]) => [0, 0, 0, 0, 0, 0, a, b]) },
  // near misses of the dotted-quad forms
  { weight: 1, arbitrary: fc.tuple(word, word).map(([a, b]) => [0, 0, 0, 0, 0xffff, 0, a, b]) },
  { weight: 1, arbitrary: fc.tuple(word, word, word).map(([x, a, b]) => [0, 0, 0, 0, 0, x, a, b]) },
  { weight: 1, arbitrary: fc.tuple(word, word).map(([a, b]) => [0x64, 0xff9b, 0, 0, 0, 0, a, b]) },
  { weight: 1, arbitrary: fc.tuple(word, word).map(([a, b]) => [1, 0, 0, 0, 0, 0xffff, a, b]) },
)

describe('IPv6 formatting matches Node', () => {
  it('formats random v2 IPv6 addresses exactly as net.SocketAddress does', () => {
    fc.assert(
      fc.property(ipv6Words, ipv6Words, (srcWords, dstWords) => {
        const { header } = expectComplete(v2Tcp6(wordsToBytes(srcWords), wordsToBytes(dstWords)))
        expect(header.source).toEqual({ address: nodeIPv6(fullText(srcWords)), port: 1 })
        expect(header.destination).toEqual({ address: nodeIPv6(fullText(dstWords)), port: 2 })
      }),
      { numRuns: 1500 },
    )
  })

  it('canonicalises any text form of an address to the same string as Node', () => {
    fc.assert(
      fc.property(ipv6Words, fc.boolean(), (words, upper) => {
        const expected = nodeIPv6(fullText(words))
        const variants = [fullText(words), words.map((w) => w.toString(16)).join(':'), expected]
        for (const v of variants) {
          const text = upper ? v.toUpperCase() : v
          expect(canonicalAddress(text)).toEqual({ address: expected, family: 'IPv6' })
        }
      }),
      { numRuns: 1000 },
    )
  })

  it('gives the same address for a v1 TCP6 line as for the v2 bytes', () => {
    fc.assert(
      fc.property(ipv6Words, (words) => {
        const text = fullText(words)
        const { header } = expectComplete(ascii(`PROXY TCP6 ${text} ::1 1 2\r\n`))
        expect(header.source).toEqual({ address: nodeIPv6(text), port: 1 })
      }),
      { numRuns: 500 },
    )
  })

  it('takes v1 TCP6 text as it is only when it is exactly Node\'s form, whatever run :: stands for', () => {
    // Every way to write the address: each zero run (or none) compressed, with or without a dotted tail.
    const writings = (words: number[]): string[] => {
      const out: string[] = []
      const hexes = words.map((w) => w.toString(16))
      const quad = `${words[6]! >> 8}.${words[6]! & 0xff}.${words[7]! >> 8}.${words[7]! & 0xff}`
      for (const tail of [false, true]) {
        const groups = tail ? [...hexes.slice(0, 6), quad] : hexes
        const count = tail ? 6 : 8 // hex groups that may be compressed
        out.push(groups.join(':'))
        for (let a = 0; a < count; a++) {
          for (let z = a; z < count && words[z] === 0; z++) {
            const left = groups.slice(0, a).join(':')
            const right = groups.slice(z + 1).join(':')
            out.push(`${left}::${right}`)
          }
        }
      }
      return out
    }
    fc.assert(
      fc.property(ipv6Words, (words) => {
        for (const text of writings(words)) {
          const { header } = expectComplete(ascii(`PROXY TCP6 ${text} ${text} 1 2\r\n`))
          expect(header.source).toEqual({ address: nodeIPv6(text), port: 1 })
          expect(header.destination).toEqual({ address: nodeIPv6(text), port: 2 })
        }
      }),
      { numRuns: 500 },
    )
  })

  it.each([
    ['2001:0db8:0:0:0:0:0:1', '2001:db8::1'],
    ['::ffff:7f00:1', '::ffff:127.0.0.1'],
    ['::102:304', '::1.2.3.4'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['0:0:0:0:0:0:0:2', '::2'],
    ['0:0:0:0:0:0:1:0', '::0.1.0.0'],
    ['0:0:0:0:0:ffff:0:0', '::ffff:0.0.0.0'],
    ['0:0:0:0:ffff:0:102:304', '::ffff:0:102:304'],
    ['0:0:0:0:0:fffe:1:2', '::fffe:1:2'],
    ['64:ff9b::1.2.3.4', '64:ff9b::102:304'],
    ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'], // first run wins a tie
    ['1:0:0:2:0:0:0:4', '1:0:0:2::4'], // longest run wins
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'], // a single zero group is not compressed
    ['1:0:0:0:0:0:0:0', '1::'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::1:2:3:4:5:6:7', '0:1:2:3:4:5:6:7'],
    ['FE80::ABCD:EF01', 'fe80::abcd:ef01'],
  ])('canonicalises %s to %s', (input, expected) => {
    expect(nodeIPv6(input)).toBe(expected) // the oracle agrees
    expect(canonicalAddress(input)).toEqual({ address: expected, family: 'IPv6' })
  })
})

describe('v1 TCP6 text taken as it is or formatted again', () => {
  // The scan's quick test (lower-case groups, none zero, no leading zero, '::' standing for 2+ words) and
  // the edges where such text is still not Node's form: what inet_ntop writes with a dotted quad, one zero
  // word, zero groups written out, a tie between zero runs. canonicalAddress reads the same text for
  // encode, where the words after '::' must be moved into place even when the text is canonical.
  it.each([
    ['2001:db8::1', '2001:db8::1'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['::', '::'],
    ['1::', '1::'],
    ['::1', '::1'],
    ['::2:3:4', '::2:3:4'],
    ['::fffe:1:2', '::fffe:1:2'],
    ['1::ffff:1:2', '1::ffff:1:2'],
    ['ffff::1:2', 'ffff::1:2'],
    ['::1:2', '::0.1.0.2'],
    ['::ffff:1:2', '::ffff:0.1.0.2'],
    ['::ffff:1', '::255.255.0.1'],
    ['1::2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['1:0::2', '1::2'],
    ['0::1', '::1'],
    ['1:0:0:2::3', '1:0:0:2::3'],
    ['1:0:0:2:3::4', '1::2:3:0:0:4'],
    ['2001:0db8::1', '2001:db8::1'],
    ['2001:DB8::1', '2001:db8::1'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::1.2.3.4', '::1.2.3.4'],
    ['::0.0.0.1', '::1'],
    ['1::1.2.3.4', '1::102:304'],
  ])('reads %s as %s, as Node does', (text, expected) => {
    expect(nodeIPv6(text)).toBe(expected) // the oracle agrees
    const { header } = expectComplete(ascii(`PROXY TCP6 ${text} ${text} 1 2\r\n`))
    expect(header.source).toEqual({ address: expected, port: 1 })
    expect(header.destination).toEqual({ address: expected, port: 2 })
    expect(canonicalAddress(text)).toEqual({ address: expected, family: 'IPv6' })
  })
})

describe('IPv6 group counts', () => {
  // Every text of 1 to 9 groups (zeros among them), with '::' in every place and without it, and with a
  // dotted quad for the last two: valid exactly when Node says so, and then in Node's form.
  const node = (text: string) => {
    try {
      return nodeIPv6(text)
    } catch {
      return undefined // not an IPv6 address for Node
    }
  }
  const texts: string[] = []
  for (let count = 1; count <= 9; count++) {
    const groups = Array.from({ length: count }, (_, i) => (i % 3 === 1 ? '0' : (i + 1).toString(16)))
    texts.push(groups.join(':'))
    for (let at = 0; at <= count; at++) texts.push(`${groups.slice(0, at).join(':')}::${groups.slice(at).join(':')}`)
    if (count >= 2) {
      const head = groups.slice(0, count - 2)
      if (head.length > 0) texts.push([...head, '1.2.3.4'].join(':'))
      for (let at = 0; at <= head.length; at++) {
        texts.push(`${head.slice(0, at).join(':')}::${[...head.slice(at), '1.2.3.4'].join(':')}`)
      }
    }
  }

  it.each(texts)('reads %j as Node does', (text) => {
    const expected = node(text)
    expect(canonicalAddress(text)).toEqual(expected === undefined ? undefined : { address: expected, family: 'IPv6' })
    const line = `PROXY TCP6 ${text} ::1 1 2\r\n`
    if (expected === undefined) expect(() => parse(ascii(line))).toThrow()
    else expect(parse(ascii(line))).toMatchObject({ header: { source: { address: expected } } })
  })
})

describe('IPv4 formatting', () => {
  it('formats random v2 IPv4 addresses as Node does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), (addrs) => {
        const { header } = expectComplete(hex(SIG, '21 11 000c', toHex(addrs), '0001 0002'))
        const src = `${addrs[0]}.${addrs[1]}.${addrs[2]}.${addrs[3]}`
        expect(header.source).toEqual({ address: nodeIPv4(src), port: 1 })
        expect(canonicalAddress(src)).toEqual({ address: src, family: 'IPv4' })
      }),
      { numRuns: 300 },
    )
  })
})

describe('canonicalAddress', () => {
  it('recognises the family of valid addresses', () => {
    expect(canonicalAddress('192.168.0.1')).toEqual({ address: '192.168.0.1', family: 'IPv4' })
    expect(canonicalAddress('::1')).toEqual({ address: '::1', family: 'IPv6' })
    expect(canonicalAddress('::ffff:192.168.0.1')).toEqual({ address: '::ffff:192.168.0.1', family: 'IPv6' })
  })

  it.each([
    '',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '010.0.0.1',
    '1.2.3',
    '256.0.0.1',
    'fe80::1%eth0',
    '[::1]',
    '::g',
    '1:2:3:4:5:6:7:8:9',
    'é',
    '１.２.３.４', // full-width digits
    'localhost',
  ])('returns undefined for %j', (text) => {
    expect(canonicalAddress(text)).toBeUndefined()
  })

  it('never throws, whatever the string', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60, unit: 'binary' }), (s) => {
        const r = canonicalAddress(s)
        if (r) expect(canonicalAddress(r.address)).toEqual(r)
      }),
      { numRuns: 1000 },
    )
  })

  it('agrees with net.isIP on which short strings over the address alphabet are addresses (no zone ids)', () => {
    const alphabet = fc.constantFrom(...'0123456789abcdefABCDEF:.'.split(''))
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 20 }).map((cs) => cs.join('')),
        (s) => {
          const ours = canonicalAddress(s)
          const kind = net.isIP(s)
          if (kind === 6) expect(ours).toEqual({ address: nodeIPv6(s), family: 'IPv6' })
          else if (kind === 4) expect(ours?.family).toBe('IPv4')
          else expect(ours).toBeUndefined()
        },
      ),
      { numRuns: 2000 },
    )
  })
})

describe('addresses through parse()', () => {
  it('does not depend on the byte offset of the address in the input', () => {
    const words = [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]
    const header = v2Tcp6(wordsToBytes(words), wordsToBytes(words))
    for (let pad = 0; pad < 8; pad++) {
      const backing = new Uint8Array(pad + header.length)
      backing.set(header, pad)
      const r = parse(backing.subarray(pad))
      expect(r.status === 'complete' && r.header.source).toEqual({ address: '2001:db8::1', port: 1 })
    }
  })
})
