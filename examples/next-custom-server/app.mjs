// A stand-in for `next({ dev })`: an app with prepare() and getRequestHandler(), whose handler reads the
// client the way any Node framework does, from req.socket. Replace it with Next.js in a real project.
import { getProxyInfo } from '@proxyproto/node'

export function createApp() {
  return {
    async prepare() {},
    getRequestHandler() {
      return (req, res) => {
        const { remoteAddress, remotePort } = req.socket // the client
        const { peer, header } = getProxyInfo(req) // peer: the balancer's own address
        console.log(`GET ${req.url} from ${remoteAddress}:${remotePort} via ${peer.address}:${peer.port}`)
        res.setHeader('content-type', 'application/json')
        res.end(
          JSON.stringify({ ip: remoteAddress, port: remotePort, balancer: peer.address, version: header?.version ?? null }),
        )
      }
    },
  }
}
