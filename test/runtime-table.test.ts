/**
 * The README's runtime table says what the runtime suites test: its columns are the suite's cells, and a
 * cell says "refused" with a code exactly where the suite expects that runtime to refuse with that code.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CELLS, REFUSED, SERVER_CELL } from './helpers/runtime-suite.js'
import type { RuntimeName } from './helpers/runtimes.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const section = readme.slice(
  readme.indexOf('## Runtimes'),
  readme.indexOf('\n## ', readme.indexOf('## Runtimes') + 1),
)
const rows = section
  .split('\n')
  .filter((l) => l.startsWith('| '))
  .map((l) => l.slice(2, -2).split(' | '))
const [head, , ...body] = rows as [string[], string[], ...string[][]]
const ROWS: Record<RuntimeName, string> = { node: 'Node 20 / 22 / 24', deno: 'Deno 2', bun: 'Bun 1' }

describe('README runtime table', () => {
  it('has one column per cell of the runtime suite', () => {
    expect(head.map((h) => h.toLowerCase().split(',')[0])).toEqual(['runtime', ...CELLS])
  })

  for (const [runtime, label] of Object.entries(ROWS) as Array<[RuntimeName, string]>) {
    it(`says for ${label} exactly what test/runtime-${runtime}.test.ts expects`, () => {
      const row = body.find((r) => r[0] === label)
      expect(row, label).toBeDefined()
      const expected: Record<string, string> = {}
      for (const [server, code] of Object.entries(REFUSED[runtime]))
        expected[SERVER_CELL[server as keyof typeof SERVER_CELL]] = `refused: \`${code}\``
      const said = Object.fromEntries(CELLS.map((cell, i) => [cell, row![i + 1]!]))
      for (const cell of CELLS) {
        if (expected[cell]) expect(said[cell], cell).toBe(expected[cell])
        else expect(said[cell], cell).toMatch(/^✓/)
      }
    })
  }
})
