/** Plain `http.createServer`: the baseline. The body is the address the server sees. */
import http from 'node:http'
import { handler } from './http-handler.mjs'
import { serve } from './serve.mjs'

serve(http.createServer(handler))
