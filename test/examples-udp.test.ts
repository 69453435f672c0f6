/**
 * The UDP examples as processes behind the project's own UDP relay (a local Spectrum):
 *   players on 127.0.0.23 / 127.0.0.24 --> proxyproto relay --udp --send spp|v2|v2-first --> examples/udp-game
 * The game keys each player by the real address the relay reports, and the replies come back to the
 * right player through the relay.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import type dgram from 'node:dgram'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, startUdpRelayTo, stopAll } from '../packages/cli/test/helpers.js'
import { bindUdp, closeUdp, nextDatagram, portOf, sendTo } from './helpers/udp.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const children: ChildProcess[] = []
const sockets: dgram.Socket[] = []
beforeAll(assertBuilt)
afterEach(async () => {
  await stopAll()
  for (const c of children.splice(0)) c.kill('SIGTERM')
  await closeUdp(...sockets.splice(0))
})

async function startGame(framing: string): Promise<{ port: number; output(): string }> {
  const child = spawn(process.execPath, ['examples/udp-game/server.mjs'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', TRUST: 'loopback', FRAMING: framing },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let out = ''
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" line in 20 s:\n${out}`)), 20_000)
    const on = (d: string): void => {
      out += d
      const m = /^listening on 127\.0\.0\.1:(\d+)$/m.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    }
    child.stdout!.setEncoding('utf8').on('data', on)
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.once('exit', (code) => reject(new Error(`exited (${code}):\n${out}`)))
  })
  return { port, output: () => out }
}

async function player(address: string, relayPort: number): Promise<(line: string) => Promise<string>> {
  const socket = await bindUdp(address)
  sockets.push(socket)
  return async (line) => {
    const reply = nextDatagram(socket)
    await sendTo(socket, Buffer.from(line), relayPort)
    return (await reply).msg.toString()
  }
}

describe('examples/udp-game behind proxyproto relay --udp', () => {
  it.each(['spp', 'v2', 'v2-first'])('keeps one state per real player (%s)', async (framing) => {
    const game = await startGame(framing)
    const relay = startUdpRelayTo(game.port, '--send', framing)
    const port = await relay.port()
    const alice = await player('127.0.0.23', port)
    const bob = await player('127.0.0.24', port)
    const a = sockets[0]!
    const b = sockets[1]!
    expect(await alice('JOIN')).toBe(`WELCOME 127.0.0.23:${portOf(a)}`)
    expect(await bob('JOIN')).toBe(`WELCOME 127.0.0.24:${portOf(b)}`)
    expect(await alice('MOVE 3 4')).toBe(`MOVED 127.0.0.23:${portOf(a)} 3 4`)
    expect((await bob('WHO')).split('\n')).toEqual([
      `127.0.0.23:${portOf(a)} 3 4`,
      `127.0.0.24:${portOf(b)} 0 0 (you)`,
    ])
    expect(game.output()).toMatch(new RegExp(`127\\.0\\.0\\.23:${portOf(a)} joined via 127\\.0\\.0\\.1:\\d+`))
  })
})
