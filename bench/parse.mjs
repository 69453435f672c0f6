/**
 * Parser benchmark: @proxyproto/core against proxy-protocol-js and @balena/proxy-protocol-parser.
 * Runs every case in bench/parse/, prints a markdown table and writes it to bench/results/parse.md.
 * Run with `npm run bench:parse` (builds @proxyproto/core first). A benchmark, not a test: it never fails
 * on a slow result, it reports it.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { cpus } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import encodeCases from './parse/encode.mjs'
import { STAT } from './parse/harness.mjs'
import v1Tcp4 from './parse/v1-tcp4.mjs'
import v1Tcp6 from './parse/v1-tcp6.mjs'
import v1Unknown from './parse/v1-unknown.mjs'
import v2AwsNlb from './parse/v2-aws-nlb.mjs'
import v2Tcp4 from './parse/v2-tcp4.mjs'
import v2Tcp6Tlvs from './parse/v2-tcp6-tlvs.mjs'
import { writeResultsIndex } from './results-index.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const mitataVersion = createRequire(import.meta.url)('mitata/package.json').version
/** Targets from the project brief: ours/ppjs ratio at most this. */
const TARGETS = { 'v1 TCP4': 0.2, 'v2 TCP4': 0.5 }

const results = []
for (const c of [v1Tcp4, v1Tcp6, v1Unknown, v2Tcp4, v2Tcp6Tlvs, v2AwsNlb, encodeCases]) {
  const r = await c()
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
  '| case | proxyproto ns/op | proxy-protocol-js ns/op | ratio (ours/ppjs) | balena ns/op | ratio (ours/balena) |',
)
lines.push('|---|---:|---:|---:|---:|---:|')
for (const r of results) {
  const o = r.best.proxyproto
  const p = r.best['proxy-protocol-js']
  const b = r.best.balena
  lines.push(`| ${r.case} | ${ns(o)} | ${ns(p)} | ${ratio(o, p)} | ${ns(b)} | ${ratio(o, b)} |`)
}
lines.push('')
lines.push('Targets:')
for (const [name, target] of Object.entries(TARGETS)) {
  const r = results.find((x) => x.case === name)
  const o = r?.best.proxyproto
  const p = r?.best['proxy-protocol-js']
  if (o?.ns === undefined || p?.ns === undefined) {
    lines.push(`- ${name}: ≤ ${target}× ppjs: not measured`)
    continue
  }
  const got = o.ns / p.ns
  lines.push(`- ${name}: ≤ ${target}× ppjs: got ${got.toFixed(2)}× → ${got <= target ? 'met' : '**missed**'}`)
}
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
const outDir = join(here, 'results')
await mkdir(outDir, { recursive: true })
await writeFile(join(outDir, 'parse.md'), md)
await writeFile(
  join(outDir, 'parse.json'),
  `${JSON.stringify({ node: process.version, cpu: cpu[0]?.model, stat: STAT, results: results.map(({ context, ...r }) => r) }, null, 2)}\n`,
)
console.log(`written to ${join(outDir, 'parse.md')}`)
console.log(`written to ${await writeResultsIndex()}`)
