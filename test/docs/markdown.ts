/**
 * The code the documentation shows, read from every README and docs page: fenced blocks with their
 * language, their line in the file, and the HTML comment just before them (a hidden prelude or a note
 * for the docs tests, e.g. `<!-- prelude: const server = http.createServer() -->`).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** Every Markdown page a newcomer reads: the README of the repository, of each package and example, and docs/. */
export function docFiles(): string[] {
  const dirs = (parent: string) =>
    readdirSync(`${ROOT}${parent}`, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => `${parent}/${d.name}/README.md`)
  const exists = (f: string) => {
    try {
      readFileSync(`${ROOT}${f}`)
      return true
    } catch {
      return false
    }
  }
  const docs = readdirSync(`${ROOT}docs`)
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`)
  return ['README.md', ...dirs('packages'), 'examples/README.md', ...dirs('examples'), ...docs]
    .filter(exists)
    .sort()
}

export interface Block {
  file: string
  /** 1-based line of the opening fence. */
  line: number
  lang: string
  code: string
  /** The text of an HTML comment that ends on the line before the fence (blank lines allowed between). */
  note: string | undefined
}

export function blocks(file: string): Block[] {
  const lines = readFileSync(`${ROOT}${file}`, 'utf8').split('\n')
  const out: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})(\S*)\s*$/.exec(lines[i]!)
    if (!open) continue
    const [, indent, fence, lang] = open as unknown as [string, string, string, string]
    const body: string[] = []
    let j = i + 1
    for (; j < lines.length && !lines[j]!.startsWith(`${indent}${fence}`); j++)
      body.push(lines[j]!.slice(indent.length))
    out.push({ file, line: i + 1, lang, code: `${body.join('\n')}\n`, note: noteBefore(lines, i) })
    i = j
  }
  return out
}

function noteBefore(lines: string[], fenceAt: number): string | undefined {
  let k = fenceAt - 1
  while (k >= 0 && lines[k]!.trim() === '') k--
  if (k < 0 || !lines[k]!.trimEnd().endsWith('-->')) return undefined
  const end = k
  while (k >= 0 && !lines[k]!.includes('<!--')) k--
  if (k < 0) return undefined
  const text = lines.slice(k, end + 1).join('\n')
  return text.slice(text.indexOf('<!--') + 4, text.lastIndexOf('-->')).trim()
}

export interface Span {
  file: string
  /** 1-based line where the span opens. */
  line: number
  /** Its text, a line break inside it read as a space (CommonMark §6.1). */
  code: string
}

/**
 * The inline code spans of a page (CommonMark §6.1: a run of n backticks up to the next run of exactly n),
 * outside fenced blocks and HTML comments; a span may go on over a line break inside its paragraph.
 */
export function spans(file: string): Span[] {
  const lines = readFileSync(`${ROOT}${file}`, 'utf8').split('\n')
  const out: Span[] = []
  let paragraph: Array<{ text: string; line: number }> = []
  const flush = () => {
    // Offsets into the joined paragraph, mapped back to lines.
    const text = paragraph.map((p) => p.text).join('\n')
    const lineAt = (offset: number) => {
      let at = 0
      for (const p of paragraph) {
        if (offset <= at + p.text.length) return p.line
        at += p.text.length + 1
      }
      return paragraph.at(-1)!.line
    }
    const run = /`+/g
    for (let m = run.exec(text); m; m = run.exec(text)) {
      const ticks = m[0]
      const close = new RegExp(`(?<!\`)${ticks}(?!\`)`, 'g')
      close.lastIndex = m.index + ticks.length
      const end = close.exec(text)
      if (!end) continue // an unmatched run is literal backticks
      let code = text.slice(m.index + ticks.length, end.index).replace(/\n/g, ' ')
      if (/^ .*\S.* $/.test(code)) code = code.slice(1, -1)
      out.push({ file, line: lineAt(m.index), code })
      run.lastIndex = end.index + ticks.length
    }
    paragraph = []
  }
  let comment = false
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!
    const fence = /^(\s*)(`{3,})\S*\s*$/.exec(line)
    if (fence && !comment) {
      flush()
      const [, indent, ticks] = fence as unknown as [string, string, string]
      while (++i < lines.length && !lines[i]!.startsWith(`${indent}${ticks}`));
      continue
    }
    // HTML comments (the docs tests' notes and preludes) are not shown text.
    if (comment) {
      const end = line.indexOf('-->')
      if (end < 0) continue
      comment = false
      line = line.slice(end + 3)
    }
    line = line.replace(/<!--[\s\S]*?-->/g, '')
    const open = line.indexOf('<!--')
    if (open >= 0) {
      comment = true
      line = line.slice(0, open)
    }
    if (line.trim() === '') flush()
    else paragraph.push({ text: line, line: i + 1 })
  }
  flush()
  return out
}
