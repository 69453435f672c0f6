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

  for (const name of ['relay', 'echo', 'decode', 'encode']) {
    it(`${name} accepts --json, and then prints a usage error as one JSON object on stderr, status 1`, async () => {
      const r = await run([name, '--json', '--nope'])
      expect(r.status).toBe(1)
      expect(r.stdout.length).toBe(0)
      const lines = r.stderr.trimEnd().split('\n')
      expect(lines).toHaveLength(1)
      expect(JSON.parse(lines[0]!)).toEqual({
        error: 'ERR_PARSE_ARGS_UNKNOWN_OPTION',
        message: expect.stringMatching(/^Unknown option '--nope'/),
        offset: null,
        hint: `Run "proxyproto ${name} --help" for the options.`,
      })
    })
  }

  it('--json errors carry the code and the offset of a bad header, and ERR_USAGE for usage errors', async () => {
    const bad = await run([
      'decode',
      '--json',
      Buffer.from('PROXY TCP4 1.2.3.4 10.0.0.1 1 99999\r\n').toString('hex'),
    ])
    expect(bad.status).toBe(1)
    expect(JSON.parse(bad.stderr)).toEqual({
      error: 'ERR_PROXY_V1_BAD_PORT',
      message: expect.any(String),
      offset: 30,
    })
    const usage = await run(['echo', '--json'])
    expect(usage.status).toBe(1)
    expect(JSON.parse(usage.stderr)).toEqual({
      error: 'ERR_USAGE',
      message: '--listen [HOST:]PORT is required',
      offset: null,
    })
    // After "--" it is an operand, not the flag.
    const operand = await run(['decode', '--', '--json'])
    expect(operand.stderr).toMatch(/^error: "--json" is not an even number of hex digits/)
  })

  it('an unknown command is a one-line error with status 1', async () => {
    const r = await run(['frobnicate'])
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/^error: unknown command "frobnicate"/)
    expect(noStack(r.stderr)).toBe(true)
  })
})
