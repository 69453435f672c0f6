#!/usr/bin/env node
// Committed launcher for the `proxyproto` command. npm links a workspace's `bin` at `npm ci` time only if
// the file exists then, and dist/ is built later: pointing `bin` at dist/bin.js left a fresh clone
// without the command (and `npx proxyproto` fell through to another package of that name).
import { existsSync } from 'node:fs'

const entry = new URL('../dist/bin.js', import.meta.url)
if (!existsSync(entry)) {
  console.error('proxyproto: @proxyproto/cli is not built yet; run `npm run build` at the repository root')
  process.exit(1)
}
await import(entry.href)
