/**
 * Every shell command in every README and docs page, run as written after the README's set-up
 * (`npm ci && npm run build`, which .ci/run does from its clean clone): a command that ends must exit 0
 * (or with the status the docs say it fails with), a server must print "listening on HOST:PORT" within
 * 30 s and answer one request made through the balancer it names, and a command that cannot run here
 * (a real cloud account, the set-up step itself) is excluded by a rule in test/docs/commands.ts that
 * says why. A command no rule covers fails the test.
 *
 * The commands are those of fenced shell blocks and those shown in inline code spans in the text
 * (`isCommandSpan` says which spans are commands). A span runs after its page's fenced blocks, as a block
 * of its own, unless every step of it runs already elsewhere (`inlineCommands`: then it is listed, not run
 * twice). Benchmarks run in their quick mode: every command gets BENCH_QUICK=1 in its environment, so it
 * runs as written. Nothing a command does may show in `git status` (nor under bench/, ignored or not).
 *
 * Each README runs in a network namespace of its own (`unshare -n`, root; CI runs as root), so the fixed
 * ports the docs use (8080, 9000, 3000) cannot clash with anything else on the machine, and the
 * balancer addresses they name (127.0.0.23, 10.0.0.5) exist on its loopback interface. `proxyproto`
 * runs from node_modules/.bin, as after `npm install --global @proxyproto/cli`.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BEFORE,
  type Command,
  commandPages,
  commandsOf,
  comparable,
  inlineCommands,
  isTranscript,
  type Plan,
  planFor,
} from './docs/commands.js'
import { type Block, blocks, ROOT } from './docs/markdown.js'
import { canNamespace, kill, killAll, Namespace, type Proc } from './docs/namespace.js'

// What the commands may leave behind: nothing git sees, and nothing under bench/ even where git ignores it
// (a benchmark in quick mode writes no result files).
const treeState = () =>
  execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }) +
  execFileSync('git', ['status', '--porcelain', '--ignored', '--', 'bench'], { cwd: ROOT, encoding: 'utf8' })
let treeBefore = ''
beforeAll(() => {
  treeBefore = treeState()
})
afterAll(killAll)

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
    ...(plan.via ? { port: plan.via } : {}),
    from: plan.from ?? '127.0.0.1',
    mode: plan.probe,
    path: plan.path,
  })
  const r = await ns.sh(`node test/docs/probe.mjs '${args}'`).exit(15_000)
  return r.output
}

const pages = commandPages()
const inline = inlineCommands(pages)
/** A command shown in an inline code span runs as a block of its own, after the page's fenced blocks. */
const spanBlock = (c: Command & { file: string }): Block => ({
  file: c.file,
  line: c.line,
  lang: 'inline',
  code: c.command,
  note: undefined,
})
const files = pages
  .map((file) => {
    // Shell blocks, and unlabelled blocks that are terminal transcripts (`$ command`, then its output).
    const shell = blocks(file).filter(
      (b) => ['sh', 'bash', 'shell'].includes(b.lang) || (b.lang === '' && isTranscript(b)),
    )
    const spans = inline.filter((c) => c.file === file && !c.sameAs)
    return {
      file,
      units: [
        ...shell.map((block) => ({ block, cmds: commandsOf(block) })),
        ...spans.map((c) => ({ block: spanBlock(c), cmds: [c] })),
      ],
      same: inline
        .filter((c) => c.file === file && c.sameAs)
        .map((c) => `${file}:${c.line}: ${c.command}\n    runs already: ${c.sameAs}`),
    }
  })
  .filter((f) => f.units.length > 0 || f.same.length > 0)

describe.skipIf(!canNamespace)('every shell command in the docs runs as written', () => {
  if (!canNamespace)
    console.warn('docs-commands: skipped, `unshare -n` is not available here (not root?); CI runs it')

  it('has a plan for every command (a rule runs it, or excludes it and says why)', () => {
    const missing: string[] = []
    for (const { units } of files)
      for (const { block, cmds } of units)
        for (const c of cmds)
          if (!planFor(c.command, block, c.transcript)) missing.push(`${block.file}:${c.line}: ${c.command}`)
    expect(missing).toEqual([])
    const spans = inline.filter((c) => !c.sameAs)
    console.log(
      `docs-commands: ${inline.length} commands in inline code spans; ${inline.length - spans.length} run already (same steps as another), ` +
        `${spans.filter((c) => planFor(c.command, spanBlock(c))?.kind === 'excluded').length} excluded, the rest run below`,
    )
  })

  afterAll(() => {
    // Checked after every page ran: no command (a benchmark in quick mode above all) wrote into the tree.
    expect(treeState()).toBe(treeBefore)
  })

  for (const { file, units, same } of files) {
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
        for (const { block, cmds } of units) {
          const blockServers: Proc[] = []
          for (let i = 0; i < cmds.length; i++) {
            const { command, line, shown, transcript } = cmds[i]!
            const where = `${file}:${line}: ${command}`
            const plan = planFor(command, block, transcript)!
            try {
              // Servers the text says run already: started first, stopped with this command's block.
              for (const need of ('needs' in plan && plan.needs) || []) {
                const p = ns.sh(need)
                blockServers.push(p)
                servers.push(p)
                await p.waitFor(/listening on \S+:\d+/, 30_000)
              }
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
                  if (plan.server) {
                    const p = ns.sh(command)
                    const ready = shown.split('\n')[0]!
                    await p.waitFor(/listening on \S+:\d+/, 30_000)
                    if (p.output.split('\n')[0] !== ready)
                      problems.push(`${where}\n    the docs show ${ready}; it printed:\n${p.output}`)
                    kill(p.child)
                    break
                  }
                  const r = await ns.sh(command).exit(30_000)
                  if (comparable(r.output) !== comparable(shown))
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
                  if (plan.greets !== false) await p.waitFor(/\S/, 15_000)
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
      if (same.length > 0) console.log(`${file}: not run twice:\n  ${same.join('\n  ')}`)
      expect(problems).toEqual([])
    })
  }
})
