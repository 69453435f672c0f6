import { packageConfig } from '../../tsup.shared.js'

// src/adapter.ts: @proxyproto/node/adapter, the helpers the framework adapters share.
export default packageConfig(['src/index.ts', 'src/adapter.ts'])
