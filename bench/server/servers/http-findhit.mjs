/** findhit-proxywrap 0.3.13 wrapping `http` (PROXY v1 only; strict, its default). */
import http from 'node:http'
import { createRequire } from 'node:module'
import { handler } from './http-handler.mjs'
import { serve } from './serve.mjs'

const proxywrap = createRequire(import.meta.url)('findhit-proxywrap')
serve(proxywrap.proxy(http, { strict: true }).createServer(handler))
