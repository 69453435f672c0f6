// A CommonJS TypeScript user (module node16, a .cts file): `import … = require()` of the package is the
// plugin itself, registered without `.default`, with the package's types in its namespace.
// Type-checked against the built package by cjs.test.ts (tsc -p this folder).
import proxyProtocol = require('@proxyproto/fastify')
import Fastify = require('fastify')

const app = Fastify()
app.register(proxyProtocol)
app.register(proxyProtocol, { trust: ['10.0.0.0/8'], untrusted: 'refuse', headerTimeout: 3000, tlsOffload: false })
app.register(proxyProtocol.default)
app.register(proxyProtocol.proxyProtocol)
// @ts-expect-error: mode is 'require' or 'optional'
app.register(proxyProtocol, { mode: 'sometimes' })

app.get('/', async (request) => {
  const header: proxyProtocol.ProxyHeader | null = request.proxyHeader
  const info: proxyProtocol.ProxyInfo | undefined = proxyProtocol.getProxyInfo(request.raw)
  return { ip: request.ip, version: header?.version, balancer: info?.peer.address }
})

const options: proxyProtocol.FastifyProxyProtocolOptions = { trust: ['loopback'] }
const code: string = proxyProtocol.ErrorCodes.HEADER_TIMEOUT
export { options, code }
