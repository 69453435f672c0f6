/**
 * The server of the instruction-count benchmark (bench/server/instructions.mjs), run under callgrind:
 * `node instructions-http.mjs <plain|plain-no-peer|ours|floor|bare|path to another build's dist/index.js>`. Prints its port.
 */
import http from 'node:http'
import { pathToFileURL } from 'node:url'
import { handler, handlerWithoutPeer } from './http-handler.mjs'

const variant = process.argv[2]
const server = http.createServer(variant === 'plain-no-peer' ? handlerWithoutPeer : handler)
if (variant === 'ours') (await import('@proxyproto/node')).withProxyProtocol(server)
else if (variant === 'bare' || variant === 'floor') (await import('./bare-handoff.mjs')).withBareHandoff(server, { askPeer: variant === 'floor' })
else if (variant !== 'plain' && variant !== 'plain-no-peer') (await import(pathToFileURL(variant).href)).withProxyProtocol(server)
server.listen(0, '127.0.0.1', () => console.log(server.address().port))
