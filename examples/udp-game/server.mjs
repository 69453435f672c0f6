#!/usr/bin/env node
// A UDP game server behind a UDP balancer (Cloudflare Spectrum, a relay, dnsdist-style senders): every
// player's state is keyed by the real address and port the balancer reports, so two players behind the
// same balancer stay two players, and replies go back through the balancer to the right one.
// Protocol, one command per datagram:   JOIN | MOVE x y | WHO | LEAVE
import dgram from 'node:dgram'
import { getProxyInfo, withProxyProtocol } from '@proxyproto/node'

// TRUST: who may send a header (your balancers). FRAMING: spp (Spectrum's Simple Proxy Protocol),
// v2 (a PROXY v2 header on every datagram) or v2-first (on a flow's first datagram only).
const { PORT = '7778', HOST = '127.0.0.1', TRUST = 'loopback,private', FRAMING = 'spp' } = process.env
const IDLE_MS = 60_000

const socket = withProxyProtocol(dgram.createSocket(HOST.includes(':') ? 'udp6' : 'udp4'), {
  trust: TRUST.split(',').map((s) => s.trim()),
  framing: FRAMING,
  flowTtl: IDLE_MS, // a player idle this long is gone, and so is the route back to them
})

/** @type {Map<string, { id: string, x: number, y: number, seen: number }>} */
const players = new Map()

socket.on('message', (msg, rinfo) => {
  const id = `${rinfo.address}:${rinfo.port}` // the player, not the balancer
  const reply = (text) => socket.send(text, rinfo.port, rinfo.address) // routed through the balancer
  const [command = '', ...args] = msg.toString('utf8').trim().split(/\s+/)
  let player = players.get(id)
  console.log(`${id} ${command.toUpperCase()}${args.length ? ` ${args.join(' ')}` : ''}`)
  switch (command.toUpperCase()) {
    case 'JOIN': {
      player ??= { id, x: 0, y: 0, seen: Date.now() }
      players.set(id, player)
      const { peer } = getProxyInfo(rinfo)
      console.log(`${id} joined via ${peer.address}:${peer.port}`)
      return reply(`WELCOME ${id}`)
    }
    case 'MOVE': {
      if (!player) return reply('ERR send JOIN first')
      const [x, y] = args.map(Number)
      if (args.length !== 2 || !Number.isInteger(x) || !Number.isInteger(y))
        return reply('ERR usage: MOVE x y')
      Object.assign(player, { x, y, seen: Date.now() })
      return reply(`MOVED ${id} ${x} ${y}`)
    }
    case 'WHO':
      return reply(
        [...players.values()]
          .map((p) => `${p.id} ${p.x} ${p.y}${p.id === id ? ' (you)' : ''}`)
          .sort()
          .join('\n') || 'nobody',
      )
    case 'LEAVE':
      players.delete(id)
      return reply(`BYE ${id}`)
    default:
      return reply('ERR commands: JOIN | MOVE x y | WHO | LEAVE')
  }
})
socket.on('proxyProtocolError', (err, rinfo) => console.log(`dropped ${rinfo?.address}: ${err.code}`))

// Forget players that went quiet (their flow expired too: a reply to them would be dropped).
setInterval(() => {
  for (const [id, p] of players) if (Date.now() - p.seen > IDLE_MS) players.delete(id)
}, IDLE_MS).unref()

socket.bind(Number(PORT), HOST, () => console.log(`listening on ${HOST}:${socket.address().port}`))
const stop = () => socket.close()
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
