/**
 * The child side of the benchmark runner's IPC: listens `server` on 127.0.0.1 (a free port), reports
 * { type: 'ready', port, pid }, then answers the runner's commands:
 * - memory: gc (when started with --expose-gc) and process.memoryUsage(), plus open connections;
 * - stats: proxyProtocolStats(server) when the server is prepared by withProxyProtocol;
 * - cpu: process.cpuUsage() (the runner divides differences by the requests served);
 * - stop: exits (normally, so `--cpu-prof` writes its profile).
 * It also exits when the runner goes away (IPC disconnect), so nothing outlives a killed runner.
 */
import { proxyProtocolStats } from '@proxyproto/node'

const connections = (server) => new Promise((res) => server.getConnections((err, n) => res(err ? -1 : n)))

async function settleGc() {
  if (typeof globalThis.gc !== 'function') return false
  // Several rounds with turns of the event loop in between: weak callbacks and finalizers need them.
  for (let i = 0; i < 4; i++) {
    globalThis.gc()
    await new Promise((r) => setImmediate(r))
  }
  return true
}

/** @param {import('node:net').Server} server @param {Record<string, (msg: any) => any>} [commands] */
export function serve(server, commands = {}) {
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
    process.send({ type: 'ready', port: server.address().port, pid: process.pid })
  })
  process.on('disconnect', () => process.exit(0))
  process.on('message', async (msg) => {
    const reply = (data) => process.send({ id: msg.id, ...data })
    try {
      switch (msg.cmd) {
        case 'stop':
          process.exit(0)
          break
        case 'memory': {
          const gc = await settleGc()
          const mem = process.memoryUsage()
          reply({
            gc,
            memory: mem,
            connections: await connections(server),
            stats: proxyProtocolStats(server),
          })
          break
        }
        case 'cpu':
          // CPU time this process has used so far (user + system, µs): the runner takes differences.
          reply({ cpu: process.cpuUsage(), stats: proxyProtocolStats(server) })
          break
        case 'stats':
          reply({ stats: proxyProtocolStats(server), connections: await connections(server) })
          break
        default:
          if (commands[msg.cmd]) reply(await commands[msg.cmd](msg))
          else reply({ error: `unknown command ${msg.cmd}` })
      }
    } catch (err) {
      reply({ error: String(err?.stack ?? err) })
    }
  })
}
