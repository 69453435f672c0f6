/**
 * Parser benchmark: @proxyproto/core against proxy-protocol-js and @balena/proxy-protocol-parser, and
 * against a floor (the least any parser must do for the header), one row per case of parse/cases.mjs,
 * then the encoder (parse/encode.mjs). Prints a markdown table and writes it to bench/results/parse.md.
 * Run with `npm run bench:parse` (builds @proxyproto/core first); `node bench/parse.mjs v1` runs only the
 * cases whose name contains "v1". `--quick` (or BENCH_QUICK=1) times each entry for 20 ms instead of
 * mitata's 0.6 s (a few seconds in all) and writes nothing: for checking that it works (the docs test runs
 * it so), not for figures. A benchmark, not a test: it never fails on a slow result, it reports it.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { cpus } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CASES } from './parse/cases.mjs'
import encodeCases from './parse/encode.mjs'
import { runCase, STAT } from './parse/harness.mjs'
import { QUICK } from './quick.mjs'
import { writeResultsIndex } from './results-index.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const mitataVersion = createRequire(import.meta.url)('mitata/package.json').version
const filter = process.argv.slice(2).find((a) => !a.startsWith('--'))

const results = []
for (const c of CASES) {
  if (filter && !c.fixture.name.includes(filter)) continue
  const r = await runCase(c.fixture.name, c.fixture.expect, c.entries(c.fixture.buf, c.fixture.expect))
  results.push({ ...r, target: c.target, floorTarget: c.floorTarget })
}
if (!filter || 'encode'.includes(filter)) {
  const r = await encodeCases()
  results.push(...(Array.isArray(r) ? r : [r]))
}

const ns = (b) => (b.ns === undefined ? 'n/a' : b.ns < 100 ? b.ns.toFixed(1) : b.ns.toFixed(0))
const ratio = (ours, peer) =>
  ours.ns === undefined || peer.ns === undefined ? 'n/a' : `${(ours.ns / peer.ns).toFixed(2)}×`

const lines = []
const cpu = cpus()
lines.push(
  '# Parser benchmark: @proxyproto/core vs proxy-protocol-js 4.0.6 vs @balena/proxy-protocol-parser 1.0.2',
)
lines.push('')
lines.push(`- Node ${process.version} (${process.platform}-${process.arch}), V8 ${process.versions.v8}`)
lines.push(
  `- CPU: ${cpu[0]?.model ?? 'unknown'} × ${cpu.length} logical cores (shared with other work: expect noise)`,
)
lines.push(`- ${new Date().toISOString()}, mitata ${mitataVersion}`)
lines.push(
  `- ns/op is mitata's **${STAT}** (median of its samples; each sample averages a batch of calls). ` +
    'Inputs are Buffers made once; every result is consumed with `do_not_optimize`.',
)
lines.push(
  "- Each library's answer is checked against the fixture once before timing; a library that cannot give " +
    'the right answer is n/a. For the peers the fastest correct entry point is used (see the notes).',
)
lines.push('')
lines.push(
  '| case | proxyproto ns/op | proxy-protocol-js ns/op (its fastest equal-work entry) | ours/ppjs | target | floor ns/op | ours/floor | balena ns/op | ours/balena |',
)
lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
const verdict = (got, target) => (target === undefined || got === undefined ? '' : got <= target ? ' met' : ' **missed**')
for (const r of results) {
  const o = r.best.proxyproto
  const p = r.best['proxy-protocol-js']
  const b = r.best.balena
  const fl = r.best.floor ?? {}
  const vsP = o.ns !== undefined && p.ns !== undefined ? o.ns / p.ns : undefined
  const vsF = o.ns !== undefined && fl.ns !== undefined ? o.ns / fl.ns : undefined
  const target = [r.target !== undefined ? `≤ ${r.target}×${verdict(vsP, r.target)}` : '', r.floorTarget !== undefined && fl.ns !== undefined ? `≤ ${r.floorTarget}× floor${verdict(vsF, r.floorTarget)}` : '']
    .filter(Boolean)
    .join('; ')
  lines.push(
    `| ${r.case} | ${ns(o)} | ${ns(p)} | ${ratio(o, p)} | ${target} | ${ns(fl)} | ${ratio(o, fl)} | ${ns(b)} | ${ratio(o, b)} |`,
  )
}
lines.push('')
lines.push(
  '"Equal work" for proxy-protocol-js: from the Buffer to the client address as a string, by each of its entry points (the table takes the fastest); ' +
    'its v2 parser leaves addresses as byte arrays, so its v2 entries include joining them into text. ' +
    'The floor does only what any parser must, the fastest way measured: v1 find the CRLF (native indexOf) and build the client address string (fixed-arity fromCharCode); ' +
    'v2 read the length and build the address string (two memoized halves, as ours does). ' +
    'Ours does all of that plus full validation, both addresses and ports, and the result objects. ' +
    "Ours keeps the last destination's text and reuses it while the destination is the same (a balancer's own address): " +
    'the info entry where every other call has another destination shows the cost when it is not.',
)
lines.push('')
lines.push('Notes (every entry timed or rejected, per case):')
for (const r of results) {
  lines.push(`- **${r.case}**`)
  for (const e of r.results) {
    const tag = !e.ok ? 'n/a' : e.info ? 'info' : 'ok'
    const t = e.ok
      ? `${e[STAT] < 100 ? e[STAT].toFixed(1) : e[STAT].toFixed(0)} ns (avg ${e.avg.toFixed(1)})`
      : e.reason
    const used = e.ok && !e.info && r.best[e.lib]?.name === e.name ? ' ← table' : ''
    const batch = e.remeasured ? ' (re-measured: first run was unbatched)' : ''
    lines.push(`  - ${e.lib}: \`${e.name}\` [${tag}] ${t}${batch}${used}`)
  }
}
const md = `${lines.join('\n')}\n`

console.log(`\n${md}`)
if (QUICK) console.log('quick mode: figures too noisy to quote, nothing written')
else {
  const outDir = join(here, 'results')
  await mkdir(outDir, { recursive: true })
  const base = filter ? 'parse-partial' : 'parse'
  await writeFile(join(outDir, `${base}.md`), md)
  await writeFile(
    join(outDir, `${base}.json`),
    `${JSON.stringify({ node: process.version, cpu: cpu[0]?.model, stat: STAT, results: results.map(({ context, ...r }) => r) }, null, 2)}\n`,
  )
  console.log(`written to ${join(outDir, `${base}.md`)}`)
  console.log(`written to ${await writeResultsIndex()}`)
}
