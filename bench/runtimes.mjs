/**
 * Server CPU per request on each runtime (Node, Deno, Bun): a plain http.Server vs the same server
 * prepared by withProxyProtocol (on Bun: the front listener), each behind HAProxy 2.6 in TCP mode
 * (`send-proxy-v2` for the prepared one), wrk `-t1 -c16`, one connection per request and keep-alive.
 * The figure is the server process's own CPU time (process.cpuUsage() before and after a run) divided by
 * the requests served, steadier than req/s on a shared machine (NOTES "Measuring server overhead").
 * Runs are interleaved (plain, prepared, plain, prepared …) and reported as medians.
 *
 *   node bench/runtimes.mjs [--rounds=3] [--duration=3] [--runtimes=node,deno,bun]
 *   (Deno and Bun from scripts/runtimes.sh). Writes bench/results/runtimes.md (+ .json).
 *   --quick (or BENCH_QUICK=1): 1 round of 1 s whatever --rounds/--duration say, about 15 s with all three
 *   runtimes, and writes nothing: for checking that it works (the docs test runs it so), not for figures.
 *
 * A benchmark, not a test: it never fails on a slow result. Every child (servers, HAProxy, wrk) is killed
 * by pid on exit.
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import {
  haproxyVersion,
  httpGet,
  installCleanup,
  killAll,
  log,
  machine,
  median,
  nextSource,
  ROOT,
  runWrk,
  startHaproxy,
} from './server/harness.mjs'
import { QUICK, quickCap } from './quick.mjs'

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '3' },
    runtimes: { type: 'string', default: 'node,deno,bun' },
    quick: { type: 'boolean' },
  },
})
const rounds = quickCap(args.rounds, 1)
const duration = quickCap(args.duration, 1)
const RUNTIMES = {
  node: { bin: process.execPath, args: (f, a) => [f, ...a] },
  deno: {
    bin: `${ROOT}/.cache/runtimes/deno/package/deno`,
    args: (f, a) => ['run', '-A', '--node-modules-dir=manual', f, ...a],
  },
  bun: {
    bin: `${ROOT}/.cache/runtimes/bun/package/bin/bun`,
    args: (f, a) => [f, ...a],
  },
}
const MODES = [
  { key: 'close', label: 'connection per request', headers: ['-H', 'Connection: close'] },
  { key: 'keep-alive', label: 'keep-alive', headers: [] },
]
const VARIANTS = [
  { key: 'plain', send: 'none' },
  { key: 'wrapped', send: 'v2' },
]
const CLIENT = '127.0.0.23'

installCleanup()
const children = new Set()

/** A server child under `runtime`: resolves once it printed its port; cpu() asks for its CPU time (µs). */
async function startServer(runtime, variant) {
  const rt = RUNTIMES[runtime]
  const proc = spawn(rt.bin, rt.args('bench/runtimes/server.mjs', [variant]), {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  children.add(proc)
  proc.once('exit', () => children.delete(proc))
  const waiting = []
  createInterface({ input: proc.stdout }).on('line', (line) => waiting.shift()?.(JSON.parse(line)))
  const next = () => new Promise((resolve) => waiting.push(resolve))
  const { port } = await next()
  return {
    port,
    async cpu() {
      const reply = next()
      proc.stdin.write('cpu\n')
      return (await reply).cpu
    },
    stop: () => proc.stdin.end(),
  }
}

const results = {}
try {
  for (const runtime of args.runtimes.split(',')) {
    if (!existsSync(RUNTIMES[runtime].bin)) {
      log(`${runtime}: not found (scripts/runtimes.sh installs Deno and Bun), skipped`)
      continue
    }
    const servers = {}
    for (const v of VARIANTS) servers[v.key] = await startServer(runtime, v.key)
    // The prepared server must report the client, else its figure means nothing.
    const check = await startHaproxy({ serverPort: servers.wrapped.port, source: nextSource(), send: 'v2' })
    const seen = await httpGet(check.port, CLIENT).finally(() => check.stop())
    if (seen !== CLIENT) throw new Error(`${runtime}: the prepared server saw ${seen}, not ${CLIENT}`)
    results[runtime] = {}
    for (const mode of MODES) {
      const perRequest = { plain: [], wrapped: [] }
      const rps = { plain: [], wrapped: [] }
      for (let r = 0; r < rounds; r++) {
        for (const v of VARIANTS) {
          const server = servers[v.key]
          const haproxy = await startHaproxy({ serverPort: server.port, source: nextSource(), send: v.send })
          try {
            const before = await server.cpu()
            const w = await runWrk([
              '-t1',
              '-c16',
              `-d${duration}s`,
              '--latency',
              ...mode.headers,
              `http://127.0.0.1:${haproxy.port}/`,
            ])
            const after = await server.cpu()
            perRequest[v.key].push((after - before) / w.requests)
            rps[v.key].push(w.rps)
          } finally {
            await haproxy.stop()
          }
        }
      }
      const plain = median(perRequest.plain)
      const wrapped = median(perRequest.wrapped)
      results[runtime][mode.key] = {
        plain,
        wrapped,
        ratio: wrapped / plain,
        rps: { plain: median(rps.plain), wrapped: median(rps.wrapped) },
        perRequest,
      }
      log(
        `${runtime} ${mode.label}: plain ${plain.toFixed(1)} µs, withProxyProtocol ${wrapped.toFixed(1)} µs (${(wrapped / plain).toFixed(2)}×)`,
      )
    }
    for (const s of Object.values(servers)) s.stop()
  }
} finally {
  for (const proc of children) proc.kill('SIGKILL')
  await killAll()
}

const m = machine()
const command = `node bench/runtimes.mjs${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`
const rows = []
for (const [runtime, byMode] of Object.entries(results)) {
  for (const mode of MODES) {
    const r = byMode[mode.key]
    rows.push(
      `| ${runtime} | ${mode.label} | ${r.plain.toFixed(1)} µs | ${r.wrapped.toFixed(1)} µs | ${r.ratio.toFixed(2)}× | ${r.rps.plain.toFixed(0)} / ${r.rps.wrapped.toFixed(0)} |`,
    )
  }
}
const version = (runtime) =>
  runtime === 'node'
    ? `Node ${process.versions.node}`
    : `${runtime === 'bun' ? 'Bun ' : ''}${execFileSync(RUNTIMES[runtime].bin, ['--version'], { encoding: 'utf8' }).split('\n')[0]}`
const md = [
  '# Server CPU per request by runtime',
  '',
  `\`${command}\` on ${new Date().toISOString().slice(0, 10)}: ${m.cores} shared cores (${m.cpu}), ${Object.keys(results).map(version).join(', ')}, ${haproxyVersion() ?? 'HAProxy'}; wrk -t1 -c16 -d${duration}s, ${rounds} interleaved rounds, medians. ` +
    "Server CPU = the server process's process.cpuUsage() over a run / requests served. On Bun the prepared server runs the front listener.",
  '',
  '| runtime | load | plain | withProxyProtocol (send-proxy-v2) | ratio | req/s plain / prepared |',
  '| --- | --- | ---: | ---: | ---: | ---: |',
  ...rows,
  '',
].join('\n')
process.stdout.write(md)
if (QUICK) log('quick mode: figures too noisy to quote, nothing written')
else {
  await writeFile(`${ROOT}/bench/results/runtimes.md`, md)
  await writeFile(
    `${ROOT}/bench/results/runtimes.json`,
    `${JSON.stringify({ command, machine: m, rounds, duration, results }, null, 2)}\n`,
  )
}
