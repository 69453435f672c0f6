/**
 * dnsdist as a real peer, in front of examples/dns (the DNS responder built on withProxyProtocol for a
 * dgram socket and a net server). A query from 127.0.0.23 through dnsdist must be answered with
 * 127.0.0.23, over UDP (a v2 DGRAM header on every datagram) and over TCP (a v2 STREAM header), and the
 * answer must come back through dnsdist to the client.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import dgram from 'node:dgram'
import { Resolver } from 'node:dns/promises'
import { once } from 'node:events'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
// @ts-expect-error: a plain ESM example without types
import { readTxtAnswer, txtQuery } from '../examples/dns/dns.mjs'
import { type Dnsdist, startDnsdist } from './helpers/dnsdist.js'
import { describePeer } from './helpers/peers.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CLIENT_ADDRESS = '127.0.0.23'

interface Example {
  child: ChildProcess
  port: number
  output(): string
  waitFor(pattern: RegExp): Promise<void>
}

async function startDnsExample(): Promise<Example> {
  const child = spawn(process.execPath, ['examples/dns/server.mjs'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', TRUST: 'loopback' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let wake = (): void => {}
  const append = (d: string): void => {
    out += d
    wake()
  }
  child.stdout!.setEncoding('utf8').on('data', append)
  child.stderr!.setEncoding('utf8').on('data', append)
  const waitFor = async (pattern: RegExp): Promise<void> => {
    const deadline = Date.now() + 15_000
    while (!pattern.test(out)) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`no ${pattern} in the example's output:\n${out}`)
      await new Promise<void>((r) => {
        wake = r
        setTimeout(r, 500)
      })
    }
  }
  await waitFor(/^listening on 127\.0\.0\.1:\d+$/m)
  const port = Number(/^listening on 127\.0\.0\.1:(\d+)$/m.exec(out)![1])
  return { child, port, output: () => out, waitFor }
}

async function udpQuery(port: number, id: number): Promise<{ id: number; texts: string[] }> {
  const socket = dgram.createSocket('udp4')
  socket.bind(0, CLIENT_ADDRESS)
  await once(socket, 'listening')
  try {
    const reply = once(socket, 'message')
    socket.send(txtQuery(id, 'whoami.test'), port, '127.0.0.1')
    const [msg] = (await Promise.race([
      reply,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no DNS answer within 5 s')), 5000)),
    ])) as [Buffer]
    return readTxtAnswer(msg)
  } finally {
    socket.close()
  }
}

async function tcpQuery(port: number, id: number): Promise<{ id: number; texts: string[] }> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: CLIENT_ADDRESS })
  await once(socket, 'connect')
  const query = txtQuery(id, 'whoami.test')
  const length = Buffer.alloc(2)
  length.writeUInt16BE(query.length)
  socket.write(Buffer.concat([length, query]))
  let buffered = Buffer.alloc(0)
  for await (const chunk of socket) {
    buffered = Buffer.concat([buffered, chunk as Buffer])
    if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) break
  }
  socket.destroy()
  return readTxtAnswer(buffered.subarray(2))
}

describePeer('dnsdist in front of the UDP/TCP DNS example', ['dnsdist'], () => {
  let example: Example
  let dnsdist: Dnsdist
  beforeAll(async () => {
    example = await startDnsExample()
    dnsdist = await startDnsdist(example.port)
  })
  afterAll(() => {
    example?.child.kill('SIGTERM')
  })

  it('answers a UDP query from 127.0.0.23 with 127.0.0.23, through dnsdist and back', async () => {
    expect(await udpQuery(dnsdist.port, 4242)).toEqual({ id: 4242, texts: [CLIENT_ADDRESS] })
    // dnsdist rewrote the query id towards the backend, and restored it: the answer reached us through it.
    await example.waitFor(
      new RegExp(`whoami\\.test TXT from ${CLIENT_ADDRESS.replace(/\./g, '\\.')} via 127\\.0\\.0\\.1:\\d+`),
    )
  })

  it('answers a TCP query from 127.0.0.23 with 127.0.0.23 (a v2 STREAM header to withProxyProtocol on a net server)', async () => {
    expect(await tcpQuery(dnsdist.port, 777)).toEqual({ id: 777, texts: [CLIENT_ADDRESS] })
  })

  it("answers Node's own resolver (c-ares) bound to 127.0.0.23", async () => {
    const resolver = new Resolver({ timeout: 3000, tries: 1 })
    resolver.setServers([`127.0.0.1:${dnsdist.port}`])
    resolver.setLocalAddress(CLIENT_ADDRESS)
    expect(await resolver.resolveTxt('whoami.test')).toEqual([[CLIENT_ADDRESS]])
  })

  it("answers dnsdist's health checks (LOCAL headers) as coming from dnsdist itself", async () => {
    const checked = await startDnsdist(example.port, { up: false })
    try {
      // dnsdist's default check asks a.root-servers.net type A; LOCAL: the example sees the peer, no "via".
      await example.waitFor(/^a\.root-servers\.net type 1 from 127\.0\.0\.1$/m)
      expect(await udpQuery(checked.port, 9)).toEqual({ id: 9, texts: [CLIENT_ADDRESS] })
    } finally {
      await checked.stop()
    }
  })
})
