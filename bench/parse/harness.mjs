/**
 * Runs one benchmark case: checks every entry's answer against the fixture once (untimed), then times
 * the entries that gave the right answer with mitata, side by side in this process.
 *
 * An entry is { lib, name, fn, read, info? }:
 * - fn: the timed function. It is written out in the case file (one closure per entry, so each call site
 *   keeps its own type feedback) and passes its result through `keep`, so nothing is dead code.
 * - read(result): the result in a common shape { family?, source?, destination?, tlvs? } for the check.
 * - info: timed and shown, but not a candidate for the table (e.g. ours with extra work, or a variant
 *   that does more work than the table's entry).
 * For each library the table uses the fastest entry that passed the check; a library with none is "n/a".
 */
import { SocketAddress } from 'node:net'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bench, do_not_optimize, measure, run, summary } from 'mitata'
import { QUICK } from '../quick.mjs'

/** The statistic reported: the median of mitata's samples (each sample is a batch average), in ns. */
export const STAT = 'p50'

/** Consumes a value so V8 cannot drop the computation, and hands it back for the correctness check. */
export function keep(v) {
  do_not_optimize(v)
  return v
}

export const LIBS = ['proxyproto', 'proxy-protocol-js', 'balena', 'floor']
const WARMUP_CALLS = 2000

function canonical(address) {
  return new SocketAddress({ address, family: address.includes(':') ? 'ipv6' : 'ipv4' }).address
}

function sameEndpoint(got, want) {
  if (!got || typeof got.address !== 'string') return false
  try {
    return canonical(got.address) === canonical(want.address) && got.port === want.port
  } catch {
    return false // not an address at all
  }
}

const show = (e) => (e ? `${e.address}:${e.port}` : String(e))

/** Returns undefined when `got` matches `want`, else the first difference. */
function mismatch(got, want) {
  if (!got) return 'no result'
  if (want.family && got.family !== undefined && got.family !== want.family) {
    return `family ${got.family}, expected ${want.family}`
  }
  for (const side of ['source', 'destination']) {
    if (want[side] === undefined) {
      if (got[side] !== undefined) return `${side} ${show(got[side])}, expected none`
    } else if (!sameEndpoint(got[side], want[side])) {
      return `${side} ${show(got[side])}, expected ${show(want[side])}`
    }
  }
  if (want.tlvs) {
    if (!got.tlvs) return 'TLVs not decoded'
    for (const [k, v] of Object.entries(want.tlvs)) {
      if (got.tlvs[k] !== v) return `TLV ${k} = ${JSON.stringify(got.tlvs[k])}, expected ${JSON.stringify(v)}`
    }
  }
  return undefined
}

/** mitata's run: each entry for mitata's default time (about 0.6 s of CPU), side by side. */
async function timedRun(timed, print) {
  summary(() => {
    for (const e of timed) bench(`${e.lib}: ${e.name}`, e.fn)
  })
  return run({ print, colors: false })
}

/**
 * Quick mode (`--quick`, BENCH_QUICK=1): each entry measured for 20 ms of CPU instead of mitata's 0.6 s, in
 * the shape run() answers; checks that the benchmark works, its figures are too noisy to quote.
 */
async function quickRun(timed, print) {
  const benchmarks = []
  for (const e of timed) {
    const alias = `${e.lib}: ${e.name}`
    const stats = await measure(e.fn, { min_cpu_time: 20e6, min_samples: 4 })
    print(`  ${alias}: p50 ${stats.p50.toFixed(1)} ns (quick)`)
    benchmarks.push({ alias, runs: [{ stats }] })
  }
  return { benchmarks, context: undefined }
}

/**
 * @param {string} caseName
 * @param {object} expect what a correct parser returns (see fixtures.mjs)
 * @param {Array<{lib: string, name: string, fn: () => unknown, read: (r: any) => any, info?: boolean, why?: string}>} entries
 * @param {{print?: (s: string) => void, quick?: boolean}} [options]
 */
export async function runCase(caseName, expect, entries, options = {}) {
  const print = options.print ?? ((s) => console.log(s))
  print(`\n## ${caseName}: checking each entry's answer once before timing`)
  const checked = entries.map((e) => {
    let reason
    try {
      reason = mismatch(e.read(e.fn()), expect)
    } catch (err) {
      reason = `throws ${JSON.stringify(err?.message ?? String(err))}`
    }
    if (reason && e.why) reason = `${reason} (${e.why})`
    print(`  ${reason ? 'n/a' : 'ok '}  ${e.lib}: ${e.name}${reason ? ` -- ${reason}` : ''}`)
    return { ...e, ok: !reason, reason }
  })

  const timed = checked.filter((e) => e.ok)
  // Warm up first: mitata decides from a single first call whether to time batches of 4096 calls or single
  // calls (timer overhead included). A slow first call (cold code, a lazy initialiser, a descheduled
  // process on a busy machine) would otherwise leave that one entry unbatched and not comparable.
  for (const e of timed) for (let i = 0; i < WARMUP_CALLS; i++) e.fn()
  const out = (options.quick ?? QUICK) ? await quickRun(timed, print) : await timedRun(timed, print)

  const results = checked.map((e) => {
    const r = { lib: e.lib, name: e.name, info: Boolean(e.info), ok: e.ok, reason: e.reason }
    if (!e.ok) return r
    const trial = out.benchmarks.find((t) => t.alias === `${e.lib}: ${e.name}`)
    const stats = trial?.runs?.[0]?.stats
    if (!stats)
      return { ...r, ok: false, reason: `benchmark failed: ${trial?.runs?.[0]?.error ?? 'no stats'}` }
    return { ...r, p50: stats.p50, avg: stats.avg, batched: stats.ticks > stats.samples.length }
  })
  // Still unbatched (ticks === samples): time it again with batching forced, and say so.
  for (const r of results) {
    if (!r.ok || r.batched) continue
    const e = timed.find((x) => x.lib === r.lib && x.name === r.name)
    const stats = await measure(e.fn, {
      batch_threshold: Number.POSITIVE_INFINITY,
      warmup_threshold: Number.POSITIVE_INFINITY,
    })
    print(
      `  re-measured with batching forced: ${r.lib}: ${r.name}: p50 ${stats.p50.toFixed(1)} ns (was ${r.p50.toFixed(1)} ns unbatched)`,
    )
    Object.assign(r, {
      p50: stats.p50,
      avg: stats.avg,
      batched: stats.ticks > stats.samples.length,
      remeasured: true,
    })
  }

  const best = {}
  for (const lib of LIBS) {
    const candidates = results.filter((r) => r.lib === lib && r.ok && !r.info)
    if (candidates.length === 0) {
      const failed = results.filter((r) => r.lib === lib && !r.info)
      best[lib] = {
        na: failed.length ? failed.map((r) => `${r.name}: ${r.reason}`).join('; ') : 'not measured',
      }
    } else {
      const b = candidates.reduce((x, y) => (y[STAT] < x[STAT] ? y : x))
      best[lib] = { ns: b[STAT], name: b.name }
    }
  }
  return { case: caseName, best, results, context: out.context }
}

/** True when the module at `url` is the script node was started with. */
export function isMain(url) {
  return process.argv[1] !== undefined && fileURLToPath(url) === resolve(process.argv[1])
}
