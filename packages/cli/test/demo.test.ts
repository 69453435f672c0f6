import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { noStack } from './helpers.js'

// examples/demo runs the relay from this package against the express and ws adapters.
const DEMO = fileURLToPath(new URL('../../../examples/demo/demo.mjs', import.meta.url))
const NEEDS = ['express', 'ws'].map((p) =>
  fileURLToPath(new URL(`../../${p}/dist/index.js`, import.meta.url)),
)

describe('examples/demo', () => {
  it('exits 1 with a one-line hint, not a stack trace, when the client address cannot be bound', async () => {
    for (const file of NEEDS)
      if (!existsSync(file)) throw new Error(`${file} is missing: run "npx turbo run build" first`)
    // 192.0.2.1 (TEST-NET-1) is on no interface: the bind fails as 127.0.0.23 does on macOS.
    const child = spawn(process.execPath, [DEMO, '--client', '192.0.2.1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    const [status] = await once(child, 'close')
    expect(status).toBe(1)
    expect(stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^error EADDRNOTAVAIL: .*sudo ifconfig lo0 alias 192\.0\.2\.1$/),
    ])
    expect(noStack(stderr)).toBe(true)
  })
})
