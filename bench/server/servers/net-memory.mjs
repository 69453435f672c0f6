/**
 * A net server for the memory benchmark, started with --expose-gc. `plain`: net.createServer;
 * `proxyproto`: the same prepared by withProxyProtocol with the given headerTimeout (ms), so connections
 * that send no header or a partial one stay pending for the whole measurement. Both run the same
 * handler: drain the data, answer the client's end with an end.
 */
import net from 'node:net'
import { withProxyProtocol } from '@proxyproto/node'
import { serve } from './serve.mjs'

// maxPending (optional): the cap on connections waiting for their header (bench/server/pending-flood.mjs).
const [variant = 'plain', headerTimeout = '600000', maxPending] = process.argv.slice(2)
const noop = () => {}
const server = net.createServer((socket) => {
  socket.on('error', noop)
  socket.on('data', noop)
  socket.on('end', () => socket.end())
})
if (variant === 'proxyproto')
  withProxyProtocol(server, {
    headerTimeout: Number(headerTimeout),
    ...(maxPending ? { maxPending: Number(maxPending) } : {}),
  })
serve(server)
