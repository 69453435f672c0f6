import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const pkg = (name: string) => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url))

export default defineConfig({
  resolve: {
    // Tests run against the sources; processes spawned by tests (CLI, examples) use the built dist.
    alias: {
      '@proxyproto/core': pkg('core'),
      '@proxyproto/node/adapter': fileURLToPath(new URL('./packages/node/src/adapter.ts', import.meta.url)),
      '@proxyproto/node': pkg('node'),
      '@proxyproto/express': pkg('express'),
      '@proxyproto/fastify': pkg('fastify'),
      '@proxyproto/ws': pkg('ws'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
    // Type tests: a type error in a *.test-d.ts file (or a file it imports) fails `vitest run`.
    typecheck: {
      enabled: true,
      include: ['packages/*/test/**/*.test-d.ts'],
      tsconfig: './tsconfig.test.json',
    },
  },
})
