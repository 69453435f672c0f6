#!/usr/bin/env node
// "PROXY protocol for everything": a plain TCP game server with a line protocol, behind a TCP load
// balancer that sends the PROXY protocol. Every socket reports the real player's address, so logs,
// bans and rate limits see players rather than the balancer.
// Protocol, one command per line:   MOVE x y | SAY text | WHO | QUIT
import net from 'node:net'
import { getProxyInfo, withProxyProtocol } from '@proxyproto/node'

// Settings from the environment. TRUST: who may send a PROXY header (your balancers' addresses: IPs,
// CIDRs, loopback, private, comma-separated); any other peer is refused.
const { PORT = '7777', HOST = '127.0.0.1', TRUST = 'loopback,private' } = process.env
const MAX_LINE = 1024

/** @type {Map<net.Socket, { id: string, x: number, y: number }>} */
const players = new Map()
const broadcast = (from, line) => {
  for (const socket of players.keys()) if (socket !== from) socket.write(`${line}\n`)
}

const server = net.createServer((socket) => {
  // The 'connection' listener runs after the header: remoteAddress/remotePort are the player's.
  const id = `${socket.remoteAddress}:${socket.remotePort}`
  const { peer } = getProxyInfo(socket) // the balancer's own address
  const player = { id, x: 0, y: 0 }
  players.set(socket, player)
  console.log(`${id} joined via ${peer.address}:${peer.port}`)
  socket.write(`WELCOME ${id}\n`)
  broadcast(socket, `JOINED ${id}`)

  const handle = (line) => {
    const [command = '', ...args] = line.split(/\s+/)
    console.log(`${id} ${line}`)
    switch (command.toUpperCase()) {
      case 'MOVE': {
        const [x, y] = args.map(Number)
        if (args.length !== 2 || !Number.isInteger(x) || !Number.isInteger(y))
          return socket.write('ERR usage: MOVE x y\n')
        player.x = x
        player.y = y
        socket.write(`MOVED ${id} ${x} ${y}\n`)
        return broadcast(socket, `MOVED ${id} ${x} ${y}`)
      }
      case 'SAY':
        socket.write(`SAID ${id} ${args.join(' ')}\n`)
        return broadcast(socket, `SAID ${id} ${args.join(' ')}`)
      case 'WHO':
        for (const p of players.values())
          socket.write(`PLAYER ${p.id} ${p.x} ${p.y}${p === player ? ' (you)' : ''}\n`)
        return socket.write('END\n')
      case 'QUIT':
        return socket.end(`BYE ${id}\n`)
      default:
        return socket.write(
          `ERR unknown command ${JSON.stringify(command)}: MOVE x y | SAY text | WHO | QUIT\n`,
        )
    }
  }

  let buffered = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk) => {
    buffered += chunk
    for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
      // Control characters would reach the log (terminal escapes): blank them out.
      const line = buffered.slice(0, nl).replace(/[\u0000-\u001f\u007f]/g, ' ').trim()
      buffered = buffered.slice(nl + 1)
      if (line !== '' && !socket.writableEnded) handle(line)
    }
    if (buffered.length > MAX_LINE) socket.end('ERR line too long\n')
  })
  socket.on('error', (err) => console.error(`${id} ${err.code ?? err.message}`))
  socket.on('close', () => {
    players.delete(socket)
    console.log(`${id} left`)
    broadcast(socket, `LEFT ${id}`)
  })
})

// The same in every server example on purpose: each is a whole program, to be read and copied on its own.
// Prepare the server: every connection must start with a PROXY header from a trusted balancer.
withProxyProtocol(server, { trust: TRUST })
// Connections refused by proxyproto (an untrusted peer, no header, a bad header, a timeout, an L4 health check).
server.on('proxyProtocolError', (err, _socket, peer) =>
  console.error(`refused ${peer?.address}: ${err.code}`),
)

server.listen(Number(PORT), HOST, () => {
  const { address, port } = server.address()
  console.log(`listening on ${address.includes(':') ? `[${address}]` : address}:${port}`)
})
