/**
 * `app.use(proxy)` without `proxy.attach(server)` behind a balancer: Node's HTTP parser answers 400
 * before the middleware runs. That must be loud: one process warning per server, naming the line to add,
 * with Node's own answer unchanged.
 */
import { once } from 'node:events'
import http from 'node:http'
import type net from 'node:net'
import { proxyProtocol } from '@proxyproto/express'
import express from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { closeServer, connect, listen, v1, v2 } from './helpers.js'

const servers: net.Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer))
})

type Warning = Error & { code?: string }

async function warningsDuring(fn: () => Promise<void>): Promise<Warning[]> {
  const seen: Warning[] = []
  const onWarning = (w: Warning): void => {
    if (w.code === 'ERR_PROXY_SERVER_NOT_PREPARED') seen.push(w)
  }
  process.on('warning', onWarning)
  try {
    await fn()
    await new Promise((r) => setImmediate(r)) // 'warning' is emitted on the next tick
  } finally {
    process.off('warning', onWarning)
  }
  return seen
}

/** Sends `bytes` and resolves with everything the server answers before it closes. */
async function exchange(port: number, bytes: Buffer): Promise<string> {
  const c = await connect(port)
  const chunks: Buffer[] = []
  c.on('data', (d: Buffer) => chunks.push(d))
  c.on('error', () => {})
  c.write(bytes)
  await once(c, 'close')
  return Buffer.concat(chunks).toString('latin1')
}

function app(): express.Express {
  const a = express()
  a.use(proxyProtocol())
  a.get('/', (_req, res) => res.send('ok'))
  return a
}

const request = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')

describe('an Express app whose server was not attached', () => {
  it('warns once per server with ERR_PROXY_SERVER_NOT_PREPARED when PROXY headers reach it, and Node still answers 400', async () => {
    const server = http.createServer(app())
    servers.push(server)
    const port = await listen(server)
    const answers: string[] = []
    const warnings = await warningsDuring(async () => {
      answers.push(await exchange(port, Buffer.concat([v1(), request])))
      answers.push(await exchange(port, Buffer.concat([v2(), request])))
    })
    for (const a of answers) expect(a).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]!.message).toContain('proxy.attach(')
    expect(warnings[0]!.message).toContain('127.0.0.1')
  })

  it('warns for a v2 header too, on another server', async () => {
    const server = http.createServer(app())
    servers.push(server)
    const port = await listen(server)
    const warnings = await warningsDuring(async () => {
      await exchange(port, Buffer.concat([v2(), request]))
    })
    expect(warnings).toHaveLength(1)
  })

  it('stays quiet for a malformed request that is not a PROXY header, and for an attached server', async () => {
    const plain = http.createServer(app())
    const proxy = proxyProtocol()
    const a = express()
    a.use(proxy)
    a.get('/', (_req, res) => res.send('ok'))
    const attached = proxy.attach(http.createServer(a))
    servers.push(plain, attached)
    const plainPort = await listen(plain)
    const attachedPort = await listen(attached)
    const answers: string[] = []
    const warnings = await warningsDuring(async () => {
      answers.push(await exchange(plainPort, Buffer.from('BREW / HTCPCP/1.0\r\n\r\n')))
      answers.push(
        await exchange(
          attachedPort,
          Buffer.concat([v1(), Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]),
        ),
      )
    })
    expect(answers[0]).toMatch(/^HTTP\/1\.1 400 /)
    expect(answers[1]).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/)
    expect(warnings).toEqual([])
  })

  it("leaves a user's own clientError listener in charge of the answer", async () => {
    const server = http.createServer(app())
    server.on('clientError', (_err, socket: net.Socket) => socket.end('HTTP/1.1 418 I am a teapot\r\n\r\n'))
    servers.push(server)
    const port = await listen(server)
    const warnings = await warningsDuring(async () => {
      expect(await exchange(port, Buffer.concat([v1(), request]))).toBe('HTTP/1.1 418 I am a teapot\r\n\r\n')
    })
    expect(warnings).toHaveLength(1)
  })
})
