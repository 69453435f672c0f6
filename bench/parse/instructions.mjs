/**
 * Parser instructions per parse, counted by valgrind's callgrind: for each fixture, `parse(buf)` called in a
 * loop, with the same header every call and with every other call a header whose destination differs (so
 * the text the parser keeps for a repeated destination is never reused). Counts do not move with the
 * machine's load, so they show the few percent that the nanoseconds of bench/parse.mjs cannot.
 *
 * Each figure: a child process (--single-threaded: V8 compiles on the main thread, so the count repeats to
 * within ~±10) warms up with 300,000 calls, then makes `--calls` more; the same child with 0 more calls is
 * subtracted, and the difference divided by `--calls`. The loop and the garbage collector's share are in it.
 *
 * A second table counts, the same way, the entries the floor targets compare (bench/parse/cases.mjs, each
 * called as bench/parse.mjs calls it): this build's `parse(buf)`, the floor (the least any parser must do), and
 * the same output as parse() built without validating anything. Its ratios are the floor target's, in
 * instructions rather than nanoseconds, which do not move from process to process.
 *
 *   node bench/parse/instructions.mjs                 1,000,000 calls a figure (≈ 4 min on 2 cores)
 *   node bench/parse/instructions.mjs --build=<path>  also another build's core (a dist/index.js, or any
 *                                                     ES module exporting parse)
 *   node bench/parse/instructions.mjs --quick         (or BENCH_QUICK=1) v1 TCP4 only (and its floor alone), 20,000
 *                                                     calls after 30,000: checks that it works; nothing is written
 *                                                     in either mode
 * Needs valgrind (Debian package valgrind).
 */
import { execFile, spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { QUICK, quickCap } from '../quick.mjs'

const run = promisify(execFile)
const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { calls: { type: 'string' }, build: { type: 'string' }, quick: { type: 'boolean', default: false } },
})
const WARMUP = QUICK ? 30_000 : 300_000
const calls = quickCap(args.calls, 20_000) ?? 1_000_000
const cases = QUICK ? ['v1Tcp4'] : ['v1Tcp4', 'v1Tcp6', 'v2Tcp4']
const builds = [{ label: 'this build', path: import.meta.resolve('@proxyproto/core') }]
if (args.build) builds.push({ label: args.build, path: String(new URL(`file://${resolve(args.build)}`)) })

if (positionals[0] === 'child') {
  // node instructions.mjs child <build url> <fixture> <same|new> <calls>
  const [, url, name, mode, n] = positionals
  const { parse } = await import(url)
  const { fixtures } = await import('./fixtures.mjs')
  const a = fixtures[name].buf
  const b = mode === 'new' ? otherDestination(a, name) : a
  const loop = new Function('parse', 'a', 'b', 'n', 'let r; for (let i = 0; i < n; i++) r = parse(i & 1 ? a : b); return r')
  if (loop(parse, a, b, WARMUP).status !== 'complete') process.exit(1)
  loop(parse, a, b, Number(n))
  process.exit(0)
}

if (positionals[0] === 'child-entry') {
  // node instructions.mjs child-entry <case index> <entry index> <calls>: an entry of cases.mjs, as bench/parse.mjs calls it
  const [, ci, ei, n] = positionals
  const { CASES } = await import('./cases.mjs')
  const c = CASES[Number(ci)]
  const { fn } = c.entries(c.fixture.buf, c.fixture.expect)[Number(ei)]
  const loop = new Function('fn', 'n', 'let r; for (let i = 0; i < n; i++) r = fn(); return r')
  if (loop(fn, WARMUP) == null) process.exit(1) // every entry answers with an object
  loop(fn, Number(n))
  process.exit(0)
}

/** The fixture with its destination address changed in its last byte (same length, still valid). */
function otherDestination(buf, name) {
  const copy = Buffer.from(buf)
  if (name === 'v2Tcp4') copy[23] ^= 1 // the last byte of the IPv4 destination (§2.2: bytes 20-23)
  else {
    const text = buf.toString('latin1')
    const at = text.indexOf(' ', text.indexOf(' ', 11) + 1) - 1 // the destination field's last character
    copy[at] = buf[at] === 0x32 ? 0x33 : 0x32 // '2' <-> '3': a valid digit either way
  }
  return copy
}

if (spawnSync('sh', ['-c', 'command -v valgrind']).status !== 0) {
  console.error('valgrind not found: install valgrind (apt-get install valgrind)')
  process.exit(1)
}

/** Instructions of a child (`child …` or `child-entry …`) making `n` counted calls. */
async function instructions(childArgs, n) {
  const { stderr } = await run('valgrind', [
    '--tool=callgrind',
    '--callgrind-out-file=/dev/null',
    process.execPath,
    '--single-threaded',
    '--max-semi-space-size=16',
    fileURLToPath(import.meta.url),
    ...childArgs,
    String(n),
  ], { env: { ...process.env, ...(QUICK ? { BENCH_QUICK: '1' } : {}) } }) // a child knows quick mode from its environment
  const m = /Collected : (\d+)/.exec(stderr)
  if (!m) throw new Error(`no instruction count from callgrind:\n${stderr}`)
  return Number(m[1])
}

/** Instructions per call: (count with `calls` calls - count with none) / calls; two children at a time. */
async function perCall(childArgs) {
  const [base, full] = await Promise.all([instructions(childArgs, 0), instructions(childArgs, calls)])
  return Math.round((full - base) / calls)
}

console.log(`parse() instructions per call under callgrind (${calls} calls after ${WARMUP} of warm-up)\n`)
const head = ['case', ...builds.flatMap((b) => [`${b.label}: same destination`, `${b.label}: new destination each call`])]
console.log(`| ${head.join(' | ')} |`)
console.log(`|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`)
for (const name of cases) {
  const row = [name]
  for (const b of builds) for (const mode of ['same', 'new']) row.push((await perCall(['child', b.path, name, mode])).toLocaleString('en'))
  console.log(`| ${row.join(' | ')} |`)
}

// The floor target's entries, by what they are for (cases.mjs names them; the first of each kind is the table's).
const { CASES } = await import('./cases.mjs')
const KINDS = [
  ['parse(buf)', (e) => e.lib === 'proxyproto' && !e.info],
  ['floor', (e) => e.lib === 'floor' && !e.info],
  ['same output, no validation', (e) => e.lib === 'floor' && e.info],
]
console.log(`\nThe floor target's entries (bench/parse/cases.mjs, each called as bench/parse.mjs calls it), instructions per call\n`)
console.log(`| case | ${KINDS.map(([k]) => k).join(' | ')} | parse / floor | parse / same output |`)
console.log(`|---|${KINDS.map(() => '---:|').join('')}---:|---:|`)
for (const [ci, c] of CASES.entries()) {
  if (c.floorTarget === undefined || (QUICK && ci > 0)) continue
  const entries = c.entries(c.fixture.buf, c.fixture.expect)
  const counts = []
  for (const [kind, is] of KINDS) {
    const ei = QUICK && kind !== 'floor' ? -1 : entries.findIndex(is) // quick: the floor alone shows the children work
    counts.push(ei === -1 ? undefined : await perCall(['child-entry', String(ci), String(ei)]))
  }
  const [ours, floor, same] = counts
  const show = (x) => (x === undefined ? '–' : x.toLocaleString('en'))
  const ratio = (a, b) => (a === undefined || b === undefined ? '–' : `${(a / b).toFixed(2)}×`)
  console.log(`| ${c.fixture.name} | ${counts.map(show).join(' | ')} | ${ratio(ours, floor)} | ${ratio(ours, same)} |`)
}
if (QUICK) console.log('\nquick mode: one case, few calls; figures not for quoting')
