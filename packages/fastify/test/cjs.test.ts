/**
 * The CommonJS entry, as a CommonJS user gets it: Node's own require() (not vitest's aliases) resolves the
 * package's `require` condition to cjs/index.cjs over the built dist/ (run `npm run build` first).
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import type net from 'node:net'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { FastifyInstance } from 'fastify'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT, get, headerAgent, v2 } from './helpers.js'

const require = createRequire(import.meta.url)
const DIST = fileURLToPath(new URL('../dist/index.cjs', import.meta.url))

beforeAll(() => {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run "npm run build" first`)
})

const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()))
})

describe('@proxyproto/fastify from CommonJS', () => {
  it('require() returns the plugin itself, with every named export on it', () => {
    const plugin = require('@proxyproto/fastify')
    expect(require.resolve('@proxyproto/fastify')).toMatch(/packages\/fastify\/cjs\/index\.cjs$/)
    expect(typeof plugin).toBe('function')
    expect(plugin.default).toBe(plugin)
    expect(plugin.proxyProtocol).toBe(plugin)
    expect(typeof plugin.getProxyInfo).toBe('function')
    expect(plugin.ErrorCodes.HEADER_TIMEOUT).toBe('ERR_PROXY_HEADER_TIMEOUT')
    expect(new plugin.ProxyProtocolError(plugin.ErrorCodes.REJECTED, 'x')).toBeInstanceOf(Error)
  })

  it.each(['fastify', 'fastify4'])(
    'registers without .default on %s, and request.ip is the client',
    async (name) => {
      const Fastify = require(name)
      const app: FastifyInstance = Fastify({ forceCloseConnections: true })
      apps.push(app)
      app.register(require('@proxyproto/fastify'))
      app.get('/', async (request) => ({ ip: request.ip, version: request.proxyHeader?.version }))
      await app.listen({ port: 0, host: '127.0.0.1' })
      const port = (app.server.address() as net.AddressInfo).port
      const agent = headerAgent(v2())
      try {
        expect((await get(port, '/', agent)).json).toEqual({ ip: CLIENT.address, version: 2 })
      } finally {
        agent.destroy()
      }
    },
  )

  it('type-checks for a CommonJS TypeScript user: import proxyProtocol = require(...) (test/cjs/register.cts)', async () => {
    const tsc = fileURLToPath(new URL('../../../node_modules/typescript/bin/tsc', import.meta.url))
    const project = fileURLToPath(new URL('./cjs/tsconfig.json', import.meta.url))
    const result = await promisify(execFile)(process.execPath, [tsc, '-p', project]).then(
      () => ({ code: 0, output: '' }),
      (err: { code: number; stdout: string; stderr: string }) => ({
        code: err.code,
        output: err.stdout + err.stderr,
      }),
    )
    expect(result).toEqual({ code: 0, output: '' })
  }, 60_000)
})
