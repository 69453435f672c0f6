import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { getProxyInfo, type ProxyInfo, withProxyProtocol } from '@proxyproto/node'
import { closeServer, listen } from '../../../test/helpers/sockets.js'

/** The built command: tests run it as a real process (`npx turbo run build --filter=@proxyproto/cli` first). */
export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url))

export function assertBuilt(): void {
  if (!existsSync(BIN))
    throw new Error(`${BIN} is missing: run "npx turbo run build --filter=@proxyproto/cli" first`)
}

export interface Result {
  status: number | null
  signal: NodeJS.Signals | null
  stdout: Buffer
  stderr: string
}

/** Runs `node dist/bin.js ...args` to completion, with `input` on stdin (stdin is closed either way). */
export async function run(args: string[], input?: Buffer | string): Promise<Result> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout.on('data', (c: Buffer) => out.push(c))
  child.stderr.on('data', (c: Buffer) => err.push(c))
  child.stdin.on('error', () => {})
  child.stdin.end(input)
  const [status, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null]
  return { status, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }
}

/** A long-running subcommand (relay, echo), its output split in lines as it arrives. */
export class Cli {
  readonly child: ChildProcessWithoutNullStreams
  readonly stdout: string[] = []
  readonly stderr: string[] = []
  readonly exited: Promise<{ status: number | null; signal: NodeJS.Signals | null }>
  private waiters: Array<() => void> = []

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    this.exited = once(this.child, 'close').then(([status, signal]) => ({ status, signal }) as never)
    this.exited.then(() => this.wake())
    const split = (stream: NodeJS.ReadableStream, into: string[]): void => {
      let rest = ''
      stream.setEncoding('utf8')
      stream.on('data', (chunk: string) => {
        const parts = (rest + chunk).split('\n')
        rest = parts.pop()!
        into.push(...parts)
        this.wake()
      })
    }
    split(this.child.stdout, this.stdout)
    split(this.child.stderr, this.stderr)
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }

  /** Resolves with the first line (of stdout or stderr) matching, or rejects after `ms`. */
  async line(
    stream: 'stdout' | 'stderr',
    match: RegExp | ((line: string) => boolean),
    ms = 5000,
  ): Promise<string> {
    const test = typeof match === 'function' ? match : (l: string) => match.test(l)
    const deadline = Date.now() + ms
    for (;;) {
      const found = this[stream].find(test)
      if (found !== undefined) return found
      if (this.child.exitCode !== null || this.child.signalCode !== null || Date.now() > deadline) {
        throw new Error(
          `no ${stream} line matching ${match} (stdout: ${JSON.stringify(this.stdout)}, stderr: ${JSON.stringify(this.stderr)})`,
        )
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()))
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  /** Waits for "listening on HOST:PORT" and returns the port. */
  async port(): Promise<number> {
    const line = await this.line('stdout', /^listening on /)
    return Number(/:(\d+)$/.exec(line)![1])
  }

  /** Sends `signal` and resolves with the exit status. */
  async stop(
    signal: NodeJS.Signals = 'SIGTERM',
  ): Promise<{ status: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal)
    return this.exited
  }
}

const running: Cli[] = []
const closers: Array<() => Promise<void>> = []
/** Starts a subcommand; stopAll() ends every one still running (call it in afterEach). */
export function start(args: string[]): Cli {
  const cli = new Cli(args)
  running.push(cli)
  return cli
}
/** `close` runs at the next stopAll(): for servers a test starts in this process. */
export function closeAfterTest(close: () => Promise<void>): void {
  closers.push(close)
}
/** Ends every subcommand still running and closes what closeAfterTest() and startBackend() registered. */
export async function stopAll(): Promise<void> {
  await Promise.all(running.splice(0).map((c) => c.stop('SIGKILL')))
  await Promise.all(closers.splice(0).map((close) => close()))
}

/** `proxyproto relay` listening on 127.0.0.1 (any free port), relaying to 127.0.0.1:`targetPort`. */
export function startRelayTo(targetPort: number, ...flags: string[]): Cli {
  return start(['relay', '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${targetPort}`, ...flags])
}

/** The same with --udp: `proxyproto relay --udp` to 127.0.0.1:`targetPort`. */
export function startUdpRelayTo(targetPort: number, ...flags: string[]): Cli {
  return startRelayTo(targetPort, '--udp', ...flags)
}

export interface Seen {
  info: ProxyInfo
  remoteAddress: string | undefined
  data: string
}

/**
 * A backend prepared with withProxyProtocol: it answers each connection with
 * "hello <remoteAddress>\n", then echoes what it receives, upper-cased, and ends when the client ends.
 * The next stopAll() closes it.
 */
export async function startBackend(): Promise<{
  server: net.Server
  port: number
  seen: Seen[]
  close(): Promise<void>
}> {
  const seen: Seen[] = []
  const sockets = new Set<net.Socket>()
  const server = withProxyProtocol(
    net.createServer((socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      const record: Seen = { info: getProxyInfo(socket)!, remoteAddress: socket.remoteAddress, data: '' }
      seen.push(record)
      socket.write(`hello ${socket.remoteAddress}\n`)
      socket.setEncoding('utf8')
      socket.on('data', (d: string) => {
        record.data += d
        socket.write(d.toUpperCase())
      })
      socket.on('end', () => socket.end())
      socket.on('error', () => {})
    }),
  )
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy()
    await closeServer(server)
  }
  closeAfterTest(close)
  return { server, port: await listen(server), seen, close }
}

export { exchange } from '../../../test/helpers/sockets.js'

/** No stack trace: user errors print one line (or two, with a hint). */
export function noStack(stderr: string): boolean {
  return !/\n\s+at /.test(stderr)
}
