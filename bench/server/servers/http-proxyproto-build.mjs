/**
 * The http server prepared by withProxyProtocol from another build of @proxyproto/node (the `dist/index.js`
 * named by PROXYPROTO_NODE_BUILD), default options: `node bench/server.mjs --build=<path>` times it beside the
 * current one in the same rounds, to measure a change rather than compare two runs.
 */
import http from 'node:http'
import { pathToFileURL } from 'node:url'
import { handler } from './http-handler.mjs'
import { serve } from './serve.mjs'

const { withProxyProtocol } = await import(pathToFileURL(process.env.PROXYPROTO_NODE_BUILD).href)
serve(withProxyProtocol(http.createServer(handler)))
