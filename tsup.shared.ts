/**
 * The one tsup configuration of every package: ESM + CJS + .d.ts for Node 20. `customConditions: []`
 * keeps the declaration build on the packages' dist types instead of the `source` condition's src/.
 */
import { defineConfig, type Options } from 'tsup'

export function packageConfig(entry: string[] = ['src/index.ts']): ReturnType<typeof defineConfig> {
  const options: Options = {
    entry,
    format: ['esm', 'cjs'],
    dts: { compilerOptions: { composite: false, customConditions: [] } },
    clean: true,
    target: 'node20',
    sourcemap: true,
  }
  return defineConfig(options)
}
