#!/usr/bin/env node
// NestJS on Fastify behind a TCP load balancer that sends the PROXY protocol (HAProxy send-proxy-v2,
// nginx stream proxy_protocol on, AWS NLB, ...): prepare app.getHttpServer(), and request.ip is the client.
//
// Plain JavaScript, so the decorators are applied as functions: in TypeScript this is
// `@Controller() class AppController { @Get() root(@Req() request) {...} }` and `@Module({ controllers: [AppController] })`.
import 'reflect-metadata'
import { Controller, Get, Module, Req } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { FastifyAdapter } from '@nestjs/platform-fastify'
import { getProxyInfo, withProxyProtocol } from '@proxyproto/node'

// Settings from the environment. TRUST: who may send a PROXY header (your balancers' addresses: IPs,
// CIDRs, loopback, private, comma-separated); any other peer is refused.
const { PORT = '8087', HOST = '127.0.0.1', TRUST = 'loopback,private' } = process.env

// Alike in both NestJS examples on purpose: each is a whole program, to be read and copied on its own.
class AppController {
  root(request) {
    // Nest hands the route the FastifyRequest; request.raw is Node's IncomingMessage.
    const { peer, header } = getProxyInfo(request.raw) // peer: the balancer's own address
    console.log(`GET ${request.url} from ${request.ip}:${request.socket.remotePort} via ${peer.address}:${peer.port}`)
    return {
      ip: request.ip, // the client, without trustProxy
      port: request.socket.remotePort, // the client's port
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

const app = await NestFactory.create(AppModule, new FastifyAdapter(), { logger: ['error', 'warn'] })
// The http.Server under Fastify (fastify.server); preparing it before listen() takes the header off each
// connection before Node's HTTP parser reads it. (Or: await app.register(proxyProtocol) with
// @proxyproto/fastify, which does the same and adds request.proxyHeader.)
const server = withProxyProtocol(app.getHttpServer(), { trust: TRUST })
// Connections refused by proxyproto (an untrusted peer, no header, a bad header, a timeout).
server.on('proxyProtocolError', (err, _socket, peer) =>
  console.error(`refused ${peer?.address}: ${err.code}`),
)
await app.listen(Number(PORT), HOST)
const { address, port } = server.address()
console.log(`listening on ${address.includes(':') ? `[${address}]` : address}:${port}`)
