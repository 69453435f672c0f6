/**
 * Memory under a connect-and-wait flood, with and without `maxPending` (issue 10, item 5).
 *
 * A net server child prepared by withProxyProtocol (servers/net-memory.mjs, --expose-gc, headerTimeout
 * 10 min so nothing expires during the run) gets `count` connections from trusted loopback addresses
 * that send nothing and stay open (clients/connections.mjs `hold`). Heap used and RSS are read after gc,
 * before and with the flood open, for each cap: without a cap memory grows with the flood (bounded only
 * by flood rate × headerTimeout); with one it stops at the cap, and the rest are refused at once with
 * ERR_PROXY_TOO_MANY_PENDING.
 *
 *   node bench/server/pending-flood.mjs [count=15000] [caps=1000000000,10000,1000]
 *   --quick (or BENCH_QUICK=1): at most 1,000 connections, caps 1000000000,500 unless given; a few seconds,
 *   for checking that it works (the docs test runs it so). It never writes files.
 */
import { join } from 'node:path'
import { QUICK, quickCap } from '../quick.mjs'
import { fdLimits, HERE, isMain, log, nextSource, startNode } from './harness.mjs'

const PER_SOURCE = 5000
const MB = 1048576

export default async function pendingFlood(count = 15000, caps = [1e9, 10000, 1000]) {
  const { target } = fdLimits()
  if (count + 1000 > target)
    throw new Error(`count ${count} needs ${count + 1000} file descriptors; the hard limit is ${target}`)
  const rows = []
  const client = await startNode(join(HERE, 'clients/connections.mjs'), [], { name: 'flood-client' })
  try {
    for (const cap of caps) {
      const server = await startNode(
        join(HERE, 'servers/net-memory.mjs'),
        ['proxyproto', '600000', String(cap)],
        {
          name: `net-maxPending-${cap}`,
          nodeArgs: ['--expose-gc'],
        },
      )
      try {
        const before = await server.call('memory')
        const sources = Array.from({ length: Math.ceil(count / PER_SOURCE) }, () => nextSource('127.0.4.'))
        const held = await client.call('hold', {
          port: server.ready.port,
          count,
          concurrency: 200,
          payload: '',
          sources,
        })
        // Wait until the server has accepted (and refused) everything the kernel established.
        let s = await server.call('stats')
        for (let i = 0; i < 100 && s.stats.connections < held.opened; i++) {
          await new Promise((r) => setTimeout(r, 100))
          s = await server.call('stats')
        }
        const during = await server.call('memory')
        await client.call('release')
        const row = {
          maxPending: cap >= 1e9 ? 'none (1e9)' : cap,
          opened: held.opened,
          serverOpen: during.connections,
          pending: during.stats.pending,
          refused: during.stats.refused.ERR_PROXY_TOO_MANY_PENDING ?? 0,
          heapDeltaMB: (during.memory.heapUsed - before.memory.heapUsed) / MB,
          rssDeltaMB: (during.memory.rss - before.memory.rss) / MB,
        }
        rows.push(row)
        log(
          `maxPending ${row.maxPending}: ${row.opened} connections opened, server holds ${row.serverOpen} (${row.pending} waiting), ` +
            `${row.refused} refused; heap +${row.heapDeltaMB.toFixed(2)} MB, RSS +${row.rssDeltaMB.toFixed(2)} MB`,
        )
      } finally {
        await server.stop()
      }
    }
  } finally {
    await client.stop()
  }
  return rows
}

if (isMain(import.meta.url)) {
  const [count = 15000, caps = QUICK ? '1000000000,500' : '1000000000,10000,1000'] = process.argv
    .slice(2)
    .filter((a) => !a.startsWith('--'))
  const rows = await pendingFlood(quickCap(count, 1000), caps.split(',').map(Number))
  log(
    '\n| maxPending | opened | server holds | waiting | refused | heap Δ MB | RSS Δ MB |\n|---|---:|---:|---:|---:|---:|---:|',
  )
  for (const r of rows)
    log(
      `| ${r.maxPending} | ${r.opened} | ${r.serverOpen} | ${r.pending} | ${r.refused} | ${r.heapDeltaMB.toFixed(2)} | ${r.rssDeltaMB.toFixed(2)} |`,
    )
}
