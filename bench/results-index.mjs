/**
 * Writes bench/RESULTS.md: every benchmark's latest full result in one file, each with its machine, Node
 * version and the command that produced it. Called at the end of bench/parse.mjs and bench/server.mjs, so
 * the file always holds what the last complete runs printed (bench/results/*.md are the parts).
 */
import { readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const PARTS = [
  ['parse.md', 'npm run bench:parse'],
  ['parse-alone.md', 'node bench/parse/alone.mjs'],
  ['server.md', 'npm run bench:server'],
  ['instructions.md', 'npm run bench:instructions'],
]

export async function writeResultsIndex() {
  const out = [
    '# Benchmark results',
    '',
    'Generated from the latest complete runs (`bench/results/*.md`, with raw numbers in the `.json` beside',
    'each). `npm run bench` runs all three; each section names its machine, Node version and command. These are',
    'benchmarks, not tests: a slow result is reported, never failed. `BENCH_QUICK=1 npm run bench` is their',
    'quick mode: short runs that write nothing, for checking that they work.',
    '',
  ]
  for (const [file, command] of PARTS) {
    let text
    try {
      text = await readFile(join(here, 'results', file), 'utf8')
    } catch {
      out.push(`## ${file}`, '', `Not run yet: \`${command}\`.`, '')
      continue
    }
    // One level down: each part's title becomes a section here.
    out.push(`Command: \`${command}\``, '', text.replace(/^(#+) /gm, '#$1 ').trimEnd(), '')
  }
  await writeFile(join(here, 'RESULTS.md'), `${out.join('\n')}\n`)
  return join(here, 'RESULTS.md')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(`written to ${await writeResultsIndex()}`)
