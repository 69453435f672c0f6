import { execFile } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, BIN, noStack, run } from './helpers.js'

beforeAll(assertBuilt)

describe('proxyproto', () => {
  it('dist/bin.js starts with a node shebang and is executable', async () => {
    expect(readFileSync(BIN, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true)
    expect(statSync(BIN).mode & 0o111).not.toBe(0)
    const { stdout } = await promisify(execFile)(BIN, ['--version'])
    expect(stdout.trim()).toBe(
      JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version,
    )
  })

  it('--help lists every subcommand; no command prints it on stderr with status 1', async () => {
    const r = await run(['--help'])
    expect(r.status).toBe(0)
    for (const name of ['relay', 'echo', 'decode', 'encode'])
      expect(r.stdout.toString()).toMatch(new RegExp(`^  ${name} `, 'm'))
    const none = await run([])
    expect(none.status).toBe(1)
    expect(none.stderr).toContain('Usage: proxyproto <command>')
  })

  for (const name of ['relay', 'echo', 'decode', 'encode']) {
    it(`${name} --help, -h and "help ${name}" print its usage with an example`, async () => {
      for (const args of [
        [name, '--help'],
        [name, '-h'],
        ['help', name],
      ]) {
        const r = await run(args)
        expect(r.status).toBe(0)
        const text = r.stdout.toString()
        expect(text).toMatch(new RegExp(`^Usage: proxyproto ${name} `))
        expect(text).toMatch(new RegExp(`Examples:\\n  proxyproto ${name} `))
      }
    })
  }

  it('an unknown command is a one-line error with status 1', async () => {
    const r = await run(['frobnicate'])
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/^error: unknown command "frobnicate"/)
    expect(noStack(r.stderr)).toBe(true)
  })
})
