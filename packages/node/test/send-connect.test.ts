import { once } from 'node:events'
import net from 'node:net'
import tls from 'node:tls'
import { encode, parse, type ProxyHeader, tlv } from '@proxyproto/core'
import { connect, ErrorCodes, getProxyInfo, withProxyProtocol } from '@proxyproto/node'
import { afterEach, describe, expect, it } from 'vitest'
import { closeServer, listen, tlsOptions } from './helpers.js'

const servers: net.Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer))
})

interface Received {
  header: ProxyHeader
  headerBytes: Buffer
  rest: Buffer
}

/** A plain TCP server that records everything each connection sends until it ends, split at the header. */
async function recorder(
  host = '127.0.0.1',
): Promise<{ port: number; next: () => Promise<Received>; connections: () => number }> {
  const done: Promise<Received>[] = []
  let connections = 0
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    connections++
    done.push(
      new Promise((resolve, reject) => {
        const chunks: Buffer[] = []
        socket.on('data', (c: Buffer) => chunks.push(c))
        socket.on('error', reject)
        socket.on('end', () => {
          socket.end()
          const all = Buffer.concat(chunks)
          const result = parse(all)
          if (result.status !== 'complete') return reject(new Error(`no header in ${all.toString('hex')}`))
          resolve({
            header: result.header,
            headerBytes: all.subarray(0, result.length),
            rest: all.subarray(result.length),
          })
        })
      }),
    )
  })
  servers.push(server)
  const port = await listen(server, host)
  return {
    port,
    connections: () => connections,
    next: async () => {
      while (done.length === 0) await once(server, 'connection')
      return done.shift()!
    },
  }
}

describe('connect()', () => {
  it('writes the header before bytes written before the connection is established', async () => {
    const r = await recorder()
    const socket = connect({ host: '127.0.0.1', port: r.port, proxyHeader: { source: '203.0.113.7:51234' } })
    expect(socket.connecting).toBe(true)
    socket.write('hello ')
    socket.end('world')
    const got = await r.next()
    expect(got.header).toMatchObject({
      version: 2,
      command: 'PROXY',
      family: 'IPv4',
      transport: 'STREAM',
      source: { address: '203.0.113.7', port: 51234 },
      destination: { address: '127.0.0.1', port: r.port },
    })
    expect(got.rest.toString()).toBe('hello world')
  })

  it('defaults the destination to the address it connects to, resolved from a host name', async () => {
    const r = await recorder()
    const socket = connect({
      host: 'localhost',
      family: 4,
      port: r.port,
      proxyHeader: { version: 1, source: '203.0.113.7:1' },
    })
    socket.end()
    const got = await r.next()
    expect(got.headerBytes.toString('latin1')).toBe(`PROXY TCP4 203.0.113.7 127.0.0.1 1 ${r.port}\r\n`)
  })

  it('writes an IPv4 client reaching an IPv6 address as ::ffff:a.b.c.d in one IPv6 header (v1 never mixes families)', async () => {
    const r = await recorder('::1')
    connect({ host: '::1', port: r.port, proxyHeader: { version: 1, source: '203.0.113.7:1' } }).end()
    expect((await r.next()).headerBytes.toString('latin1')).toBe(
      `PROXY TCP6 ::ffff:203.0.113.7 ::1 1 ${r.port}\r\n`,
    )
    connect({ host: '::1', port: r.port, proxyHeader: { source: { address: '203.0.113.7', port: 2 } } }).end()
    expect((await r.next()).header).toMatchObject({
      family: 'IPv6',
      source: { address: '::ffff:203.0.113.7', port: 2 },
      destination: { address: '::1', port: r.port },
    })
  })

  it('sends a given destination, TLVs and a CRC32C byte for byte as encode() writes them', async () => {
    const r = await recorder()
    const tlvs = [tlv.authority('example.com'), tlv.uniqueId('req-1')]
    connect({
      host: '127.0.0.1',
      port: r.port,
      proxyHeader: { source: '[2001:db8::7]:40000', destination: '[2001:db8::1]:443', tlvs, crc32c: true },
    }).end()
    const expected = encode(
      {
        version: 2,
        command: 'PROXY',
        family: 'IPv6',
        transport: 'STREAM',
        source: { address: '2001:db8::7', port: 40000 },
        destination: { address: '2001:db8::1', port: 443 },
        tlvs,
      },
      { crc32c: true },
    )
    expect((await r.next()).headerBytes.toString('hex')).toBe(Buffer.from(expected).toString('hex'))
  })

  it('sends a whole HeaderInput (recognised by its family or command) as given, LOCAL included', async () => {
    const r = await recorder()
    connect({ host: '127.0.0.1', port: r.port, proxyHeader: { version: 2, command: 'LOCAL' } }).end('x')
    const got = await r.next()
    expect(got.headerBytes.toString('hex')).toBe('0d0a0d0a000d0a515549540a20000000')
    expect(got.rest.toString()).toBe('x')
  })

  it('with tls, writes the header before the TLS ClientHello (0x16 follows the header)', async () => {
    const firstBytes = new Promise<Buffer>((resolve) => {
      const server = net.createServer((s) => {
        let buffered = Buffer.alloc(0)
        s.on('error', () => {})
        s.on('data', (c: Buffer) => {
          buffered = Buffer.concat([buffered, c])
          const result = parse(buffered)
          if (result.status === 'complete' && buffered.length > result.length) {
            resolve(buffered)
            s.destroy()
          }
        })
      })
      servers.push(server)
    })
    const port = await listen(servers.at(-1)!)
    connect({
      host: '127.0.0.1',
      port,
      proxyHeader: { source: '203.0.113.7:1' },
      tls: { rejectUnauthorized: false },
    }).on('error', () => {})
    const bytes = await firstBytes
    const result = parse(bytes)
    expect(result.status === 'complete' && result.header.source).toEqual({ address: '203.0.113.7', port: 1 })
    expect(result.status === 'complete' && bytes[result.length]).toBe(0x16) // TLS handshake record (RFC 8446 §5.1)
  })

  it('with tls, a TLS server prepared with withProxyProtocol completes the handshake and sees the named client', async () => {
    const server = withProxyProtocol(
      tls.createServer(tlsOptions, (s) =>
        s.end(`${s.remoteAddress}:${s.remotePort} v${getProxyInfo(s)?.header?.version}`),
      ),
    )
    servers.push(server)
    const port = await listen(server)
    const socket = connect({
      host: '127.0.0.1',
      port,
      proxyHeader: { version: 1, source: '203.0.113.7:51234' },
      tls: { rejectUnauthorized: false },
    })
    socket.setEncoding('utf8')
    let answer = ''
    socket.on('data', (d: string) => {
      answer += d
    })
    await once(socket, 'end')
    expect(answer).toBe('203.0.113.7:51234 v1')
  })

  it('with tls, a refused connection is one error on the TLS socket', async () => {
    const closed = net.createServer()
    const port = await listen(closed)
    await closeServer(closed) // nothing listens on the port any more
    const socket = connect({ host: '127.0.0.1', port, proxyHeader: { source: '203.0.113.7:1' }, tls: true })
    const errors: string[] = []
    socket.on('error', (err: NodeJS.ErrnoException) => errors.push(err.code ?? err.message))
    await new Promise((resolve) => socket.once('close', resolve))
    await new Promise((resolve) => setImmediate(resolve))
    expect(errors).toEqual(['ECONNREFUSED'])
  })

  it('refuses bad input synchronously with ERR_PROXY_ENCODE_INVALID and opens no socket', async () => {
    const r = await recorder()
    const bad: unknown[] = [
      undefined,
      'PROXY TCP4 1.2.3.4',
      { source: 'nope' },
      { source: '203.0.113.7' }, // no port
      { source: '203.0.113.7:65536' },
      { source: { address: 'example.com', port: 1 } },
      { source: '203.0.113.7:1', version: 3 },
      { source: '203.0.113.7:1', version: 1, tlvs: [tlv.authority('a')] },
      { source: '203.0.113.7:1', version: 1, crc32c: true },
      { source: '203.0.113.7:1', crc32c: 'yes' },
      { source: '203.0.113.7:1', tlvs: [{ type: 0x03, value: new Uint8Array(4) }] },
      { source: '203.0.113.7:1', tlvs: [{ type: 0x02, value: 'text' }] },
      { version: 2, family: 'IPv4', source: { address: '1.2.3.4', port: 1 } }, // no destination
    ]
    for (const proxyHeader of bad) {
      expect(
        () => connect({ host: '127.0.0.1', port: r.port, proxyHeader } as never),
        JSON.stringify(proxyHeader),
      ).toThrow(expect.objectContaining({ code: ErrorCodes.ENCODE_INVALID }))
    }
    // The next good connection is the first the server sees.
    connect({ host: '127.0.0.1', port: r.port, proxyHeader: { source: '203.0.113.9:9' } }).end()
    expect((await r.next()).header.source).toEqual({ address: '203.0.113.9', port: 9 })
    expect(r.connections()).toBe(1)
  })
})
