/**
 * What the docs test does with each shell command the documentation shows. Every command must match a
 * rule here, or the test fails: nothing is skipped silently, and a command that cannot run here says why.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { type Block, blocks, docFiles, ROOT, spans } from './markdown.js'

export type ProbeMode = 'http' | 'tls-http' | 'line' | 'ws' | 'socket.io' | 'http-from-client' | 'udp' | 'dns'

export type Plan =
  /** Runs to completion and exits 0 (and prints `expect`, when the docs show it). `run` replaces the command, said why. */
  | { kind: 'exit'; expect?: RegExp; run?: string; why?: string }
  /** Shown to demonstrate a failure: exits with `status`. */
  | { kind: 'fails'; status: number; why: string }
  /**
   * Runs until stopped: prints its "listening on HOST:PORT" line within 30 s, then answers one request made
   * as its load balancer would (probe), with `expect` in the answer. `from`: the balancer's address.
   */
  | {
      kind: 'server'
      probe: ProbeMode
      expect: string
      from?: string
      path?: string
      stopAfterBlock?: boolean
      /** Run in a namespace of its own and stopped after the probe: a variant of a server above, on its port. */
      isolated?: boolean
      /** Probe this port instead of the server's own: the balancer in front of it. */
      via?: number
      /** Servers the text says run already (started first, ready on "listening on", stopped after it). */
      needs?: string[]
    }
  /** `... &`: a balancer started in the background for the commands after it; ready on its "listening on" line. */
  | { kind: 'background'; why?: string }
  /**
   * An interactive client: `input` is typed (after its first output, unless `greets` is false: a UDP
   * client hears nothing before it speaks), `expect` must come back, then it is stopped.
   */
  | { kind: 'interactive'; input: string; expect: RegExp; greets?: false; needs?: string[] }
  /** A `$ command` line with its output below it: exits (any status), and prints exactly what is shown. */
  | { kind: 'transcript'; server?: boolean }
  /** Not a command of its own (what you type into the client above). */
  | { kind: 'input'; why: string }
  | { kind: 'excluded'; why: string }

interface Rule {
  match: RegExp
  file?: RegExp
  plan: Plan
}

const CLIENT = '203.0.113.7'
const EXAMPLE_PROBES: Record<string, { probe: ProbeMode; path?: string }> = {
  express: { probe: 'http' },
  fastify: { probe: 'http' },
  hono: { probe: 'http' },
  koa: { probe: 'http' },
  hapi: { probe: 'http' },
  'nestjs-express': { probe: 'http' },
  'nestjs-fastify': { probe: 'http' },
  'next-custom-server': { probe: 'http' },
  https: { probe: 'tls-http' },
  http2: { probe: 'tls-http' },
  'net-game': { probe: 'line' },
  ws: { probe: 'ws' },
  socketio: { probe: 'socket.io', path: '/socket.io/?EIO=4&transport=websocket' },
}

const RULES: Rule[] = [
  {
    match: /^npm ci$/,
    plan: {
      kind: 'excluded',
      why: 'the set-up step: .ci/run runs it in its clean clone before npm test; inside the test it would delete node_modules under the running tests',
    },
  },
  {
    match: /^npm ci && npm run demo$/,
    plan: {
      kind: 'exit',
      run: 'npm run demo',
      expect: /127\.0\.0\.23/,
      why: 'npm ci is the set-up step .ci/run has just run',
    },
  },
  {
    match: /^(npm test|npx vitest run)$/,
    plan: { kind: 'excluded', why: 'the test run this test is part of' },
  },
  {
    match: /^npm run typecheck$/,
    plan: {
      kind: 'excluded',
      why: '.ci/run runs it, as written, as a step of its own just before the tests (≈ 40 s again here)',
    },
  },
  {
    match: /^scripts\/node-matrix\.sh$/,
    plan: {
      kind: 'excluded',
      why: ".ci/run runs it (with the versions 22 24) as its last step: the package suites under Node 22 and 24, minutes; with no versions it runs the README's same pair",
    },
  },
  // Names in running text that take the form of a command.
  {
    match: /^(npx )?proxyproto (relay|echo|decode|encode)$/,
    plan: {
      kind: 'excluded',
      why: 'names the CLI command in running text; its runnable lines are in the fenced blocks',
    },
  },
  {
    match: /^proxyproto relay --udp( --send [\w-]+)?$/,
    plan: {
      kind: 'excluded',
      why: "names a mode of the UDP relay in running text (no --listen/--target); README.md's CLI block runs it",
    },
  },
  {
    match: /^curl --[\w-]+( 127\.0\.0\.23)?$/,
    plan: {
      kind: 'excluded',
      why: "names curl's option in running text (no URL); the lines beside it use it",
    },
  },
  {
    match: /^(node --test|deno test|bun test)$/,
    plan: {
      kind: 'excluded',
      why: "names the runtime's test runner that the portable core suite runs under; test/runtime-*.test.ts runs it on each runtime",
    },
  },
  {
    match: /^sudo ifconfig lo0 alias /,
    plan: { kind: 'excluded', why: 'macOS only (lo0); on Linux all of 127.0.0.0/8 is loopback already' },
  },
  {
    match: /^npm run [\w:-]+ \(/,
    plan: {
      kind: 'excluded',
      why: 'a results record: the npm script, then in parentheses what it ran (not shell: the parentheses); the script itself is run from README.md',
    },
  },
  {
    match: /^wrk .*<haproxy>/,
    plan: {
      kind: 'excluded',
      why: 'a results record: <haproxy> is the port of the HAProxy the benchmark started for that run; the benchmark runs this wrk line itself (npm run bench:server)',
    },
  },
  // Benchmarks run in their quick mode: the test gives every command BENCH_QUICK=1 (see namespace.ts).
  {
    match: /^(BENCH_QUICK=1 )?(npm run bench(:[\w-]+)?( --|$)|node bench\/)/,
    plan: {
      kind: 'exit',
      why: 'a benchmark, in its quick mode (BENCH_QUICK=1): short runs, no files written',
    },
  },
  {
    match: /^npm install (--global )?@proxyproto\//,
    plan: {
      kind: 'excluded',
      why: 'installs the published packages into your own project; the tarballs npm would publish are checked by scripts/check-packages.sh, and `proxyproto` runs here from node_modules/.bin',
    },
  },
  {
    match: /^npm install --save-dev @types\/ws$/,
    plan: {
      kind: 'excluded',
      why: "adds ws's types to your own project; this repository has them (devDependencies)",
    },
  },
  {
    match: /^(aws|gcloud|az|kubectl) /,
    plan: { kind: 'excluded', why: 'needs a real cloud account or cluster' },
  },
  {
    match: /^(iptables|ip rule|ip route) /,
    plan: {
      kind: 'excluded',
      why: "configures the host's firewall and routing for TPROXY, the alternative this page compares against",
    },
  },
  {
    match: /^tcpdump /,
    plan: { kind: 'excluded', why: "captures a real deployment's balancer traffic, with capture privileges" },
  },
  {
    match: /^TLS_CERT=\/etc\/ssl\//,
    plan: {
      kind: 'excluded',
      why: 'names your real certificate files; the same server with the test certificate is the npm run example line above',
    },
  },
  {
    match: /(\[HOST:\]PORT|v1\|v2|1\|2 --source ADDR)/,
    plan: { kind: 'excluded', why: 'a usage synopsis with placeholders, not a command' },
  },
  {
    match: /(v2\|v2-first|…)/,
    plan: { kind: 'excluded', why: 'a usage synopsis with placeholders, not a command' },
  },
  {
    match: /^proxyproto decode \[HEX/,
    plan: { kind: 'excluded', why: 'a usage synopsis with placeholders, not a command' },
  },
  { match: /^MOVE 1 2$/, plan: { kind: 'input', why: 'typed into the client started on the line above' } },
  { match: /^npm run demo$/, plan: { kind: 'exit', expect: /127\.0\.0\.23/ } },
  {
    match: /^curl http:\/\/127\.0\.0\.1:808[01]\/$/,
    plan: {
      kind: 'fails',
      status: 52,
      why: 'shows the refusal: a trusted peer without a header is closed without a reply (curl: empty reply, 52)',
    },
  },
  { match: / &$/, plan: { kind: 'background' } },
  // The inner relay of a chain takes a PROXY header from the outer one (--accept-proxy) and passes its client on.
  {
    match: /^proxyproto relay --listen 9000 --target 127\.0\.0\.1:3000 --send v2 --accept-proxy$/,
    plan: { kind: 'server', probe: 'http', expect: CLIENT, stopAfterBlock: true },
  },
  // The relay as a balancer in front of the app on 3000: a client on 127.0.0.23 must reach the app as itself.
  {
    match: /^(npx )?proxyproto relay --listen 8080 --target 127\.0\.0\.1:3000 /,
    plan: {
      kind: 'server',
      probe: 'http-from-client',
      from: '127.0.0.23',
      expect: '127.0.0.23',
      stopAfterBlock: true,
    },
  },
  {
    match: /^proxyproto relay --listen 8080 --target 127\.0\.0\.1:9000 --send v1$/,
    plan: {
      kind: 'server',
      probe: 'http-from-client',
      from: '127.0.0.23',
      expect: '127.0.0.23',
      stopAfterBlock: true,
    },
  },
  {
    match: /^npm run example:(dns|udp-game)$/,
    plan: {
      kind: 'background',
      why: 'a UDP server: its ready line is checked; the requests are the commands after it',
    },
  },
  {
    match: /^npx proxyproto relay --udp --listen 7777 --target 127\.0\.0\.1:7778 --send spp$/,
    plan: {
      kind: 'background',
      why: 'the balancer in front of the UDP game; players are the nc sessions the text describes',
    },
  },
  {
    match: /^dnsdist --supervised --disable-syslog -C dnsdist\.conf$/,
    file: /examples\/dns/,
    plan: {
      kind: 'excluded',
      why: 'dnsdist with the lua block below saved as dnsdist.conf: not started here; test/dnsdist.test.ts runs the example behind real dnsdist with these flags and that configuration (helpers/dnsdist.ts)',
    },
  },
  {
    match: /^dig @127\.0\.0\.1 -p 5353 /,
    plan: {
      kind: 'excluded',
      why: 'asks dnsdist, configured by the lua block above, which this test does not start (test/ runs the example behind real dnsdist)',
    },
  },
  {
    match: /^echo hello \| nc -u -w1 -s 127\.0\.0\.23 127\.0\.0\.1 5353$/,
    plan: { kind: 'exit', expect: /127\.0\.0\.23/ },
  },
  // UDP: the relay (a local Cloudflare Spectrum) in front of the echo on the next line; the echo is asked
  // through the relay, from 127.0.0.23, and its answer comes back the same way.
  {
    match: /^npx proxyproto relay --udp --listen 5353 --target 127\.0\.0\.1:5300 --send spp$/,
    plan: { kind: 'background' },
  },
  {
    match: /^npx proxyproto echo --udp --listen 5300 --framing spp$/,
    plan: { kind: 'server', probe: 'udp', from: '127.0.0.23', via: 5353, expect: '127.0.0.23' },
  },
  // Inline: curl sends a v1 header itself to the example the block above started; the example answers
  // with the client it names.
  {
    match:
      /^curl (-k )?--haproxy-protocol --interface 127\.0\.0\.23 https?:\/\/(127\.0\.0\.1|localhost):\d+\/$/,
    plan: { kind: 'exit', expect: /127\.0\.0\.23/ },
  },
  // Inline: "any line-based TCP client will do": nc through the relay of the block above (started again:
  // the block's background relay stops with its block), to the game server that is still running.
  {
    match: /^nc -s 127\.0\.0\.23 127\.0\.0\.1 9000$/,
    file: /net-game/,
    plan: {
      kind: 'interactive',
      input: 'MOVE 1 2\n',
      expect: /MOVED 127\.0\.0\.23:\d+ 1 2/,
      needs: ['npx proxyproto relay --listen 127.0.0.1:9000 --target 127.0.0.1:7777 --send v2'],
    },
  },
  // Inline: the two players, each through the relay in front of the game (both from the block above).
  ...['23', '24'].map(
    (n): Rule => ({
      match: new RegExp(`^nc -u -s 127\\.0\\.0\\.${n} 127\\.0\\.0\\.1 7777$`),
      file: /udp-game/,
      plan: {
        kind: 'interactive',
        input: 'JOIN\n',
        expect: new RegExp(`127\\.0\\.0\\.${n}`),
        greets: false,
        needs: [
          'npm run example:udp-game',
          'npx proxyproto relay --udp --listen 7777 --target 127.0.0.1:7778 --send spp',
        ],
      },
    }),
  ),
  // Inline: the relay in dnsdist's place, in front of the DNS example; a TXT query from 127.0.0.23
  // through it must come back naming 127.0.0.23.
  {
    match: /^npx proxyproto relay --udp --listen 5353 --target 127\.0\.0\.1:5300 --send v2$/,
    file: /examples\/dns/,
    plan: {
      kind: 'server',
      probe: 'dns',
      from: '127.0.0.23',
      expect: '127.0.0.23',
      needs: ['npm run example:dns'],
    },
  },
  { match: /^npx proxyproto echo --listen 9000$/, plan: { kind: 'server', probe: 'line', expect: CLIENT } },
  {
    match: /^node -e "const s = require\('node:net'\)/,
    plan: { kind: 'interactive', input: 'MOVE 1 2\n', expect: /MOVED 127\.0\.0\.23:\d+ 1 2/ },
  },
]

/** The server examples: `npm run example:NAME` and `[ENV=...] node examples/NAME/server.mjs`. */
function examplePlan(command: string): Plan | undefined {
  const m = /^(?:npm run example:([\w-]+)|((?:\w+=\S+ )*)node examples\/([\w-]+)\/server\.mjs)$/.exec(command)
  if (!m) return undefined
  const name = (m[1] ?? m[3])!
  const probe = EXAMPLE_PROBES[name]
  if (!probe) return undefined
  const trust = /TRUST=(\S+)/.exec(m[2] ?? '')?.[1]
  // `PORT=... HOST=... TRUST=... node examples/...`: the settings variant of the npm run line above it.
  const variant = m[2] ? { isolated: true } : {}
  return {
    kind: 'server',
    ...probe,
    expect: CLIENT,
    ...variant,
    ...(trust ? { from: trust.split(',')[0] } : {}),
  }
}

/** The plan for one command of `block`; undefined when no rule covers it (the test then fails). */
export function planFor(command: string, block: Block, transcript = false): Plan | undefined {
  if (transcript) {
    if (/ &$/.test(command)) return { kind: 'background' }
    // A relay or echo runs until stopped: its first line (the ready line) must be the one shown.
    if (/^proxyproto (relay|echo) /.test(command)) return { kind: 'transcript', server: true }
    return { kind: 'transcript' }
  }
  // `--build=<dist/index.js of an older build>`: the build of this clone stands in for the older one (of the
  // core for the parser benchmarks, of @proxyproto/node for the others).
  const build = /--build=(<[^>]+>|\/tmp\/\S+)/
  if (build.test(command))
    return {
      kind: 'exit',
      run: command.replace(build, `--build=packages/${/bench\/parse\//.test(command) ? 'core' : 'node'}/dist/index.js`),
      why: "names a build that is not in a clone; this clone's own build stands in for it",
    }
  for (const rule of RULES)
    if (rule.match.test(command) && (!rule.file || rule.file.test(block.file))) return rule.plan
  const example = examplePlan(command)
  if (example) return example
  // Anything else that runs and ends: the CLI's one-shot commands, curl and node clients through a balancer.
  if (/^(npx )?proxyproto (--help|\w+ --help|decode|encode)\b/.test(command)) return { kind: 'exit' }
  if (/^\{ proxyproto encode /.test(command))
    return { kind: 'exit', expect: new RegExp(CLIENT.replaceAll('.', '\\.')) }
  if (/^(curl|node -e) /.test(command)) return { kind: 'exit' }
  if (/^(haproxy -vv|npm run (build|lint)|scripts\/runtimes\.sh)$/.test(command)) return { kind: 'exit' }
  return undefined
}

/**
 * Servers a README's commands talk to without starting them: `file` -> commands started first, each ready
 * when it prints "listening on", or a fenced js block of that README run as a program (ready when
 * `port` accepts connections).
 */
export const BEFORE: Record<string, Array<{ command: string } | { jsBlock: number; port: number }>> = {
  // "your app (prepared with @proxyproto/node) on 3000": an example app stands in for it.
  'README.md': [{ command: 'PORT=3000 node examples/express/server.mjs' }],
  'packages/cli/README.md': [{ command: 'PORT=3000 node examples/express/server.mjs' }],
  // "Try it without a balancer": the curl lines talk to the server of the README's first code block.
  'packages/express/README.md': [{ jsBlock: 0, port: 8080 }],
  'packages/fastify/README.md': [{ jsBlock: 0, port: 8080 }],
}

export interface Command {
  command: string
  line: number
  /** The output the docs show for it: the comment lines under it, or a transcript's output lines. */
  shown: string
  /** From a transcript (`$ command`, then its output). */
  transcript: boolean
}

/**
 * A transcript's output as compared: the TCP peer's ephemeral port differs on every run, so it is masked
 * (`"peer":{"address":"::ffff:127.0.0.1","port":40118,...}` -> `"port":PORT`).
 */
export const comparable = (output: string): string =>
  output.replace(/("peer":\{"address":"[^"]*","port":)\d+/g, '$1PORT').trim()

/** Whether a block is a terminal transcript: `$ command` lines, each followed by its output. */
export const isTranscript = (block: Block): boolean => /^\$ /m.test(block.code)

/** The commands of a sh block: continuation lines joined, whole-line comments kept as the output shown. */
export function commandsOf(block: Block): Command[] {
  const out: Command[] = []
  const lines = block.code.split('\n')
  if (isTranscript(block)) {
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!
      if (line.startsWith('$ ')) {
        let command = line.slice(2)
        const at = i
        while (command.endsWith('\\') && i + 1 < lines.length)
          command = `${command.slice(0, -1).trimEnd()} ${lines[++i]!.trim()}`
        out.push({ command, line: block.line + 1 + at, shown: '', transcript: true })
      } else if (out.length > 0) out.at(-1)!.shown += `${line}\n`
    }
    return out
  }
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i]!
    if (first.trim() === '') continue
    if (first.trimStart().startsWith('#')) {
      const last = out.at(-1)
      if (last) last.shown += `${first.trim().slice(1).trim()}\n`
      continue
    }
    let text = first
    const at = i
    // A command goes on while a line ends with `\`, a quote is open, or a `{ ... }` group is.
    while (i + 1 < lines.length && (/\\$/.test(text) || open(text))) text += `\n${lines[++i]!}`
    out.push({
      command: stripComment(text).replace(/\\\n\s*/g, ''),
      line: block.line + 1 + at,
      shown: '',
      transcript: false,
    })
  }
  return out
}

function open(text: string): boolean {
  const quotes = (text.match(/"/g)?.length ?? 0) % 2 === 1
  const braces = (text.match(/(^|\s)\{\s/g)?.length ?? 0) > (text.match(/;\s*\}/g)?.length ?? 0)
  return quotes || braces
}

/** The command without a trailing `# comment` (a `#` after two spaces, outside quotes). */
function stripComment(text: string): string {
  let quote = ''
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quote) {
      if (c === quote) quote = ''
    } else if (c === '"' || c === "'") quote = c
    else if (c === '#' && /\s\s$/.test(text.slice(0, i))) return text.slice(0, i).trimEnd()
  }
  return text.trimEnd()
}

/**
 * The programs a command shown in an inline code span starts with. A span is a command when, after any
 * `NAME=value` settings, its first word is one of these and something follows it (`npm run bench`,
 * `node bench/udp/flood.mjs`); a script path (`scripts/node-matrix.sh`) is a command on its own. Anything
 * else is a name in running text: a program alone (`proxyproto`), an identifier (`node:cluster`,
 * `node-haproxy`, `vitest.config.ts`), settings alone (`TRUST=10.0.0.5 HOST=0.0.0.0`), a subcommand of the
 * CLI (`echo --udp`, named without the `proxyproto` before it).
 */
const PROGRAMS = new Set([
  'npm',
  'npx',
  'node',
  'proxyproto',
  'curl',
  'nc',
  'dig',
  'wrk',
  'haproxy',
  'sudo',
  'deno',
  'bun',
  'dnsdist',
  'turbo',
])

export function isCommandSpan(text: string): boolean {
  const words = text.trim().split(/\s+/)
  let i = 0
  while (i < words.length - 1 && /^[A-Z_][A-Z0-9_]*=\S*$/.test(words[i]!)) i++
  const program = words[i]!
  if (/^(\.\/|scripts\/)\S+\.sh$/.test(program)) return true
  return PROGRAMS.has(program) && words.length > i + 1
}

/** The pages whose commands the docs test runs: every page docFiles() lists, and the benchmark results'. */
export function commandPages(): string[] {
  const results = readdirSync(`${ROOT}bench/results`)
    .filter((f) => f.endsWith('.md') && !/-(quick|partial)\.md$/.test(f))
    .map((f) => `bench/results/${f}`)
  return [...docFiles(), 'test/README.md', 'bench/RESULTS.md', ...results].sort()
}

const SCRIPTS: Record<string, string> = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')).scripts

/**
 * What a command runs, step by step, in the test's environment: an npm script read as its text (with the
 * arguments after `--` appended, as npm does), split at `&&`; `BENCH_QUICK=1` and `--quick` dropped, as
 * the test gives every command BENCH_QUICK=1 and each benchmark reads the two as the same switch.
 */
export function steps(command: string): string[] {
  let c = command.replace(/^BENCH_QUICK=1 /, '')
  const npm = /^npm run ([\w:-]+)(?: -- (.*))?$/.exec(c)
  if (npm && SCRIPTS[npm[1]!]) c = `${SCRIPTS[npm[1]!]}${npm[2] ? ` ${npm[2]}` : ''}`
  return c.split(' && ').map((step) => step.replace(/ --quick\b/, '').trim())
}

/** A client: what it talks to is the server its own page started, so it counts as run on that page only. */
const isClient = (command: string) => /^(curl|nc|dig) |\| nc /.test(command)

export interface InlineCommand extends Command {
  file: string
  /** Not run: every step of it runs already, at these places (`file:line, ...`). */
  sameAs?: string
}

/**
 * The commands shown in inline code spans (`isCommandSpan`), page by page. One whose steps all run
 * already, in a fenced block of any page or in an earlier span, is listed with `sameAs` and not run again
 * (`npm run bench:server` after `npm run bench`; `BENCH_QUICK=1 npm run bench:server` after
 * `npm run bench:server`); a client (curl, nc) only against its own page.
 */
export function inlineCommands(pages: string[]): InlineCommand[] {
  const ran = new Map<string, string>() // step -> where it runs; a client's step is keyed by its page
  const key = (file: string, command: string, step: string) => (isClient(command) ? `${file}\0${step}` : step)
  const first = (k: string, where: string) => ran.has(k) || ran.set(k, where)
  for (const file of pages)
    for (const block of blocks(file))
      for (const c of commandsOf(block)) {
        const plan = planFor(c.command, block, c.transcript)
        if (!plan || plan.kind === 'excluded' || plan.kind === 'input') continue
        const command = (plan.kind === 'exit' && plan.run) || c.command
        for (const step of steps(command)) first(key(file, command, step), `${file}:${c.line}`)
      }
  const out: InlineCommand[] = []
  for (const file of pages)
    for (const span of spans(file)) {
      if (!isCommandSpan(span.code)) continue
      const command = span.code.trim()
      const keys = steps(command).map((step) => key(file, command, step))
      const sameAs = keys.every((k) => ran.has(k))
        ? [...new Set(keys.map((k) => ran.get(k)))].join(', ')
        : undefined
      out.push({
        file,
        command,
        line: span.line,
        shown: '',
        transcript: false,
        ...(sameAs ? { sameAs } : {}),
      })
      const plan = planFor(command, { file, line: span.line, lang: 'inline', code: command, note: undefined })
      if (!sameAs && plan && plan.kind !== 'excluded') for (const k of keys) first(k, `${file}:${span.line}`)
    }
  return out
}
