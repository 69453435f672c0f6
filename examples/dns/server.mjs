#!/usr/bin/env node
// A DNS responder behind a UDP/TCP balancer that sends the PROXY protocol (dnsdist with
// useProxyProtocol=true): it answers every TXT query with the address of the client who asked, over UDP
// (withProxyProtocol on a dgram socket: dnsdist puts a v2 header in front of every datagram) and TCP
// (withProxyProtocol on a net server), on the same port. The answer goes back through the balancer.
import dgram from 'node:dgram'
import net from 'node:net'
import { getProxyInfo, withProxyProtocol } from '@proxyproto/node'
import { answer, parseQuery } from './dns.mjs'

// TRUST: who may send a PROXY header (your balancers). FRAMING: v2 (dnsdist), v2-first or spp.
const { PORT = '5300', HOST = '127.0.0.1', TRUST = 'loopback,private', FRAMING = 'v2' } = process.env
const trust = TRUST.split(',').map((s) => s.trim())

function respond(packet, client, via) {
  let query
  try {
    query = parseQuery(packet)
  } catch {
    return undefined // not a DNS query: no answer
  }
  console.log(
    `${query.name} ${query.type === 16 ? 'TXT' : `type ${query.type}`} from ${client}${via ? ` via ${via}` : ''}`,
  )
  return answer(packet, query, [client])
}

const udp = withProxyProtocol(dgram.createSocket(HOST.includes(':') ? 'udp6' : 'udp4'), {
  trust,
  framing: FRAMING,
})
udp.on('message', (packet, rinfo) => {
  const { peer, header } = getProxyInfo(rinfo)
  const reply = respond(
    packet,
    rinfo.address,
    header?.command === 'PROXY' ? `${peer.address}:${peer.port}` : undefined,
  )
  // rinfo is the client: send() routes the reply to the balancer that brought the query.
  if (reply) udp.send(reply, rinfo.port, rinfo.address)
})
udp.on('proxyProtocolError', (err, rinfo) => console.log(`dropped ${rinfo?.address}: ${err.code}`))

// DNS over TCP (RFC 1035 §4.2.2): each message has a 2-byte length in front.
const tcp = withProxyProtocol(
  net.createServer((socket) => {
    const client = socket.remoteAddress
    const { peer } = getProxyInfo(socket)
    let buffered = Buffer.alloc(0)
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk])
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const packet = buffered.subarray(2, 2 + buffered.readUInt16BE(0))
        buffered = buffered.subarray(2 + packet.length)
        const reply = respond(packet, client, `${peer.address}:${peer.port}`)
        if (!reply) return socket.destroy()
        const length = Buffer.alloc(2)
        length.writeUInt16BE(reply.length)
        socket.write(Buffer.concat([length, reply]))
      }
      if (buffered.length > 65537) socket.destroy()
    })
    socket.on('error', () => {})
  }),
  { trust },
)
tcp.on('proxyProtocolError', (err, _socket, peer) => console.log(`refused ${peer?.address}: ${err.code}`))

udp.bind(Number(PORT), HOST, () => {
  // The same port for TCP: PORT=0 takes the one UDP got.
  tcp.listen(udp.address().port, HOST, () => console.log(`listening on ${HOST}:${udp.address().port}`))
})
const stop = () => {
  udp.close()
  tcp.close()
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
