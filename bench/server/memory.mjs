/**
 * Memory of a prepared net server (no HAProxy: the client talks to the server directly on loopback, which
 * the default trust list accepts).
 *
 * 1. Pending connections: a server child (servers/net-memory.mjs, --expose-gc) gets `count` (10,000)
 *    connections from a client child (clients/connections.mjs) that send nothing, or only the first 16
 *    bytes of a 28-byte v2 header, and stay open. withProxyProtocol (headerTimeout 10 min) keeps them all
 *    waiting for their header; the plain net server, same handler, holds the same number of idle
 *    connections. Heap used and RSS are read after gc, before and with the connections open: the
 *    difference between the two servers is our cost per waiting connection.
 * 2. Churn: `churn` (100,000) connections that each send a whole v2 header + one byte and close, at most
 *    `churnConcurrency` at a time, from 127.0.2.N source addresses (at most 5,000 per address, so TIME_WAIT
 *    cannot exhaust the ports). Heap and RSS after gc before, half-way and after show whether anything
 *    is kept.
 *
 * Each process holds one end of every connection, so each needs `count` + a margin of file descriptors:
 * the children are started with `ulimit -n` raised as far as the hard limit allows; below that the count
 * is scaled down (and the report says so).
 */
import { join } from 'node:path'
import { encode } from '@proxyproto/core'
import { fdLimits, HERE, isMain, log, nextSource, startNode } from './harness.mjs'

const HEADER = Buffer.from(
  encode({
    version: 2,
    family: 'IPv4',
    source: { address: '203.0.113.7', port: 40000 },
    destination: { address: '127.0.0.1', port: 8080 },
  }),
)
export const PAYLOADS = [
  { key: 'none', label: 'nothing sent', hex: '' },
  {
    key: 'partial',
    label: `first 16 of ${HEADER.length} header bytes`,
    hex: HEADER.subarray(0, 16).toString('hex'),
  },
]
const PER_SOURCE = 5000
const FD_MARGIN = 1000

const sources = (n, prefix) => Array.from({ length: Math.ceil(n / PER_SOURCE) }, () => nextSource(prefix))
const mem = (m) => ({
  heapUsed: m.memory.heapUsed,
  heapTotal: m.memory.heapTotal,
  external: m.memory.external,
  arrayBuffers: m.memory.arrayBuffers,
  rss: m.memory.rss,
})

/** @param {{ count?: number, churn?: number, churnConcurrency?: number, holdConcurrency?: number }} [o] */
export default async function memory(o = {}) {
  const { target } = fdLimits()
  const wanted = o.count ?? 10000
  const count = Math.min(wanted, Math.max(1000, Math.floor((target - FD_MARGIN) / 1000) * 1000))
  const scaled =
    count < wanted
      ? `scaled down from ${wanted} to ${count}: children get at most ${target} file descriptors (hard limit)`
      : undefined
  const churnTotal = o.churn ?? 100000
  const churnConcurrency = o.churnConcurrency ?? 100
  const holdConcurrency = o.holdConcurrency ?? 200
  const children = []
  const start = async (script, args, opts) => {
    const c = await startNode(join(HERE, script), args, opts)
    children.push(c)
    return c
  }
  try {
    const client = await start('clients/connections.mjs', [], { name: 'connections-client' })
    const warm = async (server, variant, n) => {
      const payload = variant === 'plain' ? '78' : `${HEADER.toString('hex')}78`
      const r = await client.call('churn', {
        port: server.ready.port,
        total: n,
        concurrency: 50,
        payload,
        sources: sources(n, '127.0.2.'),
      })
      if (r.failed) throw new Error(`warm-up: ${r.failed} connections failed: ${JSON.stringify(r.failures)}`)
    }

    // 1. Pending connections.
    const pending = []
    for (const payload of PAYLOADS) {
      for (const variant of ['plain', 'proxyproto']) {
        log(`\n## Memory: ${count} connections held open (${payload.label}) on ${variant}`)
        const server = await start('servers/net-memory.mjs', [variant, '600000'], {
          name: `net-${variant}`,
          nodeArgs: ['--expose-gc'],
        })
        await warm(server, variant, 500)
        const before = await server.call('memory')
        const held = await client.call('hold', {
          port: server.ready.port,
          count,
          concurrency: holdConcurrency,
          payload: payload.hex,
          sources: sources(count, '127.0.3.'),
        })
        // Connections the kernel has established may still wait in the accept queue: measure once the
        // server has accepted all of them (or after 10 s, and the table shows how many it had).
        for (let i = 0; i < 100; i++) {
          if ((await server.call('stats')).connections >= held.opened) break
          await new Promise((res) => setTimeout(res, 100))
        }
        const during = await server.call('memory')
        await client.call('release')
        await server.stop()
        const b = mem(before)
        const d = mem(during)
        const row = {
          payload: payload.key,
          payloadLabel: payload.label,
          variant,
          opened: held.opened,
          failed: held.failed,
          failures: held.failures,
          serverConnections: during.connections,
          pendingHeaders: during.stats?.pending,
          before: b,
          during: d,
          heapPerConnection: (d.heapUsed - b.heapUsed) / during.connections,
          externalPerConnection: (d.external - b.external) / during.connections,
          rssPerConnection: (d.rss - b.rss) / during.connections,
        }
        pending.push(row)
        log(
          `  opened ${held.opened} (failed ${held.failed}); server sees ${during.connections} connections` +
            `${variant === 'proxyproto' ? `, ${during.stats?.pending} waiting for their header` : ''}; heap +${((d.heapUsed - b.heapUsed) / 1048576).toFixed(2)} MB, RSS +${((d.rss - b.rss) / 1048576).toFixed(2)} MB`,
        )
      }
    }

    // 2. Churn on the prepared server.
    log(`\n## Memory: ${churnTotal} connections that come and go (v2 header + 1 byte + close) on proxyproto`)
    const server = await start('servers/net-memory.mjs', ['proxyproto', '600000'], {
      name: 'net-proxyproto-churn',
      nodeArgs: ['--expose-gc'],
    })
    await warm(server, 'proxyproto', 2000)
    const settled = async () => {
      // The server may still be closing the last sockets: wait until it has none, then gc and measure.
      let m = await server.call('memory')
      for (let i = 0; i < 50 && m.connections > 0; i++) {
        await new Promise((res) => setTimeout(res, 100))
        m = await server.call('memory')
      }
      return m
    }
    // Measured before, half-way and at the end: heap used must come back to where it was; RSS (which
    // keeps the pages V8's heap grew into) must level off rather than keep rising.
    const checkpoints = [{ after: 0, m: await settled() }]
    const churnSources = sources(churnTotal, '127.0.2.')
    const half = Math.floor(churnTotal / 2)
    const parts = [half, churnTotal - half]
    const results = []
    let done = 0
    for (const n of parts) {
      const firstSource = Math.floor(done / PER_SOURCE)
      const r = await client.call('churn', {
        port: server.ready.port,
        total: n,
        concurrency: churnConcurrency,
        payload: `${HEADER.toString('hex')}78`,
        sources: churnSources.slice(firstSource, firstSource + Math.ceil(n / PER_SOURCE)),
      })
      results.push(r)
      done += n
      checkpoints.push({ after: done, m: await settled() })
    }
    const ok = results.reduce((a, r) => a + r.ok, 0)
    const elapsedMs = results.reduce((a, r) => a + r.elapsedMs, 0)
    const failures = {}
    for (const r of results)
      for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v
    const last = checkpoints.at(-1).m
    const churn = {
      total: churnTotal,
      concurrency: churnConcurrency,
      sources: `${churnSources[0]} … ${churnSources.at(-1)} (${churnSources.length} addresses, ≤ ${PER_SOURCE} connections each)`,
      ok,
      failed: churnTotal - ok,
      failures,
      elapsedMs,
      perSecond: (ok * 1000) / elapsedMs,
      checkpoints: checkpoints.map(({ after, m }) => ({
        after,
        ...mem(m),
        connections: m.connections,
        pending: m.stats?.pending,
      })),
      statsBefore: checkpoints[0].m.stats,
      statsAfter: last.stats,
      connectionsAfter: last.connections,
    }
    const cp = churn.checkpoints
    log(
      `  ${ok} ok, ${churn.failed} failed in ${(elapsedMs / 1000).toFixed(1)} s; heap used ${cp.map((c) => (c.heapUsed / 1048576).toFixed(2)).join(' → ')} MB; RSS ${cp.map((c) => (c.rss / 1048576).toFixed(1)).join(' → ')} MB`,
    )
    return { count, wanted, scaled, fdTarget: target, holdConcurrency, pending, churn }
  } finally {
    for (const c of children) await c.stop()
  }
}

if (isMain(import.meta.url)) {
  const { installCleanup, killAll } = await import('./harness.mjs')
  installCleanup()
  try {
    console.log(JSON.stringify(await memory(), null, 2))
  } finally {
    await killAll()
  }
}
