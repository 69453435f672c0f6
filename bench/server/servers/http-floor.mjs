/**
 * The floor of a hand-off in JavaScript: the same http server behind the bare hand-off (bare-handoff.mjs), which
 * asks for the balancer's address as a trust check must, then reads a fixed v2 TCP4 header from the first
 * chunk and validates nothing. What it costs above plain is what reading the first chunk in JavaScript costs.
 */
import http from 'node:http'
import { withBareHandoff } from './bare-handoff.mjs'
import { handler } from './http-handler.mjs'
import { serve } from './serve.mjs'

serve(withBareHandoff(http.createServer(handler), { askPeer: true }))
