/** The @proxyproto/node tests use the shared kits of the root test/helpers (see test/README.md). */
export { h2get } from '../../../test/helpers/adapter-client.js'
export { CLIENT, CLIENT6, v1, v2 } from '../../../test/helpers/headers.js'
export {
  closedWithin,
  closeServer,
  connect,
  exchange,
  listen,
  readAll,
  serverClock,
  tlsOptions,
  waitFor,
} from '../../../test/helpers/sockets.js'
export { bindUdp, closeUdp, collect, dgramHeader, nextDatagram, portOf, sendTo } from '../../../test/helpers/udp.js'
