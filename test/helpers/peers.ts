/**
 * Shared helpers for tests against real peers (HAProxy, nginx, curl). Not a test file itself.
 *
 * Every process started here is tracked: `stop()` ends it, `stopAllPeers()` ends whatever is left
 * (describePeer registers it as an afterAll), a process 'exit' hook SIGKILLs stragglers, and where
 * util-linux `setpriv` exists the peer also gets SIGKILL from the kernel if the test worker dies.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { accessSync, existsSync, constants as fsConstants } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { afterAll, describe, it } from 'vitest'

export type PeerBinary = 'haproxy' | 'nginx' | 'curl' | 'stunnel4'

export interface PeerProcess {
  /** Ends the process (SIGTERM, SIGKILL after 5 s) and removes `dir`. Idempotent. */
  stop(): Promise<void>
  /** Temp dir holding the config and the peer's logs; removed by stop(). */
  dir: string
  pid: number
  /** stdout + stderr captured so far (capped at 64 KiB). */
  output(): string
}

const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin']

/** Absolute path of an executable found on PATH, /usr/sbin or /usr/local/sbin; undefined when absent. */
export function findBinary(name: PeerBinary | (string & {})): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS]
  for (const dir of dirs) {
    const file = join(dir, name)
    try {
      accessSync(file, fsConstants.X_OK)
      return file
    } catch {
      // not here
    }
  }
  return undefined
}

export function isCI(): boolean {
  return process.env.CI === 'true' || process.env.CI === '1'
}

/**
 * `describe(name, fn)` when every binary exists. Otherwise, under CI (CI=true or 1), a failing test
 * naming the missing binary; elsewhere a `SKIP <name>: <bin> not found` line and a skipped suite.
 * Registers `afterAll(stopAllPeers)` inside the suite so no peer outlives it.
 */
export function describePeer(name: string, binaries: readonly string[], fn: () => void): void {
  const missing = binaries.filter((b) => findBinary(b) === undefined)
  if (missing.length === 0) {
    describe(name, () => {
      afterAll(stopAllPeers)
      fn()
    })
    return
  }
  const list = missing.join(', ')
  if (isCI()) {
    describe(name, () => {
      it(`requires ${list}`, () => {
        throw new Error(
          `${list} ${missing.length > 1 ? 'are' : 'is'} required under CI (not found on PATH, /usr/sbin or /usr/local/sbin)`,
        )
      })
    })
    return
  }
  console.log(`SKIP ${name}: ${list} not found`)
  describe.skip(name, fn)
}

/** A port that was free a moment ago on 127.0.0.1. */
// Ports handed out by this process: two calls never return the same one (the kernel may reuse a port
// as soon as the probe closes it).
const handedOut = new Set<number>()

export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer()
      server.unref()
      server.once('error', reject)
      server.listen({ port: 0, host, exclusive: true }, () => {
        const { port } = server.address() as net.AddressInfo
        server.close(() => resolve(port))
      })
    })
    if (!handedOut.has(port)) {
      handedOut.add(port)
      return port
    }
  }
}

export interface WaitForPortOptions {
  timeoutMs?: number
  /** Polled between attempts; waiting stops with an error as soon as it returns a string. */
  abort?: () => string | undefined
}

function tryConnect(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host })
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/** Resolves once `host:port` accepts a TCP connection; rejects after `timeoutMs` (default 10 s). */
export async function waitForPort(
  port: number,
  host = '127.0.0.1',
  options: WaitForPortOptions = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000)
  for (;;) {
    const aborted = options.abort?.()
    if (aborted !== undefined) throw new Error(aborted)
    if (await tryConnect(port, host)) return
    if (Date.now() > deadline)
      throw new Error(
        `nothing accepted connections on ${host}:${port} within ${options.timeoutMs ?? 10_000} ms`,
      )
    await new Promise((r) => setTimeout(r, 25))
  }
}

export interface CurlResult {
  stdout: string
  stderr: string
  /** Exit code; null when curl was killed (timeout). */
  code: number | null
}

/** Runs curl with `args` (no shell). Killed after `timeoutMs` (default 20 s). */
export function runCurl(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<CurlResult> {
  const bin = findBinary('curl')
  if (!bin) return Promise.reject(new Error('curl not found'))
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    live.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000)
    child.once('error', (err) => {
      clearTimeout(timer)
      live.delete(child)
      reject(err)
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      live.delete(child)
      resolve({ stdout, stderr, code })
    })
  })
}

// ---------------------------------------------------------------------------------------------
// Long-running peers

const live = new Set<ChildProcess>()
const handles = new Set<PeerProcess>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL')
  })
}

/** Stops every peer started by this module that is still running. */
export async function stopAllPeers(): Promise<void> {
  await Promise.all([...handles].map((h) => h.stop()))
}

const SETPRIV = existsSync('/usr/bin/setpriv') ? '/usr/bin/setpriv' : undefined
const OUTPUT_CAP = 64 * 1024

export interface StartOptions {
  name: string
  bin: string
  args: string[]
  dir: string
  ports: Array<{ host: string; port: number }>
  /** Extra text for error messages (e.g. an error.log inside dir). */
  diagnostics?: () => Promise<string>
}

function portIsFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.unref()
    server.once('error', () => resolve(false))
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)))
  })
}

export async function startProcess(o: StartOptions): Promise<PeerProcess> {
  // A port someone else already listens on would answer the readiness probe for a peer that failed to bind.
  for (const { host, port } of o.ports) {
    if (!(await portIsFree(port, host))) {
      await rm(o.dir, { recursive: true, force: true })
      throw new Error(`${o.name}: ${host}:${port} is already in use`)
    }
  }
  installExitHook()
  const [cmd, args] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', o.bin, ...o.args]] : [o.bin, o.args]
  const child = spawn(cmd, args, { cwd: o.dir, stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(child)
  let out = ''
  const collect = (d: Buffer): void => {
    if (out.length < OUTPUT_CAP) out += d.toString('utf8')
  }
  child.stdout!.on('data', collect)
  child.stderr!.on('data', collect)
  let exitInfo: string | undefined
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = signal ? `killed by ${signal}` : `exited with code ${code}`
      live.delete(child)
      resolve()
    })
    child.once('error', (err) => {
      exitInfo = `failed to start: ${err.message}`
      live.delete(child)
      resolve()
    })
  })

  let stopping: Promise<void> | undefined
  const handle: PeerProcess = {
    dir: o.dir,
    pid: child.pid ?? -1,
    output: () => out,
    stop() {
      stopping ??= (async () => {
        if (exitInfo === undefined) {
          child.kill('SIGTERM')
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
          await exited
          clearTimeout(timer)
        }
        handles.delete(handle)
        await rm(o.dir, { recursive: true, force: true })
      })()
      return stopping
    },
  }
  handles.add(handle)

  try {
    for (const { host, port } of o.ports) {
      await waitForPort(port, host, {
        abort: () => (exitInfo === undefined ? undefined : `${o.name} ${exitInfo}`),
      })
    }
    // A peer that lost a bind race exits right after binding; make sure it is still there.
    await Promise.race([exited, new Promise((r) => setTimeout(r, o.ports.length === 0 ? 200 : 100))])
    if (exitInfo !== undefined) throw new Error(`${o.name} ${exitInfo}`)
  } catch (err) {
    // Give the pipes a moment to deliver the last words of a process that has just died.
    await Promise.race([exited, new Promise((r) => setTimeout(r, 200))])
    const extra = o.diagnostics ? await o.diagnostics().catch(() => '') : ''
    await handle.stop()
    const details = [out.trim(), extra.trim()].filter(Boolean).join('\n')
    throw new Error(`${(err as Error).message}${details ? `\n${details}` : ''}`)
  }
  return handle
}

function normaliseHost(host: string | undefined): string {
  if (!host || host === '*' || host === '0.0.0.0' || host === '::' || host === '[::]') return '127.0.0.1'
  return host.replace(/^(?:ipv4|ipv6|tcp|tcp4|tcp6)@/, '').replace(/^\[(.*)\]$/, '$1') || '127.0.0.1'
}

/** `bind HOST:PORT` lines of an HAProxy config (a bare `:PORT` or `*:PORT` is probed on 127.0.0.1). */
export function haproxyBindPorts(config: string): Array<{ host: string; port: number }> {
  const ports: Array<{ host: string; port: number }> = []
  for (const m of config.matchAll(/^\s*bind\s+(\S*):(\d+)(?:\s|$)/gm)) {
    ports.push({ host: normaliseHost(m[1]), port: Number(m[2]) })
  }
  return ports
}

/** `listen [HOST:]PORT` lines of an nginx config. */
export function nginxListenPorts(config: string): Array<{ host: string; port: number }> {
  const ports: Array<{ host: string; port: number }> = []
  for (const m of config.matchAll(/^\s*listen\s+(?:(\S+):)?(\d+)(?=[\s;])/gm)) {
    ports.push({ host: normaliseHost(m[1]), port: Number(m[2]) })
  }
  return ports
}

/** The minimal `global` + `defaults` preamble every HAProxy test config starts with. */
export function haproxyGlobal(): string {
  // maxconn bounds the file descriptors HAProxy asks for: it refuses to start above `ulimit -n`.
  return [
    'global',
    '  maxconn 1000',
    // Without SO_REUSEPORT a port clash (a test in another worker took it) fails at start-up instead
    // of two frontends silently sharing the port's connections.
    '  noreuseport',
    '',
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    '',
  ].join('\n')
}

/**
 * Writes `config` (include haproxyGlobal() yourself) to a fresh temp dir, runs `haproxy -db -f`,
 * and resolves once every `bind` port accepts connections; rejects with HAProxy's output if it exits.
 */
export async function startHaproxy(config: string): Promise<PeerProcess> {
  const bin = findBinary('haproxy')
  if (!bin) throw new Error('haproxy not found')
  const dir = await mkdtemp(join(tmpdir(), 'proxyproto-haproxy-'))
  const file = join(dir, 'haproxy.cfg')
  await writeFile(file, config.endsWith('\n') ? config : `${config}\n`)
  return startProcess({
    name: 'haproxy',
    bin,
    args: ['-db', '-f', file],
    dir,
    ports: haproxyBindPorts(config),
  })
}

export const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so'

/** Path of nginx's dynamic stream module, when installed (libnginx-mod-stream). */
export function nginxStreamModule(): string | undefined {
  return existsSync(NGINX_STREAM_MODULE) ? NGINX_STREAM_MODULE : undefined
}

/**
 * Runs nginx in the foreground, single process, with `stream { streamConfig }` and every path
 * (prefix, error log, pid) inside a fresh temp dir. Resolves once every `listen` port accepts.
 */
export async function startNginx(streamConfig: string): Promise<PeerProcess> {
  const bin = findBinary('nginx')
  if (!bin) throw new Error('nginx not found')
  const mod = nginxStreamModule()
  if (!mod)
    throw new Error(
      `nginx stream module not found at ${NGINX_STREAM_MODULE} (apt-get install libnginx-mod-stream)`,
    )
  const dir = await mkdtemp(join(tmpdir(), 'proxyproto-nginx-'))
  const file = join(dir, 'nginx.conf')
  const errorLog = join(dir, 'error.log')
  const conf = [
    `load_module ${mod};`,
    'daemon off;',
    'master_process off;',
    'worker_processes 1;',
    `error_log ${errorLog} info;`,
    `pid ${join(dir, 'nginx.pid')};`,
    'events {}',
    'stream {',
    streamConfig,
    '}',
    '',
  ].join('\n')
  await writeFile(file, conf)
  return startProcess({
    name: 'nginx',
    bin,
    // -e: the log used before the config is read must not be /var/log/nginx.
    args: ['-p', `${dir}/`, '-e', errorLog, '-c', file],
    dir,
    ports: nginxListenPorts(streamConfig),
    diagnostics: () => readFile(errorLog, 'utf8'),
  })
}

export interface StunnelService {
  /** Port stunnel accepts TLS on (127.0.0.1). */
  accept: number
  /** Port on 127.0.0.1 it connects to with plaintext. */
  connect: number
  /** Extra service lines, e.g. `protocol = proxy` (a v1 PROXY header in front of the plaintext). */
  lines?: string[]
}

/**
 * Runs stunnel4 in server mode, unprivileged (foreground, no pid file, everything in a fresh temp dir),
 * terminating TLS with `cert`/`key` (PEM) for each service. Resolves once every accept port accepts.
 */
export async function startStunnel(
  services: readonly StunnelService[],
  tls: { cert: Buffer | string; key: Buffer | string },
): Promise<PeerProcess> {
  const bin = findBinary('stunnel4') ?? findBinary('stunnel')
  if (!bin) throw new Error('stunnel4 not found')
  const dir = await mkdtemp(join(tmpdir(), 'proxyproto-stunnel-'))
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  await writeFile(cert, tls.cert)
  await writeFile(key, tls.key)
  const conf = [
    'foreground = yes',
    'pid =', // no pid file: runs unprivileged in a temp dir
    'debug = notice',
    ...services.flatMap((s, i) => [
      `[service${i}]`,
      `accept = 127.0.0.1:${s.accept}`,
      `connect = 127.0.0.1:${s.connect}`,
      `cert = ${cert}`,
      `key = ${key}`,
      ...(s.lines ?? []),
    ]),
    '',
  ].join('\n')
  const file = join(dir, 'stunnel.conf')
  await writeFile(file, conf)
  return startProcess({
    name: 'stunnel',
    bin,
    args: [file],
    dir,
    ports: services.map((s) => ({ host: '127.0.0.1', port: s.accept })),
  })
}
