/**
 * The least a hand-off through the push() hook can do, for the instruction-count benchmark's floor: it
 * trusts everyone, reads a fixed 28-byte v2 PROXY TCP4 header without validating a byte, has no header
 * timeout, no stats and no error handling (with `askPeer`, it also asks for the balancer's address, as a trust
 * check must: the floor of bench/server/http-overhead.mjs). Not something to run in front of real traffic: it measures what
 * @proxyproto/node's own work (validation, trust, timeouts, refusals) costs on top of the hand-off itself.
 */
import { Readable } from 'node:stream'

const streamPush = Readable.prototype.push

export function withBareHandoff(server, { askPeer = false } = {}) {
  const emit = server.emit
  server.emit = function (event, a, b) {
    if (event !== 'connection') return emit.call(this, event, a, b)
    // askPeer: the balancer's address, which any hand-off that checks trust must ask the kernel for (getpeername)
    // before it reads a byte; plain Node asks for it too, once its handler reads remoteAddress.
    if (askPeer && a.remoteAddress === undefined) {
      a.destroy()
      return true
    }
    a.push = function (chunk) {
      this.push = streamPush
      if (chunk === null) {
        this.destroy() // closed before a byte (a health check)
        return false
      }
      const c = chunk
      this._peername = { address: `${c[16]}.${c[17]}.${c[18]}.${c[19]}`, port: (c[24] << 8) | c[25], family: 'IPv4' }
      emit.call(server, 'connection', this)
      if (c.length > 28) {
        // Straight to Node's HTTP/1 'data' listener when it is there, as withProxyProtocol does (a deliberate copy
        // of packages/node/src/fast-paths.ts, 4., without its checks: the bench's servers are all plain http, whose
        // lone 'data' listener is that one): the floor should not pay push()'s extra tick, nor a read of the
        // listener's name (a new string each time), which withProxyProtocol makes once per process.
        const onData = this._events?.data
        if (typeof onData === 'function') onData.call(this, c.subarray(28))
        else streamPush.call(this, c.subarray(28))
      }
      return true
    }
    return true
  }
  return server
}
