/**
 * WebSocket connect-rate client (a child process of the runner). On { cmd: 'run', url, total, concurrency,
 * localAddress? } it opens `total` WebSocket connections, at most `concurrency` at a time, each doing
 * open → one message → (the server's answer) → close, and replies with the elapsed time, the count of
 * completed and failed connections, and the addresses the server reported (counted).
 */
import { performance } from 'node:perf_hooks'
import { WebSocket } from 'ws'

function one(url, localAddress) {
  return new Promise((resolve) => {
    let reply
    let failure
    const ws = new WebSocket(url, { perMessageDeflate: false, localAddress, handshakeTimeout: 10000 })
    ws.on('open', () => ws.send('hello'))
    ws.on('message', (data) => {
      reply = String(data)
      ws.close()
    })
    ws.on('error', (err) => {
      failure = err.message
    })
    ws.on('close', () =>
      resolve(reply !== undefined ? { reply } : { failure: failure ?? 'closed without reply' }),
    )
  })
}

async function run({ url, total, concurrency, localAddress }) {
  let started = 0
  let ok = 0
  const failures = {}
  const replies = {}
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (started < total) {
        started++
        const r = await one(url, localAddress)
        if (r.reply !== undefined) {
          ok++
          replies[r.reply] = (replies[r.reply] ?? 0) + 1
        } else failures[r.failure] = (failures[r.failure] ?? 0) + 1
      }
    }),
  )
  const elapsedMs = performance.now() - t0
  return { total, ok, failed: total - ok, failures, replies, elapsedMs, perSecond: (ok * 1000) / elapsedMs }
}

process.on('disconnect', () => process.exit(0))
process.on('message', async (msg) => {
  if (msg.cmd === 'stop') process.exit(0)
  try {
    if (msg.cmd === 'run') process.send({ id: msg.id, ...(await run(msg)) })
    else process.send({ id: msg.id, error: `unknown command ${msg.cmd}` })
  } catch (err) {
    process.send({ id: msg.id, error: String(err?.stack ?? err) })
  }
})
process.send({ type: 'ready', pid: process.pid })
