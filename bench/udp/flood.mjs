#!/usr/bin/env node
// Memory under a UDP flood: N datagrams from F client flows, all through one trusted peer (a balancer on
// 127.0.0.1 putting a PROXY v2 DGRAM header in front of each), into a dgram socket prepared with
// withProxyProtocol. The server runs in a child process started with --expose-gc; it reports its heap
// (after a full GC) before and after the flood, and the flow table's size against its cap.
//
//   node bench/udp/flood.mjs [--datagrams 100000] [--flows 10000] [--max-flows 65536] [--framing v2|spp]
//   --quick (or BENCH_QUICK=1): at most 5,000 datagrams from 500 flows, a few seconds; checks that it works
//   (the docs test runs it so). It never writes files.
//
// The sender paces itself (a window of datagrams not yet seen by the server) so that the kernel's socket
// buffer does not drop them: the point is what the server keeps, not how fast it drops.
import { fork } from 'node:child_process'
import dgram from 'node:dgram'
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { encode, encodeSpp } from '@proxyproto/core'
import { quickCap } from '../quick.mjs'

const { values } = parseArgs({
  options: {
    datagrams: { type: 'string', default: '100000' },
    flows: { type: 'string', default: '10000' },
    'max-flows': { type: 'string', default: '65536' },
    framing: { type: 'string', default: 'v2' },
    child: { type: 'boolean' },
    quick: { type: 'boolean' },
  },
})

if (values.child) {
  const { withProxyProtocol, proxyProtocolStats } = await import('@proxyproto/node')
  const socket = withProxyProtocol(dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 }), {
    trust: ['127.0.0.1'],
    framing: values.framing,
    maxFlows: Number(values['max-flows']),
  })
  socket.on('message', () => {})
  socket.bind(0, '127.0.0.1')
  await once(socket, 'listening')
  const stats = proxyProtocolStats(socket)
  const heap = () => {
    globalThis.gc()
    globalThis.gc()
    return process.memoryUsage()
  }
  const before = heap()
  process.on('message', (m) => {
    if (m === 'stats') process.send({ type: 'stats', datagrams: stats.datagrams })
    if (m === 'end') {
      const after = heap()
      process.send({ type: 'end', before, after, stats: structuredClone(stats) })
      socket.close()
    }
  })
  process.send({ type: 'ready', port: socket.address().port })
} else {
  const total = quickCap(values.datagrams, 5000)
  const flows = quickCap(values.flows, 500)
  const child = fork(
    new URL(import.meta.url),
    ['--child', '--framing', values.framing, '--max-flows', values['max-flows']],
    { execArgv: ['--expose-gc'] },
  )
  const next = (type) =>
    new Promise((resolve) =>
      child.on('message', function on(m) {
        if (m.type === type) {
          child.off('message', on)
          resolve(m)
        }
      }),
    )
  const { port } = await next('ready')
  const sender = dgram.createSocket('udp4')
  sender.bind(0, '127.0.0.1')
  await once(sender, 'listening')
  const payload = Buffer.alloc(32, 0x61)
  // Client i: 10.x.y.z:port, one per flow; headers built once per flow.
  const headers = Array.from({ length: flows }, (_, i) => {
    const client = { address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 1024 + (i % 60000) }
    const proxy = { address: '192.0.2.1', port: 53 }
    return Buffer.from(
      values.framing === 'spp'
        ? encodeSpp(client, proxy)
        : encode({ version: 2, family: 'IPv4', transport: 'DGRAM', source: client, destination: proxy }),
    )
  })
  const WINDOW = 500
  const started = process.hrtime.bigint()
  let sent = 0
  while (sent < total) {
    const batch = Math.min(WINDOW, total - sent)
    for (let k = 0; k < batch; k++, sent++) sender.send([headers[sent % flows], payload], port, '127.0.0.1')
    // Wait until the server has seen everything sent so far, or has seen nothing new for 200 ms (the
    // kernel dropped the rest: counted as lost, the run goes on).
    let last = -1
    let still = 0
    for (;;) {
      child.send('stats')
      const { datagrams } = await next('stats')
      if (datagrams >= sent) break
      if (datagrams === last && ++still >= 40) break
      if (datagrams !== last) still = 0
      last = datagrams
      await new Promise((r) => setTimeout(r, 5))
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  child.send('end')
  const { before, after, stats } = await next('end')
  sender.close()
  // The IPC channel keeps both processes alive (the child's loop waits on it, ours on the child): close it,
  // the child then has nothing left and exits.
  child.disconnect()
  const mb = (n) => (n / 1024 / 1024).toFixed(1)
  console.log(
    `framing ${values.framing}: ${stats.datagrams} of ${total} datagrams received from ${flows} client flows through one peer, in ${seconds.toFixed(1)} s`,
  )
  console.log(`delivered: ${JSON.stringify(stats.accepted)}; dropped: ${JSON.stringify(stats.dropped)}`)
  console.log(
    `flow table: ${stats.flows} now, peak ${stats.flowsPeak}, cap ${values['max-flows']}, ended ${stats.flowsEnded}`,
  )
  console.log(
    `heap used after GC: ${mb(before.heapUsed)} MB before, ${mb(after.heapUsed)} MB after: +${mb(after.heapUsed - before.heapUsed)} MB (rss ${mb(before.rss)} -> ${mb(after.rss)} MB)`,
  )
  const ok =
    stats.flowsPeak <= Number(values['max-flows']) && after.heapUsed - before.heapUsed < 32 * 1024 * 1024
  console.log(ok ? 'OK: flow table within its cap, heap growth under 32 MB' : 'FAIL')
  process.exitCode = ok ? 0 : 1
}
