'use strict'
// The CommonJS entry. The plugin itself is module.exports, as fastify plugins conventionally do, so
// `require('@proxyproto/fastify')` and TypeScript's `import proxyProtocol = require('@proxyproto/fastify')`
// register it without `.default`; every named export is a property of it too (`.default`,
// `.proxyProtocol`, `.getProxyInfo`, `.ErrorCodes`, ...). The code is the tsup build's, in dist/.
const api = require('../dist/index.cjs')

module.exports = Object.assign(api.proxyProtocol, api)
