/**
 * The go-proxyproto peer (test/go-peer/main.go on pires/go-proxyproto 0.4.2 from Debian's
 * golang-github-pires-go-proxyproto-dev), built offline in GOPATH mode once and shared by every suite:
 * the binary lives in the temp dir under a name derived from the source's hash and the Go version, and
 * a mkdir lock makes concurrent suites wait for one build instead of starting their own (Go builds are
 * CPU-heavy on a shared machine).
 */
import { execFile, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { copyFile, mkdir, rename } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

export const GO_PROXYPROTO_DIR = '/usr/share/gocode/src/github.com/pires/go-proxyproto'
const SOURCE = fileURLToPath(new URL('../go-peer/main.go', import.meta.url))
const run = promisify(execFile)

let built: Promise<string> | undefined

/** Path of the built peer; builds it on first use (per machine, per source version). */
export function goPeer(): Promise<string> {
  built ??= build()
  return built
}

async function build(): Promise<string> {
  if (!existsSync(GO_PROXYPROTO_DIR)) {
    throw new Error(`${GO_PROXYPROTO_DIR} is missing: apt-get install golang-github-pires-go-proxyproto-dev`)
  }
  const { stdout: goVersion } = await run('go', ['version'])
  const hash = createHash('sha256').update(readFileSync(SOURCE)).update(goVersion).digest('hex').slice(0, 16)
  const root = join(tmpdir(), `proxyproto-go-peer-${hash}`)
  const binary = join(root, 'peer')
  const lock = join(tmpdir(), `proxyproto-go-peer-${hash}.lock`)
  for (;;) {
    if (existsSync(binary)) return binary
    try {
      mkdirSync(lock)
    } catch {
      // Another suite is building: wait for its binary (a lock older than 5 minutes is a dead build).
      try {
        if (Date.now() - statSync(lock).mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true })
      } catch {
        // gone meanwhile
      }
      await new Promise((r) => setTimeout(r, 200))
      continue
    }
    try {
      const work = join(root, `build-${process.pid}`)
      const pkg = join(work, 'src', 'peer')
      await mkdir(pkg, { recursive: true })
      await copyFile(SOURCE, join(pkg, 'main.go'))
      await run('go', ['build', '-o', join(work, 'peer'), '.'], {
        cwd: pkg,
        env: {
          ...process.env,
          GO111MODULE: 'off',
          GOPATH: `${work}:/usr/share/gocode`,
          GOCACHE: join(root, 'cache'),
          GOFLAGS: '',
        },
      })
      await rename(join(work, 'peer'), binary) // atomic: waiters never see half a file
      rmSync(work, { recursive: true, force: true })
      return binary
    } finally {
      rmSync(lock, { recursive: true, force: true })
    }
  }
}

export interface GoResult {
  status: number | null
  stdout: string
  stderr: string
}

/** Runs the peer to completion. */
export async function runGo(args: readonly string[], input?: string): Promise<GoResult> {
  const child = spawn(await goPeer(), args, { stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c))
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
  child.stdin.on('error', () => {})
  child.stdin.end(input)
  const [status] = (await once(child, 'close')) as [number | null]
  return { status, stdout, stderr }
}

/** Starts `recv-tcp`, resolves with its port and the JSON line it prints once it got a connection. */
export async function goReceiver(): Promise<{
  port: number
  received: Promise<Record<string, unknown>>
  kill(): void
}> {
  const child = spawn(await goPeer(), ['recv-tcp', '-listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  let rest = ''
  let wake: () => void = () => {}
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    const parts = (rest + c).split('\n')
    rest = parts.pop()!
    lines.push(...parts)
    wake()
  })
  const exited = once(child, 'close')
  const line = async (match: RegExp): Promise<string> => {
    for (;;) {
      const found = lines.find((l) => match.test(l))
      if (found !== undefined) return found
      if (child.exitCode !== null)
        throw new Error(`go-peer exited without a line matching ${match}: ${lines.join('\n')}`)
      await Promise.race([new Promise<void>((r) => (wake = r)), exited])
    }
  }
  const port = Number(/:(\d+)$/.exec(await line(/^listening on /))![1])
  return {
    port,
    received: line(/^\{/).then((l) => JSON.parse(l) as Record<string, unknown>),
    kill: () => child.kill('SIGKILL'),
  }
}
