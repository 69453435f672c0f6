/**
 * The runtime table's Node row: every cell (net, http, https, http2, Express, Fastify, ws, relay) served by
 * the built packages under Node, behind real HAProxy (test/helpers/runtime-suite.ts).
 */
import { runtimeSuite } from './helpers/runtime-suite.js'

runtimeSuite('node')
