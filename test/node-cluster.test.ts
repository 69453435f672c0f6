/**
 * @proxyproto/node in a node:cluster app: test/fixtures/cluster-server.mjs forks two workers, each
 * with an http server prepared by the BUILT package (packages/node/dist; `npm test` builds first).
 * The primary accepts connections and hands them to the workers (round-robin): the header must still
 * be read in the worker that gets the socket.
 *
 *   test process (the balancer, 127.0.0.1) --PROXY v1/v2 header + request--> cluster primary --> worker
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { encode } from '@proxyproto/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BALANCER_ADDRESS, runPool, connect, untilClosed, waitFor } from './helpers/sockets.js'

const FIXTURE = fileURLToPath(new URL('./fixtures/cluster-server.mjs', import.meta.url))
const DIST = fileURLToPath(new URL('../packages/node/dist/index.js', import.meta.url))

interface Started {
  port: number
  primary: number
  workers: number[]
}

interface Reply {
  pid: number
  address: string
  port: number
  family: string
  peer: string
  version: number
  command: string
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

describe('@proxyproto/node in a node:cluster app with two workers', () => {
  let child: ChildProcess | undefined
  let started: Started
  let stderr = ''

  beforeAll(async () => {
    if (!existsSync(DIST))
      throw new Error(`${DIST} is missing: run \`npx turbo run build --filter=@proxyproto/node\` first`)
    child = spawn(process.execPath, [FIXTURE, '2'], { stdio: ['pipe', 'pipe', 'pipe'] })
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    started = await new Promise<Started>((resolve, reject) => {
      let out = ''
      const timer = setTimeout(
        () => reject(new Error(`cluster did not start within 20 s: ${stderr}`)),
        20_000,
      )
      child!.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d
        const nl = out.indexOf('\n')
        if (nl >= 0) {
          clearTimeout(timer)
          resolve(JSON.parse(out.slice(0, nl)) as Started)
        }
      })
      child!.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(new Error(`cluster exited (${code ?? signal}) before listening: ${stderr}`))
      })
    })
  })

  afterAll(async () => {
    // Normally stopped by the last test; make sure nothing outlives a failure.
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await once(child, 'exit')
    }
    for (const pid of started?.workers ?? []) if (alive(pid)) process.kill(pid, 'SIGKILL')
  })

  async function request(header: Uint8Array, path: string): Promise<Reply> {
    const socket = await connect(started.port)
    const closed = untilClosed(socket)
    socket.write(
      Buffer.concat([header, Buffer.from(`GET ${path} HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n`)]),
    )
    const text = (await closed).data.toString('latin1')
    expect(text).toMatch(/^HTTP\/1\.1 200 /)
    return JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Reply
  }

  it('starts two workers sharing one port', () => {
    expect(started.workers).toHaveLength(2)
    expect(new Set(started.workers).size).toBe(2)
    expect(started.port).toBeGreaterThan(0)
  })

  it('every reply, from either worker, reports the client named in its v1 or v2 header, and both workers answer', async () => {
    const count = 24
    const replies: Array<{ expected: { address: string; port: number; version: 1 | 2 }; reply: Reply }> = []
    await runPool(count, 4, async (i) => {
      const version = (i % 2 === 0 ? 1 : 2) as 1 | 2
      const ipv6 = i % 3 === 0
      const source = ipv6
        ? { address: `2001:db8::${(i + 1).toString(16)}`, port: 40000 + i }
        : { address: `203.0.113.${i + 1}`, port: 50000 + i }
      const destination = ipv6 ? { address: '2001:db8::1', port: 443 } : { address: '192.0.2.1', port: 443 }
      const header = encode(
        { version, family: ipv6 ? 'IPv6' : 'IPv4', source, destination },
        version === 2 ? { crc32c: i % 4 === 1 } : {},
      )
      const reply = await request(header, `/r${i}`)
      replies.push({ expected: { ...source, version }, reply })
    })
    expect(replies).toHaveLength(count)
    for (const { expected, reply } of replies) {
      expect(reply).toMatchObject({
        address: expected.address,
        port: expected.port,
        family: expected.address.includes(':') ? 'IPv6' : 'IPv4',
        peer: BALANCER_ADDRESS,
        version: expected.version,
        command: 'PROXY',
      })
      expect(started.workers).toContain(reply.pid)
    }
    const pids = new Set(replies.map((r) => r.reply.pid))
    expect([...pids].sort()).toEqual([...started.workers].sort())
  })

  it('a LOCAL header in a worker reports the balancer itself', async () => {
    const reply = await request(encode({ version: 2, command: 'LOCAL' }), '/local')
    expect(reply).toMatchObject({
      address: BALANCER_ADDRESS,
      peer: BALANCER_ADDRESS,
      version: 2,
      command: 'LOCAL',
    })
  })

  it('stops the primary and both workers on SIGTERM', async () => {
    const c = child!
    const exited = once(c, 'exit')
    c.kill('SIGTERM')
    const [code, signal] = (await exited) as [number | null, string | null]
    expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' })
    await waitFor(
      () => !alive(started.primary) && started.workers.every((pid) => !alive(pid)),
      'primary and workers to exit',
    )
  })
})
