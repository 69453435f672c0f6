/**
 * WebSocket connect rate behind HAProxy (TCP mode): a `ws` WebSocketServer on an http.Server, plain
 * (HAProxy sends no header) vs prepared by withProxyProtocol (HAProxy `send-proxy-v2`). Server and client
 * are separate child processes (servers/ws.mjs, clients/ws-client.mjs); the client opens `total`
 * connections, `concurrency` at a time, each open → one message → answer → close.
 * Rounds alternate the variants (order rotating); each run gets a fresh HAProxy on a new port connecting
 * from its own source address. Before timing, one connection from 127.0.0.23 checks the address the
 * server reports (the client for ours, the balancer for plain).
 */
import { join } from 'node:path'
import { HERE, isMain, log, median, nextSource, PIN, startHaproxy, startNode } from './harness.mjs'

export const WS_VARIANTS = [
  { key: 'plain', label: 'ws on plain http', arg: 'plain', send: 'none', client: false },
  { key: 'control', label: 'ws on plain http (control: a second plain process)', arg: 'plain', send: 'none', client: false },
  { key: 'ours', label: 'ws on withProxyProtocol(http)', arg: 'proxyproto', send: 'v2', client: true },
]
const CLIENT = '127.0.0.23'

/** @param {{ rounds?: number, total?: number, concurrency?: number, warmup?: number }} [o] */
export default async function wsConnect(o = {}) {
  const rounds = o.rounds ?? 5
  const total = o.total ?? 2000
  const concurrency = o.concurrency ?? 50
  const warmup = o.warmup ?? 300
  log('\n## WebSocket connect rate: starting the server children and the client')
  const servers = new Map()
  let client
  try {
    for (const v of WS_VARIANTS) {
      servers.set(v.key, await startNode(join(HERE, 'servers', 'ws.mjs'), [v.arg], { name: `ws-${v.key}`, cpus: PIN.server }))
    }
    client = await startNode(join(HERE, 'clients', 'ws-client.mjs'), [], { name: 'ws-client', cpus: PIN.load })

    const run = async (v, count, localAddress) => {
      const server = servers.get(v.key)
      const source = nextSource()
      const haproxy = await startHaproxy({ serverPort: server.ready.port, source, send: v.send, cpus: PIN.load })
      try {
        const before = (await server.call('cpu')).cpu
        const r = await client.call('run', {
          url: `ws://127.0.0.1:${haproxy.port}/`,
          total: count,
          concurrency,
          localAddress,
        })
        const after = (await server.call('cpu')).cpu
        const cpuUs = after.user + after.system - before.user - before.system
        return { ...r, source, cpuPerConnectionUs: r.ok ? cpuUs / r.ok : undefined }
      } finally {
        await haproxy.stop()
      }
    }

    log('## WebSocket connect rate: checking the address each variant reports through HAProxy')
    const checks = {}
    for (const v of WS_VARIANTS) {
      const r = await run(v, 1, CLIENT)
      const got = Object.keys(r.replies)[0] ?? `failed: ${JSON.stringify(r.failures)}`
      const expected = v.client ? CLIENT : r.source
      checks[v.key] = { got, expected, ok: got === expected, balancer: r.source }
      log(
        `  ${got === expected ? 'ok ' : 'BAD'}  ${v.label}: client ${CLIENT} via balancer ${r.source} → server saw ${got}`,
      )
    }
    const timed = WS_VARIANTS.filter((v) => checks[v.key].ok)

    log(`## WebSocket connect rate: warm-up ${warmup} connections per variant`)
    for (const v of timed) await run(v, warmup)
    const runs = []
    for (let r = 0; r < rounds; r++) {
      const order = timed.map((_, i) => timed[(i + r) % timed.length])
      for (const v of order) {
        const res = await run(v, total)
        runs.push({ round: r + 1, variant: v.key, ...res })
        const fail = res.failed ? ` FAILED ${res.failed}: ${JSON.stringify(res.failures)}` : ''
        log(
          `  round ${r + 1} ${v.key.padEnd(6)} ${res.perSecond.toFixed(0).padStart(5)} connections/s (${res.ok} in ${res.elapsedMs.toFixed(0)} ms)  server CPU ${res.cpuPerConnectionUs?.toFixed(0)} µs/conn${fail}`,
        )
      }
    }
    const summary = {}
    for (const v of WS_VARIANTS) {
      const mine = runs.filter((x) => x.variant === v.key)
      if (mine.length === 0) {
        summary[v.key] = { na: `address check failed: server saw ${checks[v.key].got}` }
        continue
      }
      // Per round, over plain in the same round: connections/s and server CPU per connection.
      const plainOf = (x) => runs.find((y) => y.round === x.round && y.variant === 'plain')
      const rateRatios = mine.map((x) => (plainOf(x) ? x.perSecond / plainOf(x).perSecond : Number.NaN))
      const cpuRatios = mine.map((x) => (plainOf(x) ? x.cpuPerConnectionUs / plainOf(x).cpuPerConnectionUs : Number.NaN))
      summary[v.key] = {
        perSecond: median(mine.map((x) => x.perSecond)),
        cpuPerConnectionUs: median(mine.map((x) => x.cpuPerConnectionUs)),
        failed: mine.reduce((s, x) => s + x.failed, 0),
        rateRatios,
        cpuRatios,
        ratio: median(rateRatios),
        ratioMin: Math.min(...rateRatios),
        ratioMax: Math.max(...rateRatios),
        cpuRatio: median(cpuRatios),
        cpuRatioMin: Math.min(...cpuRatios),
        cpuRatioMax: Math.max(...cpuRatios),
      }
    }
    const oursStats = (await servers.get('ours').call('stats')).stats
    return { rounds, total, concurrency, warmup, checks, runs, summary, oursStats }
  } finally {
    await client?.stop()
    for (const s of servers.values()) await s.stop()
  }
}

if (isMain(import.meta.url)) {
  const { installCleanup, killAll } = await import('./harness.mjs')
  installCleanup()
  try {
    const r = await wsConnect()
    console.log(JSON.stringify({ checks: r.checks, summary: r.summary, oursStats: r.oursStats }, null, 2))
  } finally {
    await killAll()
  }
}
