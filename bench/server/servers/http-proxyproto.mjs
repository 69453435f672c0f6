/** The same http server prepared by withProxyProtocol (from the built packages/node/dist), default options. */
import http from 'node:http'
import { withProxyProtocol } from '@proxyproto/node'
import { handler } from './http-handler.mjs'
import { serve } from './serve.mjs'

serve(withProxyProtocol(http.createServer(handler)))
