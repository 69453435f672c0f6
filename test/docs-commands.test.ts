/**
 * Every shell command in every README and docs page, run as written after the README's set-up
 * (`npm ci && npm run build`, which .ci/run does from its clean clone): a command that ends must exit 0
 * (or with the status the docs say it fails with), a server must print "listening on HOST:PORT" within
 * 30 s and answer one request made through the balancer it names, and a command that cannot run here
 * (a real cloud account, the set-up step itself) is excluded by a rule in test/docs/commands.ts that
 * says why. A command no rule covers fails the test.
 *
 * Each README runs in a network namespace of its own (`unshare -n`, root; CI runs as root), so the fixed
 * ports the docs use (8080, 9000, 3000) cannot clash with anything else on the machine, and the
 * balancer addresses they name (127.0.0.23, 10.0.0.5) exist on its loopback interface. `proxyproto`
 * runs from node_modules/.bin, as after `npm install --global @proxyproto/cli`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdirSync, readlinkSync, writeFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { BEFORE, commandsOf, isTranscript, type Plan, planFor } from './docs/commands.js'
import { blocks, docFiles, ROOT } from './docs/markdown.js'

const CI = process.env['CI'] === 'true'
const canNamespace = (() => {
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
}
const live = new Set<ChildProcess>()
const kill = (child: ChildProcess) => {
  live.delete(child)
  if (child.exitCode === null && child.signalCode === null && child.pid) {
    try {
      process.kill(-child.pid, 'SIGKILL') // the whole group: npm -> turbo -> node
    } catch {}
  }
}
afterAll(() => {
  for (const child of [...live]) kill(child)
})

class Namespace {
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

class Proc {
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
    this.exited = new Promise((resolve) => child.on('close', (status) => resolve(status)))
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

const hostOf = (printed: string) =>
  printed === '0.0.0.0' || printed === '[::]' || printed === '::'
    ? '127.0.0.1'
    : printed.replace(/^\[|\]$/g, '')

async function probe(
  ns: Namespace,
  target: { host: string; port: number },
  plan: Extract<Plan, { kind: 'server' }>,
): Promise<string> {
  const args = JSON.stringify({
    ...target,
    from: plan.from ?? '127.0.0.1',
    mode: plan.probe,
    path: plan.path,
  })
  const r = await ns.sh(`node test/docs/probe.mjs '${args}'`).exit(15_000)
  return r.output
}

const files = docFiles()
  .map((file) => ({
    file,
    shell: blocks(file).filter((b) => b.lang === 'sh' || b.lang === 'bash' || b.lang === 'shell'),
  }))
  .filter((f) => f.shell.length > 0)

describe.skipIf(!canNamespace)('every shell command in the docs runs as written', () => {
  if (!canNamespace)
    console.warn('docs-commands: skipped, `unshare -n` is not available here (not root?); CI runs it')

  it('has a plan for every command (a rule runs it, or excludes it and says why)', () => {
    const missing: string[] = []
    for (const { shell } of files)
      for (const block of shell)
        for (const c of commandsOf(block))
          if (!planFor(c.command, block, c.transcript)) missing.push(`${block.file}:${c.line}: ${c.command}`)
    expect(missing).toEqual([])
  })

  for (const { file, shell } of files) {
    it(`${file}`, { timeout: 600_000 }, async () => {
      const ns = new Namespace()
      const problems: string[] = []
      const excluded: string[] = []
      const servers: Proc[] = []
      try {
        await ns.setUp()
        for (const before of BEFORE[file] ?? []) {
          if ('command' in before) {
            const p = ns.sh(before.command)
            servers.push(p)
            await p.waitFor(/listening on \S+:\d+/, 30_000)
          } else {
            const block = blocks(file).filter((b) => b.lang === 'js' || b.lang === 'ts')[before.jsBlock]!
            const dir = `${ROOT}node_modules/.cache/proxyproto-docs`
            mkdirSync(dir, { recursive: true })
            const path = `${dir}/${file.replaceAll('/', '_')}.${block.line}.mjs`
            writeFileSync(path, block.code)
            const p = ns.sh(`node '${path}'`)
            servers.push(p)
            const wait = ns.sh(
              `node test/docs/probe.mjs '${JSON.stringify({ mode: 'wait', host: '127.0.0.1', port: before.port })}'`,
            )
            if ((await wait.exit(30_000)).status !== 0)
              throw new Error(`${file}:${block.line}: not listening on ${before.port}:\n${p.output}`)
          }
        }
        for (const block of shell) {
          const blockServers: Proc[] = []
          const cmds = commandsOf(block)
          for (let i = 0; i < cmds.length; i++) {
            const { command, line, shown, transcript } = cmds[i]!
            const where = `${file}:${line}: ${command}`
            const plan = planFor(command, block, transcript)!
            try {
              switch (plan.kind) {
                case 'excluded':
                  excluded.push(`${where}\n    excluded: ${plan.why}`)
                  break
                case 'input':
                  break
                case 'exit': {
                  const r = await ns.sh(plan.run ?? command).exit(180_000)
                  if (r.status !== 0) problems.push(`${where}\n    exited ${r.status}:\n${r.output}`)
                  // The output the docs show under the command: its client address must be in the real output.
                  const shownAddress = /127\.0\.0\.23|203\.0\.113\.7/.exec(shown)?.[0]
                  if (shownAddress && !r.output.includes(shownAddress))
                    problems.push(`${where}\n    the docs show ${shownAddress}; got:\n${r.output}`)
                  if (plan.expect && !plan.expect.test(r.output))
                    problems.push(`${where}\n    no ${plan.expect} in:\n${r.output}`)
                  break
                }
                case 'transcript': {
                  const r = await ns.sh(command).exit(30_000)
                  if (r.output.trim() !== shown.trim())
                    problems.push(`${where}\n    the docs show:\n${shown}    it printed:\n${r.output}`)
                  break
                }
                case 'fails': {
                  const r = await ns.sh(command).exit(30_000)
                  if (r.status !== plan.status)
                    problems.push(
                      `${where}\n    expected status ${plan.status} (${plan.why}), got ${r.status}:\n${r.output}`,
                    )
                  break
                }
                case 'background': {
                  const p = ns.sh(command.replace(/\s*&$/, ''))
                  blockServers.push(p)
                  servers.push(p)
                  await p.waitFor(/listening on \S+:\d+/, 30_000)
                  break
                }
                case 'server': {
                  if (plan.isolated) {
                    const own = new Namespace()
                    try {
                      await own.setUp()
                      const p = own.sh(command)
                      servers.push(p)
                      const m = await p.waitFor(/listening on (\S+):(\d+)/, 30_000)
                      const answer = await probe(own, { host: hostOf(m[1]!), port: Number(m[2]) }, plan)
                      if (!answer.includes(plan.expect))
                        problems.push(
                          `${where}\n    a request through its balancer did not show ${plan.expect}:\n${answer}\n    server output:\n${p.output}`,
                        )
                      kill(p.child)
                    } finally {
                      kill(own.holder)
                    }
                    break
                  }
                  const p = ns.sh(command)
                  ;(plan.stopAfterBlock ? blockServers : servers).push(p)
                  const m = await p.waitFor(/listening on (\S+):(\d+)/, 30_000)
                  const answer = await probe(ns, { host: hostOf(m[1]!), port: Number(m[2]) }, plan)
                  if (!answer.includes(plan.expect))
                    problems.push(
                      `${where}\n    a request through its balancer did not show ${plan.expect}:\n${answer}\n    server output:\n${p.output}`,
                    )
                  break
                }
                case 'interactive': {
                  const p = ns.sh(command, 'pipe')
                  await p.waitFor(/\S/, 15_000)
                  p.child.stdin?.write(plan.input)
                  await p.waitFor(plan.expect, 15_000)
                  kill(p.child)
                  break
                }
              }
            } catch (err) {
              problems.push(`${where}\n    ${(err as Error).message}`)
            }
          }
          for (const p of blockServers) kill(p.child)
        }
      } finally {
        for (const p of servers) kill(p.child)
        kill(ns.holder)
      }
      if (excluded.length > 0)
        console.log(`${file}: not run here, each with its reason:\n  ${excluded.join('\n  ')}`)
      expect(problems).toEqual([])
    })
  }
})
