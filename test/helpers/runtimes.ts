/**
 * Node, Deno and Bun as runtimes for the built packages (not a test file): where each binary is, how it
 * runs a repo file, and a child process that speaks JSON lines on stdout.
 *
 * Deno and Bun come from the npm registry packages `@deno/linux-x64-glibc@2` and `@oven/bun-linux-x64@1`,
 * which scripts/runtimes.sh unpacks into .cache/runtimes (CI does that first). PROXYPROTO_DENO /
 * PROXYPROTO_BUN name other binaries; else they are looked up on PATH.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { accessSync, constants as fsConstants } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'vitest'
import { findBinary, isCI } from './peers.js'

export type RuntimeName = 'node' | 'deno' | 'bun'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

const CACHED: Record<RuntimeName, string | undefined> = {
  node: undefined,
  deno: `${ROOT}.cache/runtimes/deno/package/deno`,
  bun: `${ROOT}.cache/runtimes/bun/package/bin/bun`,
}

function executable(file: string | undefined): string | undefined {
  if (!file) return undefined
  try {
    accessSync(file, fsConstants.X_OK)
    return file
  } catch {
    return undefined
  }
}

/** The binary of `name`: node is the one running the tests. */
export function runtimeBinary(name: RuntimeName): string | undefined {
  if (name === 'node') return process.execPath
  return (
    executable(process.env[`PROXYPROTO_${name.toUpperCase()}`]) ??
    executable(CACHED[name]) ??
    findBinary(name)
  )
}

/** argv that runs `file` (relative to the repo root, which is the cwd) under `name`. */
export function runtimeArgs(name: RuntimeName, file: string, args: readonly string[] = []): string[] {
  // Deno resolves the bare @proxyproto/* imports through the repo's node_modules only with this flag.
  if (name === 'deno') return ['run', '-A', '--node-modules-dir=manual', file, ...args]
  return [file, ...args]
}

/** argv that runs the node:test file `file` with the runtime's own test command (each implements node:test). */
export function runtimeTestArgs(name: RuntimeName, file: string): string[] {
  // --no-check: the file is plain JS; Deno's type check of the dependency graph alone takes seconds.
  if (name === 'deno') return ['test', '-A', '--no-check', '--node-modules-dir=manual', file]
  if (name === 'bun') return ['test', `./${file}`]
  return ['--test', file]
}

/**
 * `describe(name, fn)` when the runtime's binary exists; otherwise, under CI, a failing test saying so,
 * elsewhere a SKIP line (as describePeer does for HAProxy).
 */
export function describeRuntime(runtime: RuntimeName, name: string, fn: (bin: string) => void): void {
  const bin = runtimeBinary(runtime)
  if (bin) {
    describe(name, () => fn(bin))
    return
  }
  if (isCI()) {
    describe(name, () => {
      it(`requires ${runtime}`, () => {
        throw new Error(
          `${runtime} is required under CI: run scripts/runtimes.sh (or set PROXYPROTO_${runtime.toUpperCase()})`,
        )
      })
    })
    return
  }
  console.log(`SKIP ${name}: ${runtime} not found (scripts/runtimes.sh installs it)`)
  describe.skip(name, () => fn(''))
}

export interface JsonChild {
  child: ChildProcess
  /** Every JSON line printed so far. */
  lines: Array<Record<string, unknown>>
  /** Resolves with the first line (already printed or to come) that `match` accepts; rejects if the process exits first or after timeoutMs. */
  waitFor(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>
  /** stdout lines that were not JSON, and stderr. */
  output(): string
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>
  stop(): Promise<void>
}

/** Starts `bin args` in the repo root, collecting JSON lines from stdout. */
export function startJsonChild(bin: string, args: readonly string[]): JsonChild {
  const child = spawn(bin, [...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  })
  const lines: Array<Record<string, unknown>> = []
  const waiters = new Set<() => void>()
  let text = ''
  let pending = ''
  let exited: string | undefined
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    pending += d
    let i: number
    // biome-ignore lint/suspicious/noAssignInExpressions: line splitter
    while ((i = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, i)
      pending = pending.slice(i + 1)
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>)
      } catch {
        text += `${line}\n`
      }
    }
    for (const w of waiters) w()
  })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    if (text.length < 64 * 1024) text += d
  })
  const done = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = signal ? `killed by ${signal}` : `exited with code ${code}`
      for (const w of waiters) w()
      resolve(code)
    })
    child.once('error', (err) => {
      exited = `failed to start: ${err.message}`
      for (const w of waiters) w()
      resolve(null)
    })
  })
  process.once('exit', () => child.kill('SIGKILL'))
  return {
    child,
    lines,
    output: () => text,
    exited: done,
    waitFor(match, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = lines.find(match)
          if (found) {
            finish()
            resolve(found)
          } else if (exited !== undefined) {
            finish()
            reject(new Error(`${bin} ${exited} before the expected line\n${text}`))
          }
        }
        const timer = setTimeout(() => {
          finish()
          reject(new Error(`timed out waiting for a line from ${bin}\n${text}`))
        }, timeoutMs)
        const finish = (): void => {
          clearTimeout(timer)
          waiters.delete(check)
        }
        waiters.add(check)
        check()
      })
    },
    async stop() {
      if (exited === undefined) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
        await done
        clearTimeout(timer)
      }
    },
  }
}
