import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'
export default defineConfig({
  resolve: { alias: { '@proxyproto/core': fileURLToPath(new URL('./src/index.ts', import.meta.url)) } },
  test: { root: fileURLToPath(new URL('..', import.meta.url)), include: ['test/**/*.test.ts'], pool: 'forks', maxWorkers: 2 },
})
