#!/usr/bin/env node
// A WebSocket server (ws) behind a TCP load balancer that sends the PROXY protocol (HAProxy send-proxy-v2,
// nginx stream proxy_protocol on, AWS Classic ELB / NLB in TCP mode): the upgrade request's
// req.socket.remoteAddress is the client. It greets each client and echoes its messages with its address.
import { getProxyInfo, WebSocketServer } from '@proxyproto/ws'

// Settings from the environment. TRUST: who may send a PROXY header (your balancers' addresses: IPs,
// CIDRs, loopback, private, comma-separated); any other peer is refused.
const { PORT = '8082', HOST = '127.0.0.1', TRUST = 'loopback,private' } = process.env

const wss = new WebSocketServer({ port: Number(PORT), host: HOST, proxyProtocol: { trust: TRUST } }, () => {
  const { address, port } = wss.address()
  console.log(`listening on ${address.includes(':') ? `[${address}]` : address}:${port}`)
})

wss.on('connection', (ws, req) => {
  const ip = req.socket.remoteAddress // the client, not the balancer
  const port = req.socket.remotePort
  const { peer } = getProxyInfo(req) // the balancer's own address
  console.log(`connected ${ip}:${port} via ${peer.address}:${peer.port}`)
  ws.send(JSON.stringify({ type: 'hello', ip, port }))
  ws.on('message', (data) => {
    const message = String(data)
    console.log(`${ip}:${port} says ${JSON.stringify(message)}`)
    ws.send(JSON.stringify({ type: 'echo', ip, port, message }))
  })
  ws.on('close', () => console.log(`disconnected ${ip}:${port}`))
})
