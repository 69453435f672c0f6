/**
 * Server instructions per connection, counted by valgrind's callgrind, with its simulated caches and branch
 * predictor: the same trivial HTTP server (servers/instructions-http.mjs) plain, plain with a handler that never
 * reads remoteAddress, behind the floor (servers/bare-handoff.mjs asking for the balancer's address: the least a
 * hand-off in JavaScript does, as in bench/server.mjs), and prepared by withProxyProtocol, each serving one
 * `Connection: close` request per connection from clients/sequential.mjs on loopback (no balancer).
 * Instruction counts do not depend on what else the machine runs (the CPU-time figures of bench/server.mjs
 * do), so they show a change of a few percent that timing on a shared machine cannot. The simulated misses say
 * why CPU time grows faster than instructions: code run once per connection is cold in the instruction cache
 * each time (callgrind models the host's caches; the figures are a model's, not the CPU's counters, which
 * this VM does not expose).
 *
 * Each run: the server starts under callgrind with counting off, serves `--warmup` connections (V8 compiles
 * the hot paths), counts the next `--count` connections only (a callgrind dump), and is killed; the figure is all instructions
 * of the process (every thread: the JIT, GC and libuv included) in that window divided by `--count`.
 * Variants alternate over `--rounds` rounds; the table gives the median. With 10,000 counted connections a
 * variant's runs differed by up to 5,000 instructions (a major GC more or less in the window); with 20,000, by
 * under 1,000.
 *
 *   node bench/server/instructions.mjs                 2 rounds, 10,000 + 20,000 connections, two runs at a
 *                                                      time (≈ 8 min);
 *                                                      writes bench/results/instructions.md (+ .json)
 *   node bench/server/instructions.mjs --build=<path>  also another build's dist/index.js
 *   node bench/server/instructions.mjs --quick         (or BENCH_QUICK=1) 1 round of 300 + 200: checks that it
 *                                                      works, writes nothing
 * Needs valgrind (Debian package valgrind).
 */
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { QUICK, quickCap } from '../quick.mjs'
import { writeResultsIndex } from '../results-index.mjs'
import { median } from './harness.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const execFileAsync = promisify(execFile)
const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string' },
    warmup: { type: 'string' },
    count: { type: 'string' },
    build: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
})
const rounds = quickCap(args.rounds, 1) ?? 2
const warmup = quickCap(args.warmup, 300) ?? 10000
const count = quickCap(args.count, 200) ?? 20000
const variants = [
  { key: 'plain', label: 'plain http (no header)', arg: 'plain', header: false },
  { key: 'noPeer', label: 'plain http whose handler never reads remoteAddress (no getpeername) [info]', arg: 'plain-no-peer', header: false },
  { key: 'floor', label: 'the floor: a bare push() hand-off that asks for the balancer\'s address (no validation, trust, timeout)', arg: 'floor', header: true },
  { key: 'ours', label: 'withProxyProtocol', arg: 'ours', header: true },
]
if (args.build) variants.push({ key: 'build', label: `withProxyProtocol, other build (${args.build})`, arg: resolve(args.build), header: true })

for (const tool of ['valgrind', 'callgrind_control']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`${tool} not found: install valgrind (apt-get install valgrind)`)
    process.exit(1)
  }
}

const client = (port, n, header) =>
  execFileAsync(process.execPath, [join(here, 'clients', 'sequential.mjs'), String(port), String(n), header ? '1' : '0'])

/** What each run reports per connection, from callgrind's events (`--cache-sim=yes --branch-sim=yes`). */
const EVENTS = {
  ir: { label: 'instructions', sum: ['Ir'] },
  i1: { label: 'instruction-cache (I1) misses', sum: ['I1mr'] },
  d1: { label: 'data-cache (D1) misses', sum: ['D1mr', 'D1mw'] },
  bm: { label: 'mispredicted branches', sum: ['Bcm', 'Bim'] },
}

/** One counted run of `variant`: its EVENTS per connection. */
async function run(variant) {
  const dir = await mkdtemp(join(tmpdir(), 'proxyproto-callgrind-'))
  const server = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--cache-sim=yes',
      '--branch-sim=yes',
      '--instr-atstart=no',
      `--callgrind-out-file=${join(dir, 'cg.out')}`,
      process.execPath,
      join(here, 'servers', 'instructions-http.mjs'),
      variant.arg,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let stderr = ''
  server.stderr.on('data', (d) => (stderr += d))
  const exited = new Promise((r) => server.once('exit', r))
  try {
    const port = await new Promise((res, rej) => {
      server.stdout.once('data', (d) => res(Number(String(d).trim())))
      server.once('exit', () => rej(new Error(`server exited before listening:\n${stderr}`)))
    })
    await client(port, warmup, variant.header)
    await execFileAsync('callgrind_control', ['-i', 'on', String(server.pid)])
    await client(port, count, variant.header)
    // A dump of the counts so far (callgrind_control returns once callgrind has written it): the window only.
    await execFileAsync('callgrind_control', ['-d', String(server.pid)])
    const out = join(dir, 'cg.out.1')
    if (!existsSync(out)) throw new Error(`callgrind wrote no dump:\n${stderr}`)
    const text = await readFile(out, 'utf8')
    const events = /^events:\s+(.+)$/m.exec(text)?.[1].trim().split(/\s+/)
    const summary = /^summary:\s+(.+)$/m.exec(text)?.[1].trim().split(/\s+/).map(Number)
    if (!events || !summary) throw new Error('no events or summary line in the callgrind output')
    const total = (name) => {
      const i = events.indexOf(name)
      if (i === -1) throw new Error(`callgrind recorded no ${name} event`)
      return summary[i] ?? 0 // callgrind leaves trailing zero counts off the summary line
    }
    return Object.fromEntries(Object.entries(EVENTS).map(([k, e]) => [k, e.sum.reduce((a, n) => a + total(n), 0) / count]))
  } finally {
    server.kill('SIGKILL')
    await exited
    await rm(dir, { recursive: true, force: true })
  }
}

// Two runs at a time, one per core: a count of instructions does not depend on what else the machine runs.
const jobs = []
for (let r = 0; r < rounds; r++) for (let i = 0; i < variants.length; i++) jobs.push({ round: r, v: variants[(i + r) % variants.length] })
const perVariant = Object.fromEntries(variants.map((v) => [v.key, []]))
const worker = async () => {
  for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) {
    const r = await run(job.v)
    perVariant[job.v.key].push(r)
    console.error(`round ${job.round + 1} ${job.v.key.padEnd(6)} ${Object.entries(r).map(([k, x]) => `${k} ${Math.round(x)}`).join(', ')} per connection`)
  }
}
await Promise.all([worker(), worker()])

/** The median of `event` over `key`'s runs. */
const med = (key, event) => median(perVariant[key].map((r) => r[event]))
const n = (x) => Math.round(x).toLocaleString('en-US')
const ratio = (key, event) => `${(med(key, event) / med('plain', event)).toFixed(3)}×`
const lines = [
  '# Server instructions per connection (callgrind)',
  '',
  `- ${new Date().toISOString()}, Node ${process.version}, ${execFileSync('valgrind', ['--version']).toString().trim()}`,
  `- Command: \`node bench/server/instructions.mjs${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}\``,
  `- ${rounds} round(s); per run ${warmup} connections of warm-up, then ${count} counted; one \`Connection: close\` request per connection, 8 at a time, on loopback without a balancer`,
  '- Counted: every instruction of the server process (all threads: JIT, GC, libuv) while it served the counted connections, divided by their number. Independent of the machine\'s load, unlike the CPU times of bench/server.mjs.',
  '- Misses and mispredictions: callgrind\'s simulation (`--cache-sim=yes --branch-sim=yes`) of the host\'s caches and a simple branch predictor, a model rather than the CPU\'s own counters (this VM exposes none).',
  '',
  `| server | ${Object.values(EVENTS).map((e) => e.label).join(' | ')} | instructions vs plain | I1 misses vs plain |`,
  `|---|${Object.keys(EVENTS).map(() => '---:|').join('')}---:|---:|`,
  ...variants.map((v) => `| ${v.label} | ${Object.keys(EVENTS).map((k) => n(med(v.key, k))).join(' | ')} | ${ratio(v.key, 'ir')} | ${ratio(v.key, 'i1')} |`),
  '',
  `Instructions per run: ${variants.map((v) => `${v.key} ${perVariant[v.key].map((r) => n(r.ir)).join(', ')}`).join('; ')}.`,
  '',
  ...accounting(),
]

/**
 * Where withProxyProtocol's instructions above plain go, from the medians: plain, the floor and withProxyProtocol
 * each ask the kernel for one peer address (plain in the handler, the others before they read a byte; the
 * handler then reads the client they set), the no-peer variant asks for none.
 */
function accounting() {
  const d = (a, b, e = 'ir') => n(med(a, e) - med(b, e))
  return [
    'Where withProxyProtocol\'s instructions above plain go (from the medians):',
    `- the peer address (getpeername: plain in its handler, the floor and ours before reading a byte): plain − no-peer = ${d('plain', 'noPeer')}, paid by all three`,
    `- reading the first chunk in JavaScript and handing the socket on (Node's http parser reads it in C++ when no header comes first): floor − plain = ${d('floor', 'plain')} (I1 misses ${d('floor', 'plain', 'i1')})`,
    `- the library's own work (trust, deadline, validation, info, counters): withProxyProtocol − floor = ${d('ours', 'floor')} (I1 misses ${d('ours', 'floor', 'i1')})`,
    '',
  ]
}
console.log(lines.join('\n'))
if (QUICK || args.quick) console.log('quick mode: figures too short to quote, nothing written')
else {
  const results = join(here, '..', 'results')
  await writeFile(join(results, 'instructions.md'), lines.join('\n'))
  await writeFile(join(results, 'instructions.json'), `${JSON.stringify({ rounds, warmup, count, events: EVENTS, perVariant }, null, 2)}\n`)
  console.log(`written to ${join(results, 'instructions.md')} and ${await writeResultsIndex()}`)
}
