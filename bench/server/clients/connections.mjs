/**
 * Raw TCP connection client for the memory benchmark (a child process of the runner). Commands:
 * - hold { port, count, concurrency, payload, sources }: opens `count` connections (at most `concurrency`
 *   connecting at a time), each from the next address of `sources` in turn, writes `payload` (hex, may
 *   be empty) and keeps them open; replies { opened, failed, failures }.
 * - release: destroys every held connection and replies once all are closed.
 * - churn { port, total, concurrency, payload, sources }: `total` connections that each write `payload`,
 *   end, and wait for the server to close; replies { ok, failed, failures, elapsedMs }.
 * Spreading connections over several source addresses keeps each address well inside the ephemeral
 * port range even with the TIME_WAIT left by earlier runs.
 */
import net from 'node:net'
import { performance } from 'node:perf_hooks'

const held = []

function connect(port, localAddress) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress })
    s.once('connect', () => resolve({ socket: s }))
    s.once('error', (err) => resolve({ failure: err.code ?? err.message }))
  })
}

async function pool(total, concurrency, task) {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next < total) await task(next++)
    }),
  )
}

async function hold({ port, count, concurrency, payload, sources }) {
  const bytes = Buffer.from(payload, 'hex')
  const failures = {}
  let opened = 0
  await pool(count, concurrency, async (i) => {
    const r = await connect(port, sources[i % sources.length])
    if (r.failure) {
      failures[r.failure] = (failures[r.failure] ?? 0) + 1
      return
    }
    r.socket.on('error', () => {})
    r.socket.on('data', () => {})
    if (bytes.length > 0) r.socket.write(bytes)
    held.push(r.socket)
    opened++
  })
  // Let the last writes reach the server before the runner measures.
  await new Promise((r) => setTimeout(r, 200))
  const closedEarly = held.filter((s) => s.destroyed || s.readyState !== 'open').length
  return { opened, failed: count - opened, failures, closedEarly }
}

async function release() {
  const all = held.splice(0)
  await Promise.all(
    all.map(
      (s) =>
        new Promise((r) => {
          if (s.destroyed) return r()
          s.once('close', r)
          s.destroy()
        }),
    ),
  )
  return { closed: all.length }
}

async function churn({ port, total, concurrency, payload, sources }) {
  const bytes = Buffer.from(payload, 'hex')
  const failures = {}
  let ok = 0
  const t0 = performance.now()
  await pool(total, concurrency, async (i) => {
    const r = await connect(port, sources[i % sources.length])
    if (r.failure) {
      failures[r.failure] = (failures[r.failure] ?? 0) + 1
      return
    }
    await new Promise((resolve) => {
      const s = r.socket
      let failure
      s.on('error', (err) => {
        failure = err.code ?? err.message
      })
      s.on('data', () => {})
      s.once('close', () => {
        if (failure) failures[failure] = (failures[failure] ?? 0) + 1
        else ok++
        resolve()
      })
      s.end(bytes)
    })
  })
  return { ok, failed: total - ok, failures, elapsedMs: performance.now() - t0 }
}

const commands = { hold, release, churn }
process.on('disconnect', () => process.exit(0))
process.on('message', async (msg) => {
  if (msg.cmd === 'stop') process.exit(0)
  try {
    const fn = commands[msg.cmd]
    if (!fn) throw new Error(`unknown command ${msg.cmd}`)
    process.send({ id: msg.id, ...(await fn(msg)) })
  } catch (err) {
    process.send({ id: msg.id, error: String(err?.stack ?? err) })
  }
})
process.send({ type: 'ready', pid: process.pid })
