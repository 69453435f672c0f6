/**
 * A network namespace of its own for commands from the docs (`unshare -n`, root; CI runs as root): the
 * fixed ports the docs use (8080, 9000, 3000) cannot clash with anything else on the machine, and the
 * balancer addresses they name (127.0.0.23, 10.0.0.5) exist on its loopback interface. Commands run in it
 * with `nsenter`, from the repository root, with node_modules/.bin on PATH.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { readlinkSync } from 'node:fs'
import { ROOT } from './markdown.js'

export const CI = process.env['CI'] === 'true'
export const canNamespace = (() => {
  try {
    execFileSync('unshare', ['-n', 'true'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()
if (!canNamespace && CI)
  throw new Error(
    'docs-commands: `unshare -n` failed; CI runs as root and must be able to create a network namespace',
  )

const ENV = {
  ...process.env,
  PATH: `${ROOT}node_modules/.bin:${process.env['PATH']}`,
  TURBO_TELEMETRY_DISABLED: '1',
  DO_NOT_TRACK: '1',
  NO_COLOR: '1',
  // A benchmark the docs show runs in its quick mode: short runs, no result files written (bench/*.mjs).
  BENCH_QUICK: '1',
}
const live = new Set<ChildProcess>()
export const kill = (child: ChildProcess) => {
  live.delete(child)
  if (child.exitCode === null && child.signalCode === null && child.pid) {
    try {
      process.kill(-child.pid, 'SIGKILL') // the whole group: npm -> turbo -> node
    } catch {}
  }
}
export function killAll(): void {
  for (const child of [...live]) kill(child)
}

export class Namespace {
  readonly holder = spawn('unshare', ['-n', '--', 'sleep', '3600'], { stdio: 'ignore', detached: true })
  constructor() {
    live.add(this.holder)
  }
  sh(command: string, stdin: 'pipe' | 'ignore' = 'ignore'): Proc {
    const child = spawn('nsenter', ['-t', String(this.holder.pid), '-n', '--', 'bash', '-c', command], {
      cwd: ROOT,
      env: ENV,
      detached: true,
      stdio: [stdin, 'pipe', 'pipe'],
    })
    live.add(child)
    return new Proc(child)
  }
  async setUp(): Promise<void> {
    // The holder is in its own namespace once its net namespace differs from ours.
    const own = readlinkSync('/proc/self/ns/net')
    const deadline = Date.now() + 10_000
    while (
      this.holder.pid === undefined ||
      readlinkSync(`/proc/${this.holder.pid}/ns/net`, { encoding: 'utf8' }) === own
    ) {
      if (Date.now() > deadline) throw new Error('unshare -n: no new network namespace within 10 s')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const r = await this.sh('ip link set lo up && ip addr add 10.0.0.5/32 dev lo').exit(10_000)
    if (r.status !== 0) throw new Error(`namespace set-up failed: ${r.output}`)
  }
}

export class Proc {
  output = ''
  private waiters: Array<() => void> = []
  readonly exited: Promise<number | null>
  constructor(readonly child: ChildProcess) {
    const take = (c: Buffer) => {
      this.output += c.toString()
      for (const w of this.waiters) w()
    }
    child.stdout?.on('data', take)
    child.stderr?.on('data', take)
    // 'exit', not 'close': a background process the command left behind may hold its output open.
    this.exited = new Promise((resolve) =>
      child.on('exit', (status) => setTimeout(() => resolve(status), 50)),
    )
  }
  /** Resolves with the match once the output matches `re`; rejects after `ms` or when the process ends first. */
  waitFor(re: RegExp, ms: number): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = re.exec(this.output)
        if (m) {
          clearTimeout(timer)
          resolve(m)
        }
      }
      const timer = setTimeout(
        () => reject(new Error(`no ${re} within ${ms} ms; output:\n${this.output}`)),
        ms,
      )
      this.waiters.push(check)
      void this.exited.then(() => {
        check()
        clearTimeout(timer)
        reject(new Error(`exited before printing ${re}; output:\n${this.output}`))
      })
      check()
    })
  }
  async exit(ms: number): Promise<{ status: number | null; output: string }> {
    const timer = setTimeout(() => kill(this.child), ms)
    const status = await this.exited
    clearTimeout(timer)
    live.delete(this.child)
    return { status, output: this.output }
  }
}
