/**
 * Starting HAProxy / nginx on ports nobody else holds (not a test file).
 *
 * freePort() returns a port that was free a moment ago; two calls can return the same port, and a
 * test running in parallel can take it meanwhile. HAProxy binds with SO_REUSEPORT by default, so
 * two frontends (or two HAProxy processes) on one port silently share its connections, and a client
 * reaches the wrong frontend. Here: the ports of one config are distinct, HAProxy runs with
 * `noreuseport` (a port clash is a start-up error, not shared traffic), and a start-up that lost a
 * bind race is retried with fresh ports.
 */
import { freePort, haproxyGlobal, type PeerProcess, startHaproxy, startNginx } from './peers.js'

/** `count` distinct ports that were free a moment ago. */
export async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < count) ports.add(await freePort())
  return [...ports]
}

/** haproxyGlobal() (which sets `noreuseport`) plus any extra `global` lines. */
export function haproxyGlobalExclusive(...globalLines: string[]): string {
  return haproxyGlobal().replace(
    /^global\n/,
    `global\n${globalLines.map((l) => `  ${l}\n`).join('')}`,
  )
}

const BIND_FAILURE = /cannot bind|Address already in use|bind\(\) to .* failed|nothing accepted connections/i

async function withFreshPorts<T>(
  count: number,
  start: (ports: number[]) => Promise<T>,
  attempts = 5,
): Promise<{ value: T; ports: number[] }> {
  for (let attempt = 1; ; attempt++) {
    const ports = await distinctFreePorts(count)
    try {
      return { value: await start(ports), ports }
    } catch (err) {
      if (attempt >= attempts || !BIND_FAILURE.test((err as Error).message)) throw err
    }
  }
}

/**
 * Starts HAProxy with the config `build(ports)` returns for `count` distinct free ports; the config
 * should start with haproxyGlobalExclusive(). Retried with new ports when a bind fails.
 */
export async function startHaproxyOnFreePorts(
  count: number,
  build: (ports: number[]) => string,
): Promise<{ haproxy: PeerProcess; ports: number[] }> {
  const { value, ports } = await withFreshPorts(count, (ports) => startHaproxy(build(ports)))
  return { haproxy: value, ports }
}

/** Starts nginx with the stream config `build(ports)` returns for `count` distinct free ports. */
export async function startNginxOnFreePorts(
  count: number,
  build: (ports: number[]) => string,
  context: 'stream' | 'http' = 'stream',
): Promise<{ nginx: PeerProcess; ports: number[] }> {
  const { value, ports } = await withFreshPorts(count, (ports) => startNginx(build(ports), context))
  return { nginx: value, ports }
}
