// Types of the CommonJS entry (cjs/index.cjs): the plugin is the module itself (`export =`), with the
// named exports as its properties and the exported types in its namespace.
import api = require('../dist/index.cjs')

declare const proxyProtocol: typeof api.proxyProtocol & typeof api
declare namespace proxyProtocol {
  export type FastifyProxyProtocolOptions = api.FastifyProxyProtocolOptions
  export type ProxyHeader = api.ProxyHeader
  export type ProxyInfo = api.ProxyInfo
  export type ProxyProtocolOptions = api.ProxyProtocolOptions
}
export = proxyProtocol
