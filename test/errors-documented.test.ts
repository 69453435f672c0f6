/**
 * Every error code is documented (Fastify's pattern): docs/errors.md has one `## ERR_PROXY_...`
 * heading per ErrorCodes value, no heading for a code that does not exist, and every code the
 * packages' sources use, by name or as a string, is among them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ErrorCodes } from '@proxyproto/core'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const codes = new Set<string>(Object.values(ErrorCodes))
const names = new Map<string, string>(Object.entries(ErrorCodes))

function documented(): string[] {
  const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8')
  return [...doc.matchAll(/^## (ERR_PROXY_[A-Z0-9_]+)$/gm)].map((m) => m[1]!)
}

function sourceFiles(dir: string): string[] {
  const files: string[] = []
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) files.push(...sourceFiles(path))
    else if (/\.(?:ts|mts|cts|js|mjs|cjs)$/.test(entry) && !entry.endsWith('.d.ts')) files.push(path)
  }
  return files
}

/** Codes used by packages/<name>/src, with where each is used. */
function usedCodes(): Map<string, string[]> {
  const used = new Map<string, string[]>()
  const add = (code: string, where: string): void => {
    used.set(code, [...(used.get(code) ?? []), where])
  }
  const packages = join(root, 'packages')
  for (const name of readdirSync(packages)) {
    const src = join(packages, name, 'src')
    let isDir = false
    try {
      isDir = statSync(src).isDirectory()
    } catch {
      // a package without sources yet
    }
    if (!isDir) continue
    for (const file of sourceFiles(src)) {
      const text = readFileSync(file, 'utf8')
      const where = relative(root, file)
      for (const m of text.matchAll(/\bErrorCodes\.([A-Z0-9_]+)\b/g)) add(names.get(m[1]!) ?? `ErrorCodes.${m[1]}`, where)
      for (const m of text.matchAll(/\bERR_PROXY_[A-Z0-9_]+\b/g)) add(m[0], where)
    }
  }
  return used
}

describe('docs/errors.md', () => {
  it('has exactly one heading per error code', () => {
    const headings = documented()
    const duplicates = headings.filter((h, i) => headings.indexOf(h) !== i)
    expect(duplicates).toEqual([])
  })

  it('documents every ErrorCodes value', () => {
    const missing = [...codes].filter((code) => !documented().includes(code))
    expect(missing, 'add a "## CODE" section to docs/errors.md').toEqual([])
  })

  it('documents no code that ErrorCodes does not define', () => {
    const unknown = documented().filter((code) => !codes.has(code))
    expect(unknown, 'remove the section or add the code to packages/core/src/errors.ts').toEqual([])
  })

  it('documents every code used in packages/*/src, and each one is an ErrorCodes value', () => {
    const used = usedCodes()
    expect(used.size).toBeGreaterThan(0)
    const headings = new Set(documented())
    const problems = [...used]
      .filter(([code]) => !codes.has(code) || !headings.has(code))
      .map(([code, where]) => `${code} (${[...new Set(where)].join(', ')})`)
    expect(problems).toEqual([])
  })
})
