import { packageConfig } from '../../tsup.shared.js'

// src/adapter.ts: @proxyproto/node/adapter, the helpers the framework adapters share.
// src/testing.ts: @proxyproto/node/testing, clients that play the balancer in users' tests.
export default packageConfig(['src/index.ts', 'src/adapter.ts', 'src/testing.ts'])
