/**
 * A cross-check of bench/parse.mjs: the entries of the cases with targets, each timed in a process of its own
 * (so no entry runs after another library's code has changed what V8 knows about shared functions, such as
 * Buffer#indexOf, or has grown the heap), the processes interleaved over rounds. Prints, per entry, the
 * median of the rounds' mitata p50 and their spread, and the ratios the targets are about.
 *
 *   node bench/parse/alone.mjs             3 rounds (≈ 1 min); writes bench/results/parse-alone.md
 *   node bench/parse/alone.mjs --rounds=5
 *   node bench/parse/alone.mjs --quick     (or BENCH_QUICK=1) 1 round of v1 TCP4, 20 ms an entry: checks that
 *                                          it works; writes nothing
 */
import { execFileSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { median } from '../server/harness.mjs'
import { QUICK, quickCap } from '../quick.mjs'
import { writeResultsIndex } from '../results-index.mjs'
import { CASES } from './cases.mjs'

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string' }, quick: { type: 'boolean', default: false } },
})

if (positionals[0] === 'child') {
  // node alone.mjs child <case index> <entry index>: one entry, warmed up, then timed; prints its p50 in ns
  const { measure } = await import('mitata')
  const c = CASES[Number(positionals[1])]
  const e = c.entries(c.fixture.buf, c.fixture.expect)[Number(positionals[2])]
  for (let i = 0; i < 2000; i++) e.fn()
  const stats = await measure(e.fn, QUICK ? { min_cpu_time: 20e6, min_samples: 4 } : {})
  console.log(stats.p50)
  process.exit(0)
}

const rounds = quickCap(args.rounds, 1) ?? 3
const cases = CASES.map((c, i) => ({ c, i })).filter(({ c }) => c.target !== undefined && (!QUICK || c.fixture.name === 'v1 TCP4'))
// Ours, the floor entries, and each peer's entries: the table of bench/parse.mjs picks among the same ones.
const plan = cases.flatMap(({ c, i }) =>
  c.entries(c.fixture.buf, c.fixture.expect).map((e, j) => ({ caseIndex: i, entryIndex: j, c, e, p50: [] })),
)
const self = fileURLToPath(import.meta.url)
for (let r = 0; r < rounds; r++) {
  // Interleaved: every entry once per round, in a rotated order, so a slow spell of the machine is shared.
  const order = plan.map((_, k) => plan[(k + r * 7) % plan.length])
  for (const p of order) {
    const out = execFileSync(process.execPath, [self, 'child', String(p.caseIndex), String(p.entryIndex)], {
      env: { ...process.env, ...(QUICK ? { BENCH_QUICK: '1' } : {}) },
    })
    p.p50.push(Number(out.toString().trim()))
  }
}

const fmt = (ns) => (ns < 100 ? ns.toFixed(1) : ns.toFixed(0))
const lines = [
  '# Parser entries, each alone in its own process',
  '',
  `- Node ${process.version}, ${new Date().toISOString()}; command: \`node bench/parse/alone.mjs${rounds === 3 ? '' : ` --rounds=${rounds}`}\``,
  `- ${rounds} interleaved round(s); per entry the median of the rounds' mitata p50, with the lowest and highest round`,
  '',
]
for (const { c, i } of cases) {
  const rows = plan.filter((p) => p.caseIndex === i)
  lines.push(`**${c.fixture.name}**`, '')
  for (const p of rows) {
    p.median = median(p.p50)
    lines.push(`- ${p.e.lib}: \`${p.e.name}\`${p.e.info ? ' [info]' : ''}: ${fmt(p.median)} ns (${fmt(Math.min(...p.p50))}–${fmt(Math.max(...p.p50))})`)
  }
  const best = (lib) => Math.min(...rows.filter((p) => p.e.lib === lib && !p.e.info).map((p) => p.median))
  const ours = best('proxyproto')
  lines.push(
    '',
    `ours/ppjs ${(ours / best('proxy-protocol-js')).toFixed(2)}× (target ≤ ${c.target}×), ours/floor ${(ours / best('floor')).toFixed(2)}× (target ≤ ${c.floorTarget}×)`,
    '',
  )
}
const md = `${lines.join('\n')}\n`
console.log(`\n${md}`)
if (QUICK) console.log('quick mode: figures too noisy to quote, nothing written')
else {
  const here = fileURLToPath(new URL('..', import.meta.url))
  await writeFile(join(here, 'results', 'parse-alone.md'), md)
  await writeResultsIndex()
  console.log(`written to ${join(here, 'results', 'parse-alone.md')}`)
}
