// The server side of bench/runtimes.mjs, run under Node, Deno or Bun (not a benchmark by itself): the
// same trivial http handler as bench/server (the body is the client address), plain or prepared by
// withProxyProtocol. Prints {"port"} once listening; answers each "cpu" line on stdin with
// {"cpu": user + system µs} (stdin/stdout rather than IPC, which not every runtime has with Node).
import http from 'node:http'
import { createInterface } from 'node:readline'
import { withProxyProtocol } from '@proxyproto/node'
import { handler } from '../server/servers/http-handler.mjs'

const variant = process.argv[2]
const plain = http.createServer(handler)
const server = variant === 'wrapped' ? withProxyProtocol(plain) : plain
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`)
})
const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  if (line !== 'cpu') return
  const { user, system } = process.cpuUsage()
  process.stdout.write(`${JSON.stringify({ cpu: user + system })}\n`)
})
lines.on('close', () => process.exit(0))
