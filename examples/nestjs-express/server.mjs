#!/usr/bin/env node
// NestJS on Express behind a TCP load balancer that sends the PROXY protocol (HAProxy send-proxy-v2,
// nginx stream proxy_protocol on, AWS NLB, ...): prepare app.getHttpServer(), and req.ip is the client.
//
// Plain JavaScript, so the decorators are applied as functions: in TypeScript this is
// `@Controller() class AppController { @Get() root(@Req() req) {...} }` and `@Module({ controllers: [AppController] })`.
import 'reflect-metadata'
import { Controller, Get, Module, Req } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { getProxyInfo, proxyProtocol } from '@proxyproto/express'

// Settings from the environment. TRUST: who may send a PROXY header (your balancers' addresses: IPs,
// CIDRs, loopback, private, comma-separated); any other peer is refused.
const { PORT = '8086', HOST = '127.0.0.1', TRUST = 'loopback,private' } = process.env

// Alike in both NestJS examples on purpose: each is a whole program, to be read and copied on its own.
class AppController {
  root(req) {
    const { peer, header } = getProxyInfo(req) // peer: the balancer's own address
    console.log(`GET ${req.url} from ${req.ip}:${req.socket.remotePort} via ${peer.address}:${peer.port}`)
    return {
      ip: req.ip, // the client, with Express's default `trust proxy` (false)
      port: req.socket.remotePort, // the client's port
      balancer: peer.address,
      version: header?.version ?? null,
    }
  }
}
Controller()(AppController)
Req()(AppController.prototype, 'root', 0)
Get()(AppController.prototype, 'root', Object.getOwnPropertyDescriptor(AppController.prototype, 'root'))

class AppModule {}
Module({ controllers: [AppController] })(AppModule)

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] })
const proxy = proxyProtocol({ trust: TRUST })
app.use(proxy) // sets req.proxyHeader, and refuses to run on a server that proxy.attach() did not prepare
// The http.Server Nest created; preparing it before listen() takes the header off each connection
// before Node's HTTP parser reads it.
const server = proxy.attach(app.getHttpServer())
// Connections refused by proxyproto (an untrusted peer, no header, a bad header, a timeout).
server.on('proxyProtocolError', (err, _socket, peer) =>
  console.error(`refused ${peer?.address}: ${err.code}`),
)
await app.listen(Number(PORT), HOST)
const { address, port } = server.address()
console.log(`listening on ${address.includes(':') ? `[${address}]` : address}:${port}`)
