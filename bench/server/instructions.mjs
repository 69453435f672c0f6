/**
 * Server instructions per connection, counted by valgrind's callgrind: the same trivial HTTP server
 * (servers/instructions-http.mjs) plain, plain with a handler that never reads remoteAddress, prepared by
 * withProxyProtocol, and behind the bare hand-off (servers/bare-handoff.mjs: the push() hook with nothing
 * else), each serving one
 * `Connection: close` request per connection from clients/sequential.mjs on loopback (no balancer).
 * Instruction counts do not depend on what else the machine runs (the CPU-time figures of bench/server.mjs
 * do), so they show a change of a few percent that timing on a shared machine cannot.
 *
 * Each run: the server starts under callgrind with counting off, serves `--warmup` connections (V8 compiles
 * the hot paths), counts the next `--count` connections only (a callgrind dump), and is killed; the figure is all instructions
 * of the process (every thread: the JIT, GC and libuv included) in that window divided by `--count`.
 * Variants alternate over `--rounds` rounds; the table gives the median. With 10,000 counted connections a
 * variant's runs differed by up to 5,000 instructions (a major GC more or less in the window); with 20,000, by
 * under 1,000.
 *
 *   node bench/server/instructions.mjs                 2 rounds, 10,000 + 20,000 connections, two runs at a
 *                                                      time (≈ 5 min);
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
  { key: 'bare', label: 'bare push() hand-off (no validation, trust, timeout; never asks for the balancer\'s address)', arg: 'bare', header: true },
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

/** One counted run of `variant`: instructions per connection. */
async function run(variant) {
  const dir = await mkdtemp(join(tmpdir(), 'proxyproto-callgrind-'))
  const server = spawn(
    'valgrind',
    ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${join(dir, 'cg.out')}`, process.execPath, join(here, 'servers', 'instructions-http.mjs'), variant.arg],
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
    const summary = /^summary:\s+(\d+)/m.exec(await readFile(out, 'utf8'))
    if (!summary) throw new Error('no summary line in the callgrind output')
    return Number(summary[1]) / count
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
    const ir = await run(job.v)
    perVariant[job.v.key].push(ir)
    console.error(`round ${job.round + 1} ${job.v.key.padEnd(6)} ${Math.round(ir)} instructions per connection`)
  }
}
await Promise.all([worker(), worker()])

const plain = median(perVariant.plain)
const lines = [
  '# Server instructions per connection (callgrind)',
  '',
  `- ${new Date().toISOString()}, Node ${process.version}, ${execFileSync('valgrind', ['--version']).toString().trim()}`,
  `- Command: \`node bench/server/instructions.mjs${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}\``,
  `- ${rounds} round(s); per run ${warmup} connections of warm-up, then ${count} counted; one \`Connection: close\` request per connection, 8 at a time, on loopback without a balancer`,
  '- Counted: every instruction of the server process (all threads: JIT, GC, libuv) while it served the counted connections, divided by their number. Independent of the machine\'s load, unlike the CPU times of bench/server.mjs.',
  '',
  '| server | instructions per connection (median) | rounds | vs plain |',
  '|---|---:|---|---:|',
  ...variants.map((v) => {
    const m = median(perVariant[v.key])
    return `| ${v.label} | ${Math.round(m)} | ${perVariant[v.key].map((x) => Math.round(x)).join(', ')} | ${(m / plain).toFixed(3)}× |`
  }),
  '',
  ...accounting(),
]

/**
 * Where withProxyProtocol's instructions above plain go, from the medians: plain and withProxyProtocol both ask the
 * kernel for one peer address (plain in the handler, ours for the trust check; the handler then reads the
 * client ours set), while the bare hand-off and the no-peer variant ask for none.
 */
function accounting() {
  const [noPeer, bare, ours] = ['noPeer', 'bare', 'ours'].map((k) => median(perVariant[k]))
  const n = (x) => Math.round(x).toLocaleString('en-US')
  return [
    'Where withProxyProtocol\'s instructions above plain go (from the medians; both ask the kernel for one peer address):',
    `- the peer address (getpeername: plain in its handler, ours for the trust check): plain − no-peer = ${n(plain - noPeer)}, paid by both`,
    `- reading the first chunk in JavaScript and handing the socket on (Node's http parser reads it in C++ when no header comes first): bare − no-peer = ${n(bare - noPeer)}`,
    `- the library's own work (trust, deadline, validation, info, counters): withProxyProtocol − bare − the peer address = ${n(ours - bare - (plain - noPeer))}`,
    '',
  ]
}
console.log(lines.join('\n'))
if (QUICK || args.quick) console.log('quick mode: figures too short to quote, nothing written')
else {
  const results = join(here, '..', 'results')
  await writeFile(join(results, 'instructions.md'), lines.join('\n'))
  await writeFile(join(results, 'instructions.json'), `${JSON.stringify({ rounds, warmup, count, perVariant }, null, 2)}\n`)
  console.log(`written to ${join(results, 'instructions.md')} and ${await writeResultsIndex()}`)
}
