/**
 * Shared plumbing for the server benchmarks: child processes (each server and each load client runs in
 * its own process), HAProxy in TCP mode, wrk, medians, machine facts and CPU profile summaries.
 *
 * Every process started here is tracked and killed by its pid on exit, on Ctrl-C and on failure
 * (`killAll`); HAProxy and the children are never looked up by name. Children also exit on their own
 * when the IPC channel to the runner closes (see servers/serve.mjs), so a runner killed with SIGKILL
 * leaves nothing behind either.
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import { cpus, loadavg, tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const HERE = dirname(fileURLToPath(import.meta.url))
export const ROOT = resolve(HERE, '..', '..')
/** The file-descriptor limit children are started with: as high as the hard limit allows, at most this. */
export const WANTED_NOFILE = 65536

/** True when the module at `url` is the script node was started with. */
export function isMain(url) {
  return process.argv[1] !== undefined && fileURLToPath(url) === resolve(process.argv[1])
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

export function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Prints to stderr, so the runner's stdout stays the report. */
export const log = (...a) => console.error(...a)

// ---------------------------------------------------------------------------------------------------
// File descriptors

let limits
/** { soft, hard, target }: `ulimit -n` of a bash started from here, and what children get. */
export function fdLimits() {
  if (limits) return limits
  const out = execFileSync('bash', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' }).trim().split('\n')
  const num = (s) => (s === 'unlimited' ? Number.POSITIVE_INFINITY : Number(s))
  const soft = num(out[0])
  const hard = num(out[1])
  limits = { soft, hard, target: Math.min(WANTED_NOFILE, hard) }
  return limits
}

/**
 * `bash -c 'ulimit -n N; exec "$0" "$@"' cmd args...`: same pid as the command, higher soft limit.
 * With `cpus` ('0', '1', '0,1'), the command is pinned to those CPUs with taskset (still the same pid).
 */
function withNofile(cmd, args, cpus) {
  const { target } = fdLimits()
  const pin = cpus !== undefined ? `taskset -c ${cpus} ` : ''
  return [
    'bash',
    ['-c', `ulimit -n ${target} 2>/dev/null || ulimit -n $(ulimit -Hn); exec ${pin}"$0" "$@"`, cmd, ...args],
  ]
}

/**
 * CPU pinning (bench/server.mjs sets BENCH_PIN=1 unless `--no-pin`): the server children on CPU 1, HAProxy,
 * wrk and the client processes on CPU 0, so the server measured never shares its core with the load it
 * serves nor migrates between cores mid-run. Undefined everywhere means "not pinned".
 */
export const PIN = {
  get server() {
    return pinned() ? '1' : undefined
  },
  get load() {
    return pinned() ? '0' : undefined
  },
}
const pinned = () => process.env.BENCH_PIN === '1' && cpus().length >= 2

// ---------------------------------------------------------------------------------------------------
// Process tracking

const live = new Set()

function track(proc, name) {
  const entry = { proc, name }
  live.add(entry)
  proc.once('exit', () => live.delete(entry))
  return proc
}

/** Kills every process started here that is still running (by pid), SIGKILL after `graceMs`. */
export async function killAll(graceMs = 1500) {
  const entries = [...live]
  for (const { proc } of entries) {
    try {
      proc.kill('SIGTERM')
    } catch {}
  }
  const deadline = Date.now() + graceMs
  while (live.size > 0 && Date.now() < deadline) await sleep(50)
  for (const { proc } of live) {
    try {
      proc.kill('SIGKILL')
    } catch {}
  }
  while (live.size > 0 && Date.now() < deadline + 1000) await sleep(50)
}

/** Names and pids of processes started here that are still running. */
export function stillRunning() {
  return [...live].map(({ proc, name }) => `${name} (pid ${proc.pid})`)
}

let hooked = false
/** Kill every child on exit, Ctrl-C, SIGTERM and uncaught errors. */
export function installCleanup() {
  if (hooked) return
  hooked = true
  process.on('exit', () => {
    for (const { proc } of live) {
      try {
        proc.kill('SIGKILL')
      } catch {}
    }
  })
  let stopping = false
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, async () => {
      stopping = true
      log(`\n${sig}: stopping every process this benchmark started`)
      await killAll(500)
      process.exit(130)
    })
  }
  process.on('uncaughtException', async (err) => {
    if (stopping) return // a child killed on the way out
    log(err)
    await killAll(500)
    process.exit(1)
  })
  process.on('unhandledRejection', async (err) => {
    if (stopping) return
    log(err)
    await killAll(500)
    process.exit(1)
  })
}

// ---------------------------------------------------------------------------------------------------
// Node children with an IPC channel

/**
 * Starts `node [nodeArgs] script [args]` in its own process (with the raised fd limit) and waits for its
 * first IPC message ({ type: 'ready', ... }), which it returns as `ready`. `call(cmd, data)` sends
 * { id, cmd, ...data } and resolves with the child's reply carrying the same id.
 */
export async function startNode(
  script,
  args = [],
  { nodeArgs = [], name = script, readyTimeoutMs = 15000, cpus } = {},
) {
  const [cmd, argv] = withNofile(process.execPath, [...nodeArgs, script, ...args], cpus)
  const proc = track(spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }), name)
  const pending = new Map()
  let nextId = 1
  let exited = null
  const ready = new Promise((resolveReady, rejectReady) => {
    const timer = setTimeout(
      () => rejectReady(new Error(`${name}: not ready after ${readyTimeoutMs} ms`)),
      readyTimeoutMs,
    )
    proc.on('message', (m) => {
      if (m?.type === 'ready') {
        clearTimeout(timer)
        resolveReady(m)
        return
      }
      const p = pending.get(m?.id)
      if (!p) return
      pending.delete(m.id)
      if (m.error) p.reject(new Error(`${name}: ${m.error}`))
      else p.resolve(m)
    })
    proc.once('exit', (code, signal) => {
      exited = { code, signal }
      clearTimeout(timer)
      const err = new Error(`${name} exited (code ${code}, signal ${signal})`)
      rejectReady(err)
      for (const p of pending.values()) p.reject(err)
      pending.clear()
    })
  })
  const child = {
    name,
    proc,
    pid: proc.pid,
    ready: await ready,
    call(cmdName, data = {}, timeoutMs = 600000) {
      if (exited) return Promise.reject(new Error(`${name} has exited`))
      const id = nextId++
      return new Promise((res, rej) => {
        const timer = setTimeout(() => {
          pending.delete(id)
          rej(new Error(`${name}: no reply to ${cmdName} within ${timeoutMs} ms`))
        }, timeoutMs)
        pending.set(id, {
          resolve: (m) => {
            clearTimeout(timer)
            res(m)
          },
          reject: (e) => {
            clearTimeout(timer)
            rej(e)
          },
        })
        proc.send({ id, cmd: cmdName, ...data })
      })
    },
    /** Asks the child to exit (so --cpu-prof writes its profile), then kills it if it does not. */
    async stop(graceMs = 5000) {
      if (exited) return exited
      const gone = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })))
      try {
        proc.send({ id: 0, cmd: 'stop' })
      } catch {}
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs)
      const r = await gone
      clearTimeout(t)
      return r
    },
  }
  return child
}

/** Runs a client child to completion: starts it, sends `cmd` once, returns the reply, stops it. */
export async function runClient(script, cmd, data, options = {}) {
  const child = await startNode(script, [], options)
  try {
    return await child.call(cmd, data, options.timeoutMs)
  } finally {
    await child.stop()
  }
}

// ---------------------------------------------------------------------------------------------------
// Ports, source addresses, HAProxy, wrk

let sourceIndex = Math.floor(Date.now() / 1000) % 250
/**
 * A fresh loopback address `${prefix}N` (N cycles through 2..251, starting at a time-based offset so two
 * runs of the benchmark a few seconds apart do not start on the same addresses). Each HAProxy run
 * connects from its own address: the TIME_WAIT of the previous runs holds other addresses' ports.
 */
export function nextSource(prefix = '127.0.1.') {
  sourceIndex = (sourceIndex + 1) % 250
  return `${prefix}${sourceIndex + 2}`
}

/** GET / through `port` from `localAddress`, one connection; resolves with the body. */
export function httpGet(port, localAddress) {
  return new Promise((res, rej) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: '/', localAddress, agent: false, headers: { connection: 'close' } },
      (r) => {
        let body = ''
        r.setEncoding('utf8')
        r.on('data', (d) => (body += d))
        r.on('end', () => res(body))
        r.on('error', rej)
      },
    )
    req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')))
    req.on('error', rej)
  })
}

/** A port free right now on 127.0.0.1 (the kernel's choice). */
export function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer()
    s.once('error', rej)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => res(port))
    })
  })
}

function canConnect(port, host = '127.0.0.1') {
  return new Promise((res) => {
    const s = net.connect({ port, host })
    s.once('connect', () => {
      s.destroy()
      res(true)
    })
    s.once('error', () => res(false))
  })
}

export function haproxyVersion() {
  try {
    return execFileSync('haproxy', ['-v'], { encoding: 'utf8' }).split('\n')[0].trim()
  } catch {
    return undefined
  }
}

export function wrkVersion() {
  try {
    // wrk -v prints its version and exits with status 1.
    return execFileSync('bash', ['-c', 'wrk -v 2>&1 || true'], { encoding: 'utf8' }).split('\n')[0].trim()
  } catch {
    return undefined
  }
}

/** HAProxy's maxconn: ample for these loads, and within `ulimit -n` (it needs about two fds a connection). */
export function haproxyMaxconn() {
  const { target } = fdLimits()
  return Math.max(100, Math.min(4000, Math.floor((target - 200) / 2)))
}

/**
 * One HAProxy 2.6 in TCP mode, one thread: frontend 127.0.0.1:<free port> → `server` (host:port),
 * connecting from `source` (a loopback address: each run gets its own, so TIME_WAIT from the previous run
 * cannot exhaust its source ports) and sending `send` ('v1' → send-proxy, 'v2' → send-proxy-v2, 'none').
 * Returns { port, stop(), config }.
 */
export async function startHaproxy({ serverPort, source, send, cpus }) {
  const port = await freePort()
  const option = send === 'v1' ? ' send-proxy' : send === 'v2' ? ' send-proxy-v2' : ''
  const config = [
    'global',
    `  maxconn ${haproxyMaxconn()}`,
    '  nbthread 1',
    '',
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    '',
    'frontend fe',
    `  bind 127.0.0.1:${port}`,
    '  default_backend be',
    '',
    'backend be',
    `  server s1 127.0.0.1:${serverPort} source ${source}${option}`,
    '',
  ].join('\n')
  const dir = await mkdtemp(join(tmpdir(), 'proxyproto-bench-haproxy-'))
  const file = join(dir, 'haproxy.cfg')
  await writeFile(file, config)
  const [cmd, argv] = withNofile('haproxy', ['-db', '-f', file], cpus)
  let output = ''
  const proc = track(spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] }), 'haproxy')
  proc.stdout.on('data', (d) => (output += d))
  proc.stderr.on('data', (d) => (output += d))
  let exited = false
  const gone = new Promise((r) =>
    proc.once('exit', () => {
      exited = true
      r()
    }),
  )
  const deadline = Date.now() + 10000
  while (!(await canConnect(port))) {
    if (exited || Date.now() > deadline) {
      proc.kill('SIGKILL')
      await rm(dir, { recursive: true, force: true })
      throw new Error(`haproxy did not start:\n${output}\n--- config ---\n${config}`)
    }
    await sleep(20)
  }
  return {
    port,
    config,
    pid: proc.pid,
    async stop() {
      if (!exited) {
        proc.kill('SIGTERM')
        const t = setTimeout(() => proc.kill('SIGKILL'), 2000)
        await gone
        clearTimeout(t)
      }
      await rm(dir, { recursive: true, force: true })
    },
  }
}

const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60000 }
const toMs = (v, unit) => Number(v) * UNIT_MS[unit]

/** Parses wrk 4.x output (with --latency). */
export function parseWrk(text) {
  const num = (re) => {
    const m = text.match(re)
    return m ? Number(m[1]) : undefined
  }
  const lat = {}
  for (const m of text.matchAll(/^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$/gm))
    lat[`p${m[1]}`] = toMs(m[2], m[3])
  const se = text.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/)
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/(\d+) requests in/),
    p50: lat.p50,
    p99: lat.p99,
    socketErrors: se ? { connect: +se[1], read: +se[2], write: +se[3], timeout: +se[4] } : undefined,
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/) ?? 0,
  }
}

/** Runs wrk (tracked like every child) and returns its parsed output plus the exact command. */
export function runWrk(args, { cpus } = {}) {
  return new Promise((res, rej) => {
    const [cmd, argv] = cpus !== undefined ? ['taskset', ['-c', cpus, 'wrk', ...args]] : ['wrk', args]
    const proc = track(spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] }), 'wrk')
    let out = ''
    let err = ''
    proc.stdout.on('data', (d) => (out += d))
    proc.stderr.on('data', (d) => (err += d))
    proc.once('error', rej)
    proc.once('exit', (code) => {
      if (code !== 0) return rej(new Error(`wrk exited ${code}: ${err || out}`))
      const r = parseWrk(out)
      if (r.rps === undefined) return rej(new Error(`cannot parse wrk output:\n${out}`))
      res({ ...r, command: `wrk ${args.map((a) => (/[\s']/.test(a) ? `'${a}'` : a)).join(' ')}` })
    })
  })
}

// ---------------------------------------------------------------------------------------------------
// Machine facts and CPU profiles

export function machine() {
  const c = cpus()
  return {
    cpu: c[0]?.model?.trim() ?? 'unknown',
    cores: c.length,
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform}-${process.arch}`,
    haproxy: haproxyVersion(),
    wrk: wrkVersion(),
    loadavg: loadavg().map((x) => x.toFixed(2)),
    nofile: fdLimits(),
  }
}

/**
 * Summarises the .cpuprofile files in `dir` (one per child): self time by function, top `n`; the self
 * time in proxyproto's own code (packages/node and packages/core dist files); and its inclusive time:
 * samples whose stack, read from the leaf up, reaches one of our frames before the server's own
 * connection listener (so Node work we cause, such as socket.read() and unshift(), counts; the http
 * server's handling of the connection after the hand-off does not, nor do the events our server.emit
 * wrapper merely passes through).
 */
export async function summariseProfiles(dir, n = 20) {
  if (!existsSync(dir)) return []
  const out = []
  const OURS = /packages\/(node|core)\/dist\//
  const HANDOFF = /^connectionListener(Internal)?$/
  for (const f of (await readdir(dir)).filter((x) => x.endsWith('.cpuprofile')).sort()) {
    const p = JSON.parse(await readFile(join(dir, f), 'utf8'))
    const byId = new Map(p.nodes.map((nd) => [nd.id, nd]))
    const parent = new Map()
    for (const nd of p.nodes) for (const c of nd.children ?? []) parent.set(c, nd.id)
    // Our server.emit wrapper passes every other event ('request', 'listening', ...) through: what runs
    // under it is the server's work, not ours (its own self time is ours).
    const isWrapper = (cf) => (cf.functionName === 'emit' || cf.functionName === 'emit_') && OURS.test(cf.url)
    const oursInclusive = new Map()
    const isOursInclusive = (id, leaf = true) => {
      const key = leaf ? id : -id
      if (oursInclusive.has(key)) return oursInclusive.get(key)
      const cf = byId.get(id).callFrame
      let r
      if (isWrapper(cf)) r = leaf
      else if (OURS.test(cf.url)) r = true
      else if (HANDOFF.test(cf.functionName) && cf.url.includes('_http_server')) r = false
      else r = parent.has(id) ? isOursInclusive(parent.get(id), false) : false
      oursInclusive.set(key, r)
      return r
    }
    const self = new Map()
    const breakdown = new Map()
    const dt = p.timeDeltas ?? []
    let total = 0
    let inclusive = 0
    for (let i = 0; i < p.samples.length; i++) {
      const nd = byId.get(p.samples[i])
      const t = dt[i + 1] ?? dt[i] ?? 0
      total += t
      if (isOursInclusive(nd.id)) {
        inclusive += t
        // Which of our functions, calling what: the nearest our frame and the first frame below it.
        let below
        let cur = nd.id
        while (!OURS.test(byId.get(cur).callFrame.url)) {
          below = cur
          cur = parent.get(cur)
        }
        const fn = (id) => byId.get(id).callFrame.functionName || '(anonymous)'
        const key = below === undefined ? `${fn(cur)} (own code)` : `${fn(cur)} → ${fn(below)}`
        breakdown.set(key, (breakdown.get(key) ?? 0) + t)
      }
      const cf = nd.callFrame
      const url = cf.url ? relative(ROOT, cf.url.replace(/^file:\/\//, '')) : ''
      const key = `${cf.functionName || '(anonymous)'} ${url ? `${url}:${cf.lineNumber + 1}` : ''}`.trim()
      self.set(key, (self.get(key) ?? 0) + t)
    }
    const rows = [...self.entries()].sort((a, b) => b[1] - a[1])
    const busy = rows.filter(([k]) => k !== '(idle)').reduce((s, [, t]) => s + t, 0)
    const ours = rows.filter(([k]) => OURS.test(k)).reduce((s, [, t]) => s + t, 0)
    out.push({
      file: f,
      totalMs: total / 1000,
      busyMs: busy / 1000,
      oursMs: ours / 1000,
      oursInclusiveMs: inclusive / 1000,
      top: rows
        .filter(([k]) => k !== '(idle)')
        .slice(0, n)
        .map(([k, t]) => ({ fn: k, ms: t / 1000, pctBusy: (100 * t) / busy })),
      oursBreakdown: [...breakdown.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([k, t]) => ({ fn: k, ms: t / 1000, pctBusy: (100 * t) / busy })),
      topOurs: rows
        .filter(([k]) => OURS.test(k))
        .slice(0, n)
        .map(([k, t]) => ({ fn: k, ms: t / 1000, pctBusy: (100 * t) / busy })),
    })
  }
  return out
}
