import { defineConfig } from 'tsup'

export default defineConfig({
  entry: ['src/index.ts', 'src/testing.ts'],
  format: ['esm', 'cjs'],
  dts: { compilerOptions: { composite: false, customConditions: [] } },
  clean: true,
  target: 'node20',
  sourcemap: true,
})
