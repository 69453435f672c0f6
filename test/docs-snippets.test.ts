/**
 * Every TypeScript and JavaScript block in every README and docs page type-checks under `tsc --strict`
 * (as a TypeScript ES module, against the built packages' published types), and the ones that are whole
 * programs run. A fragment that uses what the text around it set up (`server`, `app`) declares it in a
 * prelude the test reads: an HTML comment just before the block, `<!-- prelude: declare const server:
 * import('node:http').Server -->`, hidden when rendered. A block that is not code to compile (the shape of
 * an object, a type signature) says so the same way, `<!-- not-code: why -->`: nothing is skipped silently.
 *
 * Whole programs (no prelude, not marked not-code) run in a network namespace of their own (servers on
 * the docs' fixed ports cannot clash): each must exit 0, or still be running after 3 s with nothing on stderr.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import ts from 'typescript'
import { afterAll, describe, expect, it } from 'vitest'
import { blocks, docFiles, ROOT } from './docs/markdown.js'
import { canNamespace, kill, killAll, Namespace } from './docs/namespace.js'

/** Files written beside READMEs (blocks with relative imports): removed when the test ends. */
const written: string[] = []
afterAll(() => {
  killAll()
  for (const f of written) if (!f.startsWith(DIR)) rmSync(f, { force: true })
})

const DIR = `${ROOT}.cache/docs-snippets/`
const CODE = new Set(['js', 'ts', 'javascript', 'typescript', 'mjs'])

interface Snippet {
  where: string
  file: string
  prelude: string
  code: string
  notCode: string | undefined
  /** `import x = require(...)`: a CommonJS TypeScript program, checked as .cts and run as CommonJS. */
  cjs: boolean
  /** `<!-- client-of-previous: ... -->`: a client for the program in the block before it, run against it. */
  clientOfPrevious: boolean
}

const snippets: Snippet[] = docFiles().flatMap((file) =>
  blocks(file)
    .filter((b) => CODE.has(b.lang))
    .map((b) => {
      const prelude = /^prelude:\s*([\s\S]*)$/.exec(b.note ?? '')?.[1] ?? ''
      const notCode = /^not-code:\s*([\s\S]*)$/.exec(b.note ?? '')?.[1]
      const name = `${file.replace(/[/.]/g, '_')}_${b.line}`
      const clientOfPrevious = /^client-of-previous:/.test(b.note ?? '')
      const cjs = /^import \w+ = require\(/m.test(b.code)
      // A relative import (`./app.mjs`): the block is checked and run beside its README, where that file is.
      const base = /from '\.\.?\//.test(b.code)
        ? `${ROOT}${file.replace(/[^/]*$/, '')}.docs-snippet-${b.line}`
        : `${DIR}${name}`
      return {
        where: `${file}:${b.line}`,
        file: `${base}.${cjs ? 'cts' : 'mts'}`,
        cjs,
        prelude,
        code: b.code,
        notCode,
        clientOfPrevious,
      }
    }),
)

/** Line offset of the block's code in the generated file: the prelude's lines. */
const preludeLines = (s: Snippet) => (s.prelude ? s.prelude.split('\n').length : 0)

describe('every code block in the docs', () => {
  it('type-checks under tsc --strict', { timeout: 180_000 }, () => {
    rmSync(DIR, { recursive: true, force: true })
    mkdirSync(DIR, { recursive: true })
    const checked = snippets.filter((s) => s.notCode === undefined)
    for (const s of checked) {
      writeFileSync(s.file, `${s.prelude ? `${s.prelude}\n` : ''}${s.code}\n${s.cjs ? '' : 'export {}\n'}`)
      written.push(s.file)
    }
    const program = ts.createProgram(
      checked.map((s) => s.file),
      {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        types: ['node'],
        skipLibCheck: true,
        // A block may import a JavaScript file beside its README (examples/next-custom-server: ./app.mjs).
        allowJs: true,
        esModuleInterop: true,
      },
    )
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const s = checked.find((x) => x.file === d.file?.fileName)
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n')
      if (!s || d.start === undefined) return `${d.file?.fileName ?? '?'}: TS${d.code} ${text}`
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start)
      const [file, at] = s.where.split(':') as [string, string]
      // The fence is at `at`; the code starts on the next line, after the prelude in the generated file.
      return `${file}:${Number(at) + 1 + line - preludeLines(s)}: TS${d.code} ${text}`
    })
    expect(problems).toEqual([])
  })

  it('marks every block it does not compile, with the reason', () => {
    const notCode = snippets.filter((s) => s.notCode !== undefined)
    for (const s of notCode) expect(s.notCode, `${s.where}: not-code needs a reason`).toMatch(/\S{3,}/)
    if (notCode.length > 0)
      console.log(
        `not compiled, each with its reason:\n  ${notCode.map((s) => `${s.where}: ${s.notCode}`).join('\n  ')}`,
      )
  })

  it.skipIf(!canNamespace)('runs the whole programs', { timeout: 300_000 }, async () => {
    const programs = snippets.filter(
      (s) => s.notCode === undefined && s.prelude === '' && /^import /m.test(s.code),
    )
    const problems: string[] = []
    const write = (s: Snippet) => {
      const js = ts.transpileModule(s.code, {
        compilerOptions: {
          module: s.cjs ? ts.ModuleKind.CommonJS : ts.ModuleKind.ESNext,
          target: ts.ScriptTarget.ES2022,
          verbatimModuleSyntax: false,
          esModuleInterop: true,
        },
      }).outputText
      const path = s.file.replace(/\.[mc]ts$/, s.cjs ? '.cjs' : '.mjs')
      written.push(path)
      writeFileSync(path, js)
      return path
    }
    for (const s of programs) {
      const path = write(s)
      const ns = new Namespace()
      try {
        await ns.setUp()
        if (s.clientOfPrevious) {
          // Its server is the program in the block before it: started first; the client must exit 0.
          const server = snippets[snippets.indexOf(s) - 1]!
          const sp = ns.sh(`node '${write(server)}'`)
          const wait = ns.sh(
            `node test/docs/probe.mjs '${JSON.stringify({ mode: 'wait', host: '127.0.0.1', port: 8080 })}'`,
          )
          if ((await wait.exit(30_000)).status !== 0)
            problems.push(`${server.where}: not listening on 8080\n${sp.output}`)
          const r = await ns.sh(`node '${path}'`).exit(15_000)
          if (r.status !== 0) problems.push(`${s.where}: exited ${r.status}\n${r.output}`)
          kill(sp.child)
          continue
        }
        const p = ns.sh(`node '${path}'`)
        const status = await Promise.race([
          p.exited,
          new Promise((resolve) => setTimeout(() => resolve('running'), 3000)),
        ])
        const stderr = p.output.split('\n').filter((l) => /Error|error|at /.test(l))
        if ((status !== 0 && status !== 'running') || stderr.length > 0)
          problems.push(`${s.where}: ${status}\n${p.output}`)
        kill(p.child)
      } finally {
        kill(ns.holder)
      }
    }
    expect(problems).toEqual([])
  })
})
