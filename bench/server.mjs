/**
 * Server benchmarks: @proxyproto/node's withProxyProtocol against a plain Node server (and
 * findhit-proxywrap 0.3.13 for HTTP), behind a real HAProxy in TCP mode, loaded by wrk and by Node client
 * processes. Runs bench/server/{http-overhead,ws-connect,memory}.mjs, prints a markdown report and writes
 * it to bench/results/server.md (+ server.json).
 *
 *   npm run bench:server                       builds the packages, then runs everything (≈ 4-5 min);
 *                                              writes bench/results/server.md + server.json
 *   node bench/server.mjs --only=http,ws       a subset; writes bench/results/server-partial.md (+ .json)
 *   node bench/server.mjs --rounds=3           HTTP and WebSocket rounds (default 5 each)
 *   node bench/server.mjs --quick              (or BENCH_QUICK=1) the same report from short runs: 1 round
 *                                              of 1 s without warm-up (--rounds/--duration given are capped
 *                                              to that), 100 WebSocket connections, 500 held connections;
 *                                              about 15 s, and it writes nothing. For checking that the
 *                                              benchmark works (the docs test runs it), not for figures
 *   node bench/server.mjs --modes=close        HTTP modes: keep-alive, close (default both)
 *   node bench/server.mjs --no-pin             no CPU pinning (by default, on 2+ cores, the server children run on
 *                                              CPU 1 and HAProxy, wrk and the clients on CPU 0, with taskset)
 *   node bench/server.mjs --build=<path>       also time another build of @proxyproto/node (its dist/index.js)
 *                                              in the same HTTP rounds, to measure a change
 *   node bench/server.mjs --profile            HTTP connection-per-request only, server children under
 *                                              --cpu-prof; the hottest functions go to
 *                                              bench/results/server-profile.md (+ .json)
 *
 * A benchmark, not a test: it never fails on a slow result, it reports it (missed targets are marked).
 * Every process it starts (servers, clients, HAProxy, wrk) is its own child and is killed by pid on exit,
 * on error and on Ctrl-C.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { installCleanup, killAll, log, machine, stillRunning } from './server/harness.mjs'
import memory from './server/memory.mjs'
import wsConnect, { WS_VARIANTS } from './server/ws-connect.mjs'
import { QUICK, quickCap } from './quick.mjs'
import { writeResultsIndex } from './results-index.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
const { values: args } = parseArgs({
  options: {
    only: { type: 'string', default: 'http,ws,memory' },
    profile: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    modes: { type: 'string' },
    quick: { type: 'boolean' },
    build: { type: 'string' },
    pin: { type: 'boolean', default: true },
  },
  allowNegative: true,
})
process.env.BENCH_PIN = args.pin ? '1' : '0' // read by harness.mjs (PIN) when it starts a process
// Read by http-overhead.mjs, imported after it is set, and by the server child it starts.
if (args.build) process.env.PROXYPROTO_NODE_BUILD = resolve(args.build)
const { default: httpOverhead, CONTROL_BAND, httpTargets, MODES, VARIANTS } = await import('./server/http-overhead.mjs')
const only = new Set(args.profile ? ['http'] : args.only.split(',').map((s) => s.trim()))
const quick = QUICK
// Quick mode caps what the command line asks for, so any documented command runs quickly as written.
const rounds = quickCap(args.rounds, 1)
const duration = quickCap(args.duration, 1)

installCleanup()
const m = machine()
const startedAt = new Date()
// Started by npm: name the script and what it ran; otherwise the node command line.
const { npm_lifecycle_event: npmScript, npm_lifecycle_script: npmCommand } = process.env
const command =
  npmScript && npmCommand
    ? `npm run ${npmScript} (${npmCommand})`
    : `node bench/server.mjs${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`
const versions = {
  ws: require('ws/package.json').version,
  findhit: require('findhit-proxywrap/package.json').version,
  proxyprotoNode: require('@proxyproto/node/package.json').version,
}

const results = {}
let profileDir
try {
  if (args.profile) profileDir = await mkdtemp(join(tmpdir(), 'proxyproto-bench-prof-'))
  // Profiles: connection per request only, where the per-connection work is (keep-alive has none of ours).
  const modes = args.profile ? ['close'] : args.modes?.split(',').map((x) => x.trim())
  const warmup = quick ? 0 : undefined
  if (only.has('http')) results.http = await httpOverhead({ rounds, duration, warmup, profileDir, modes })
  if (only.has('ws')) results.ws = await wsConnect(quick ? { rounds, total: 100, warmup: 10 } : { rounds })
  if (only.has('memory')) results.memory = await memory(quick ? { count: 500, churn: 500 } : {})
} finally {
  await killAll()
  if (profileDir) await rm(profileDir, { recursive: true, force: true })
}
const left = stillRunning()

// ----------------------------------------------------------------------------------------------------
// Report

const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a')
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a')
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a')
const ratio = (x) => (Number.isFinite(x) ? `${x.toFixed(3)}×` : 'n/a')
const mb = (bytes) => (bytes / 1048576).toFixed(2)
const sendName = { none: 'no header', v1: '`send-proxy` (v1)', v2: '`send-proxy-v2`' }

const lines = []
const p = (s = '') => lines.push(s)
p(
  args.profile
    ? '# Server benchmark, CPU profile run (timings perturbed by the profiler)'
    : '# Server benchmarks: withProxyProtocol vs plain Node (and findhit-proxywrap) behind HAProxy',
)
p()
p(`- Machine: ${m.cpu} × ${m.cores} logical cores (${m.platform}), shared with other work: expect noise`)
p(
  `- CPU pinning: ${process.env.BENCH_PIN === '1' ? 'server children on CPU 1, HAProxy, wrk and clients on CPU 0 (the default; `--no-pin` turns it off)' : 'none (the scheduler places every process)'}`,
)
p(`- Node ${m.node} (V8 ${m.v8}); ${m.haproxy ?? 'HAProxy: not found'}; ${m.wrk ?? 'wrk: not found'}`)
p(
  `- Packages: @proxyproto/node ${versions.proxyprotoNode} (built dist), ws ${versions.ws}, findhit-proxywrap ${versions.findhit}`,
)
p(
  `- File descriptors: soft ${m.nofile.soft}, hard ${m.nofile.hard}; every child is started with \`ulimit -n ${m.nofile.target}\``,
)
p(
  `- ${startedAt.toISOString()}, load average at start ${m.loadavg.join(' ')}, at end ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
)
p(`- Command: \`${command}\`${quick ? ' — **quick mode: short runs, figures not meant to be quoted**' : ''}`)
p(`- Processes left running after the benchmark: ${left.length ? left.join(', ') : 'none'}`)
p()

const h = results.http
if (h) {
  p('## 1. HTTP server overhead behind HAProxy')
  p()
  p(
    `Each server runs in its own child process (\`bench/server/servers/http-*.mjs\`) with the same handler, which answers with \`req.socket.remoteAddress\`. ` +
      'A fresh HAProxy (TCP mode, `nbthread 1`) per run, on a new port, connecting from its own source address 127.0.1.N. ' +
      `${h.rounds} rounds of ${h.duration} s per variant and mode, interleaved (order rotating each round), fresh server processes each round, each warmed up for ${h.warmup} s first; medians below. ` +
      '"server CPU" is the server process\'s own user+system CPU time per request (`process.cpuUsage()`), less sensitive than req/s to other work on the machine. ' +
      '"vs plain, median of rounds" is the median over rounds of each round\'s ratio to plain in that round; "spread" is the lowest and highest of those ratios. ' +
      `The control is a second plain server process timed like the others: its ratio to plain is the harness's own noise, and a target counts as met only when the control is within ±${CONTROL_BAND} of 1.`,
  )
  p()
  if (h.haproxyConfig) {
    p('HAProxy configuration (withProxyProtocol runs; plain has no `send-proxy*`, findhit has `send-proxy`):')
    p()
    p('```')
    p(
      h.haproxyConfig
        .trim()
        .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>')
        .replace(/source 127\.0\.1\.\d+/, 'source 127.0.1.<N, new each run>'),
    )
    p('```')
    p()
  }
  p('Address check before timing (one request from 127.0.0.23 through each HAProxy):')
  for (const v of VARIANTS) {
    const c = h.checks[v.key]
    p(
      `- ${v.label} (${sendName[v.send]}): handler saw \`${c.got}\`, expected ${v.client ? 'the client' : 'the balancer'} \`${c.expected}\` → ${c.ok ? 'ok' : '**wrong**'}`,
    )
  }
  p()
  for (const mode of MODES) {
    const mm = h.modes[mode.key]
    if (!mm) continue
    p(`### ${mode.label}: \`${mm.command?.replace(/127\.0\.0\.1:\d+/, '127.0.0.1:<haproxy>')}\``)
    p()
    p(
      '| server | HAProxy sends | server CPU µs/req (median; min–max) | vs plain, median of rounds | spread of rounds | req/s | vs plain | p50 ms | p99 ms | errors |',
    )
    p('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    for (const v of VARIANTS) {
      const s = mm.summary[v.key]
      if (s.na) {
        p(`| ${v.label} | ${sendName[v.send]} | n/a (${s.na}) | | | | | | | |`)
        continue
      }
      p(
        `| ${v.label} | ${sendName[v.send]} | ${f1(s.cpuPerRequestUs)} (${f1(s.cpuMin)}–${f1(s.cpuMax)}) | **${ratio(s.cpuRatio)}** | ${f2(s.cpuRatioMin)}–${f2(s.cpuRatioMax)} | ${f0(s.rps)} | ${ratio(s.roundRatioMedian)} | ${f2(s.p50)} | ${f2(s.p99)} | ${s.errors} |`,
      )
    }
    p()
    // The same line for CPU time and for req/s: each variant's figure per round, with its ratio to plain.
    for (const [what, figure, format, ratios] of [
      ['server CPU µs/req', 'cpuPerRequestUs', f1, 'cpuRoundRatios'],
      ['req/s', 'rps', f0, 'roundRatios'],
    ]) {
      p(
        `Per round, ${what} (ratio to plain in the same round): ${VARIANTS.filter((v) => !mm.summary[v.key].na)
          .map(
            (v) =>
              `${v.key} ${mm.runs
                .filter((r) => r.variant === v.key)
                .map(
                  (r) =>
                    `${format(r[figure])}${v.key === 'plain' ? '' : ` (${f2(mm.summary[v.key][ratios][r.round - 1])})`}`,
                )
                .join(', ')}`,
          )
          .join('; ')}`,
      )
      p()
    }
  }
  p('Targets:')
  for (const t of httpTargets(h)) p(`- ${t.text}${t.met === null ? '' : t.met ? ' → met' : ' → **missed**'}`)
  p()
  p(`withProxyProtocol's counters at the end (the last round's server process): \`${JSON.stringify(h.oursStats)}\``)
  p()
}

const w = results.ws
if (w) {
  p('## 2. WebSocket connect rate behind HAProxy')
  p()
  p(
    `\`ws\` WebSocketServer on an http.Server (\`bench/server/servers/ws.mjs\`), HAProxy TCP as above. A client process (\`bench/server/clients/ws-client.mjs\`) opens ${w.total} connections, ${w.concurrency} at a time, each open → one message → the server's answer → close. ` +
      `${w.rounds} interleaved rounds after ${w.warmup} warm-up connections per variant; medians.`,
  )
  p()
  p('Address check before timing (one connection from 127.0.0.23):')
  for (const v of WS_VARIANTS) {
    const c = w.checks[v.key]
    p(`- ${v.label}: server saw \`${c.got}\`, expected \`${c.expected}\` → ${c.ok ? 'ok' : '**wrong**'}`)
  }
  p()
  p(
    '| server | HAProxy sends | connections/s | vs plain, median of rounds (spread) | server CPU µs/connection | vs plain, median of rounds (spread) | failed |',
  )
  p('|---|---|---:|---:|---:|---:|---:|')
  for (const v of WS_VARIANTS) {
    const s = w.summary[v.key]
    if (s.na) {
      p(`| ${v.label} | ${sendName[v.send]} | n/a (${s.na}) | | | | |`)
      continue
    }
    p(
      `| ${v.label} | ${sendName[v.send]} | ${f0(s.perSecond)} | **${ratio(s.ratio)}** (${f2(s.ratioMin)}–${f2(s.ratioMax)}) | ${f0(s.cpuPerConnectionUs)} | **${ratio(s.cpuRatio)}** (${f2(s.cpuRatioMin)}–${f2(s.cpuRatioMax)}) | ${s.failed} |`,
    )
  }
  p()
  {
    const o = w.summary.ours
    const c = w.summary.control
    if (o && !o.na && c && !c.na) {
      const noisy = Math.abs(c.ratio - 1) > CONTROL_BAND
      p(
        `Target: connections/s ≥ 0.97× plain: got ${o.ratio.toFixed(3)}× (control ${c.ratio.toFixed(3)}×)${noisy ? ` → control outside ±${CONTROL_BAND}: run too noisy to judge` : o.ratio >= 0.97 ? ' → met' : ' → **missed**'}`,
      )
    }
  }
  p()
  p(
    `Per round, connections/s: ${WS_VARIANTS.map(
      (v) =>
        `${v.key} ${w.runs
          .filter((r) => r.variant === v.key)
          .map((r) => f0(r.perSecond))
          .join(', ')}`,
    ).join('; ')}`,
  )
  p()
  p(`withProxyProtocol's counters at the end: \`${JSON.stringify(w.oursStats)}\``)
  p()
}

const mem = results.memory
if (mem) {
  p('## 3. Memory')
  p()
  p(
    `A net server in a child process started with \`--expose-gc\` (\`bench/server/servers/net-memory.mjs\`; withProxyProtocol with \`headerTimeout: 600000\`), a client process holding the other ends (\`bench/server/clients/connections.mjs\`), no HAProxy. ` +
      'Heap and RSS are read after `gc()` in the server, after a short warm-up, before and with the connections open (Δ = difference, scaled to the connection count; RSS also keeps the pages V8 grew its heap into, so it is the coarser of the two).' +
      (mem.scaled ? ` **Connection count ${mem.scaled}.**` : ''),
  )
  p()
  p(`### ${mem.count} connections open at once`)
  p()
  p(
    `| client sent | server | open | waiting for header | heap used Δ MB per ${mem.count} | heap bytes / connection | RSS Δ MB per ${mem.count} | RSS bytes / connection |`,
  )
  p('|---|---|---:|---:|---:|---:|---:|---:|')
  const payloads = [...new Set(mem.pending.map((r) => r.payload))]
  for (const key of payloads) {
    const rows = mem.pending.filter((r) => r.payload === key)
    for (const r of rows) {
      p(
        `| ${r.payloadLabel} | ${r.variant === 'plain' ? 'plain net' : 'withProxyProtocol(net)'} | ${r.serverConnections} | ${r.pendingHeaders ?? '–'} | ${mb(r.heapPerConnection * mem.count)} | ${f0(r.heapPerConnection)} | ${mb(r.rssPerConnection * mem.count)} | ${f0(r.rssPerConnection)} |`,
      )
    }
    const plain = rows.find((r) => r.variant === 'plain')
    const ours = rows.find((r) => r.variant === 'proxyproto')
    if (plain && ours) {
      p(
        `| ${ours.payloadLabel} | **ours − plain** | | | **${mb((ours.heapPerConnection - plain.heapPerConnection) * mem.count)}** | **${f0(ours.heapPerConnection - plain.heapPerConnection)}** | ${mb((ours.rssPerConnection - plain.rssPerConnection) * mem.count)} | ${f0(ours.rssPerConnection - plain.rssPerConnection)} |`,
      )
    }
  }
  p()
  const c = mem.churn
  p(
    `### ${c.total} connections that come and go (whole v2 header + 1 byte + close, ${c.concurrency} at a time, from ${c.sources})`,
  )
  p()
  p(
    `${c.ok} completed, ${c.failed} failed${c.failed ? ` (${JSON.stringify(c.failures)})` : ''}, ${f0(c.perSecond)} connections/s. Counters before: \`${JSON.stringify(c.statsBefore)}\`, after: \`${JSON.stringify(c.statsAfter)}\`; open connections after: ${c.connectionsAfter}.`,
  )
  p()
  p('| after | heap used MB | heap total MB | external MB | RSS MB | open | waiting |')
  p('|---:|---:|---:|---:|---:|---:|---:|')
  for (const cp of c.checkpoints) {
    p(
      `| ${cp.after} | ${mb(cp.heapUsed)} | ${mb(cp.heapTotal)} | ${mb(cp.external)} | ${mb(cp.rss)} | ${cp.connections} | ${cp.pending} |`,
    )
  }
  p()
}

if (h?.profiles) {
  p('## CPU profiles of the server children (all timed runs and the warm-up together)')
  p()
  p(
    'Sampled wall-clock profiles (`--cpu-prof`), so on a busy machine the times include descheduled time and ' +
      'are larger than the CPU times above; compare shares, not absolute values. "Inclusive" time of proxyproto ' +
      "counts every sample whose stack reaches our code before the server's own connection listener (the Node " +
      'work we cause, such as `socket.read()`, `unshift()`, timers, counts; the HTTP handling after the hand-off ' +
      'and the events our `server.emit` wrapper only passes through do not).',
  )
  p()
  for (const v of VARIANTS) {
    for (const prof of h.profiles[v.key] ?? []) {
      const served = [...(h.modes['keep-alive']?.runs ?? []), ...(h.modes.close?.runs ?? [])]
        .filter((r) => r.variant === v.key)
        .reduce((a, r) => a + r.requests, 0)
      // Per request: the profile covers the warm-up and checks too, so these slightly overstate.
      const us = (ms) => (served ? f2((ms * 1000) / served) : 'n/a')
      p(
        `### ${v.label}: busy ${f0(prof.busyMs)} ms (${us(prof.busyMs)} µs per request); proxyproto self ${f0(prof.oursMs)} ms (${f1((100 * prof.oursMs) / prof.busyMs)} %), inclusive ${f0(prof.oursInclusiveMs)} ms (${f1((100 * prof.oursInclusiveMs) / prof.busyMs)} %, ${us(prof.oursInclusiveMs)} µs per request)`,
      )
      p()
      p('| self ms | % of busy | µs per request | function |')
      p('|---:|---:|---:|---|')
      for (const t of prof.top) p(`| ${f0(t.ms)} | ${f1(t.pctBusy)} | ${us(t.ms)} | \`${t.fn}\` |`)
      p()
      if (prof.oursInclusiveMs > 0.005 * prof.busyMs) {
        p('Inclusive time under proxyproto, by our function → what it called:')
        p()
        p('| ms | % of busy | µs per request | our function → callee |')
        p('|---:|---:|---:|---|')
        for (const t of prof.oursBreakdown) p(`| ${f0(t.ms)} | ${f1(t.pctBusy)} | ${us(t.ms)} | \`${t.fn}\` |`)
        p()
      }
      p(`(${served} requests timed in this child, plus warm-up and checks.)`)
      p()
    }
  }
}

const md = `${lines.join('\n')}\n`
console.log(`\n${md}`)
if (quick) log('quick mode: figures too noisy to quote, nothing written')
else {
  const outDir = join(here, 'results')
  const complete = ['http', 'ws', 'memory'].every((k) => only.has(k))
  const base = args.profile ? 'server-profile' : complete ? 'server' : 'server-partial'
  await mkdir(outDir, { recursive: true })
  await writeFile(join(outDir, `${base}.md`), md)
  const json = {
    machine: m,
    command,
    startedAt: startedAt.toISOString(),
    versions,
    processesLeftRunning: left,
    ...results,
  }
  await writeFile(join(outDir, `${base}.json`), `${JSON.stringify(json, null, 2)}\n`)
  log(`written to ${join(outDir, `${base}.md`)}`)
  console.log(`written to ${await writeResultsIndex()}`)
}
