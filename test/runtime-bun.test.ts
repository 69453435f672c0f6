/**
 * The runtime table's Bun row: every cell (net, http, https, http2, Express, Fastify, ws, relay) served by
 * the built packages under Bun, behind real HAProxy (test/helpers/runtime-suite.ts).
 */
import { runtimeSuite } from './helpers/runtime-suite.js'

runtimeSuite('bun')
