/**
 * `relay --udp` and `echo --udp` as real processes: a client on 127.0.0.23 talks through the relay to a
 * dgram socket prepared with withProxyProtocol (v2, v2-first, spp), and the replies come back to it.
 */
import { parseSpp, parse } from '@proxyproto/core'
import { getProxyInfo, proxyProtocolStats, withProxyProtocol, type Framing } from '@proxyproto/node'
import type dgram from 'node:dgram'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { bindUdp, closeUdp, collect, nextDatagram, portOf, sendTo } from '../../../test/helpers/udp.js'
import { assertBuilt, run, start, startUdpRelayTo, stopAll } from './helpers.js'

beforeAll(assertBuilt)
const open: dgram.Socket[] = []
afterEach(async () => {
  await stopAll()
  await closeUdp(...open.splice(0))
})

async function backend(framing: Framing): Promise<dgram.Socket> {
  const server = withProxyProtocol(await bindUdp(), { trust: ['loopback'], framing })
  server.on('message', (msg, rinfo) => server.send(`${msg} from ${rinfo.address}`, rinfo.port, rinfo.address))
  open.push(server)
  return server
}

describe('proxyproto relay --udp', () => {
  it.each(['v2', 'v2-first', 'spp'] as const)(
    '--send %s: the target sees 127.0.0.23 on every datagram and the replies reach the client',
    async (framing) => {
      const server = await backend(framing)
      const delivered = collect(server)
      const relay = startUdpRelayTo(portOf(server), '--send', framing)
      const port = await relay.port()
      const client = await bindUdp('127.0.0.23')
      open.push(client)
      for (const word of ['one', 'two', 'three']) {
        const reply = nextDatagram(client)
        await sendTo(client, Buffer.from(word), port)
        const { msg, rinfo } = await reply
        expect(msg.toString()).toBe(`${word} from 127.0.0.23`)
        expect(rinfo.port).toBe(port) // from the relay, header taken off (spp) or never added (v2)
      }
      expect(delivered.map((d) => [d.msg.toString(), d.rinfo.address, d.rinfo.port])).toEqual(
        ['one', 'two', 'three'].map((w) => [w, '127.0.0.23', portOf(client)]),
      )
      const stats = proxyProtocolStats(server)!
      if (framing === 'v2-first') expect(stats.accepted).toEqual({ v2: 1, spp: 0, flow: 2 })
      else
        expect(stats.accepted).toEqual({
          v2: framing === 'v2' ? 3 : 0,
          spp: framing === 'spp' ? 3 : 0,
          flow: 0,
        })
      expect(getProxyInfo(delivered[0]!.rinfo)!.header).toMatchObject({
        transport: 'DGRAM',
        destination: { port },
      })
      expect(stats.replies.routed).toBe(3)
    },
  )

  it('gives each client flow its own upstream port, and writes the header it is asked for, byte for byte', async () => {
    const raw = await bindUdp()
    open.push(raw)
    const got = collect(raw)
    const relay = startUdpRelayTo(portOf(raw), '--send', 'v2', '--tlv', 'authority=game.example')
    const port = await relay.port()
    const a = await bindUdp('127.0.0.23')
    const b = await bindUdp('127.0.0.24')
    open.push(a, b)
    await sendTo(a, Buffer.from('a'), port)
    await sendTo(b, Buffer.from('b'), port)
    await expect.poll(() => got.length).toBe(2)
    const [fromA, fromB] = got.map((d) => {
      const r = parse(d.msg)
      if (r.status !== 'complete') throw new Error('no header')
      return { header: r.header, payload: d.msg.subarray(r.length).toString(), port: d.rinfo.port }
    })
    expect(fromA!.header).toMatchObject({
      version: 2,
      command: 'PROXY',
      family: 'IPv4',
      transport: 'DGRAM',
      source: { address: '127.0.0.23', port: portOf(a) },
      destination: { address: '127.0.0.1', port },
    })
    expect(fromA!.payload).toBe('a')
    expect(fromB!.header.source).toEqual({ address: '127.0.0.24', port: portOf(b) })
    expect(fromA!.port).not.toBe(fromB!.port)
  })

  it('ends an idle flow and logs it on stderr', async () => {
    const server = await backend('v2')
    const relay = startUdpRelayTo(portOf(server), '--idle-timeout', '200', '--json')
    const port = await relay.port()
    const client = await bindUdp('127.0.0.23')
    open.push(client)
    const reply = nextDatagram(client)
    await sendTo(client, Buffer.from('x'), port)
    await reply
    const line = JSON.parse(await relay.line('stderr', /"event":"flow"/))
    expect(line).toMatchObject({
      event: 'flow',
      client: `127.0.0.23:${portOf(client)}`,
      datagramsUp: 1,
      datagramsDown: 1,
      ended: 'idle',
    })
  })

  it('refuses a framing it does not know', async () => {
    const r = await run(['relay', '--udp', '--listen', '0', '--target', '127.0.0.1:1', '--send', 'v1'])
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/--send must be v2, v2-first or spp/)
  })
})

describe('proxyproto echo --udp', () => {
  it('prints what the relay sent (spp) and the client receives the same record back', async () => {
    const echo = start(['echo', '--udp', '--listen', '127.0.0.1:0', '--framing', 'spp'])
    const echoPort = await echo.port()
    const relay = startUdpRelayTo(echoPort, '--send', 'spp')
    const port = await relay.port()
    const client = await bindUdp('127.0.0.23')
    open.push(client)
    const reply = nextDatagram(client)
    await sendTo(client, Buffer.from('hello'), port)
    const record = JSON.parse((await reply).msg.toString())
    expect(record).toMatchObject({
      framing: 'spp',
      version: 'spp',
      source: { address: '127.0.0.23', port: portOf(client), family: 'IPv4' },
      destination: { address: '127.0.0.1', port },
      payload: 'hello',
      client: { address: '127.0.0.23', port: portOf(client) },
      peer: { address: '127.0.0.1' },
    })
    expect(JSON.parse(await echo.line('stdout', /"payload"/))).toEqual(record)
  })

  it('prints a dropped datagram as an error record', async () => {
    const echo = start(['echo', '--udp', '--listen', '127.0.0.1:0'])
    const port = await echo.port()
    const s = await bindUdp()
    open.push(s)
    await sendTo(s, Buffer.from('no header'), port)
    expect(JSON.parse(await echo.line('stdout', /"error"/))).toMatchObject({
      error: 'ERR_PROXY_HEADER_MISSING',
      peer: { address: '127.0.0.1', port: portOf(s) },
    })
  })

  it('answers an SPP reply without an SPP header when the relay strips it (parseSpp on what reaches the client is absent)', async () => {
    const echo = start(['echo', '--udp', '--listen', '127.0.0.1:0', '--framing', 'spp'])
    const relay = startUdpRelayTo(await echo.port(), '--send', 'spp')
    const port = await relay.port()
    const client = await bindUdp('127.0.0.23')
    open.push(client)
    const reply = nextDatagram(client)
    await sendTo(client, Buffer.from('x'), port)
    expect(parseSpp((await reply).msg)).toEqual({ status: 'absent' })
  })
})
