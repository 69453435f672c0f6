import { createRequire } from 'node:module'
import * as decode from './commands/decode.js'
import * as echo from './commands/echo.js'
import * as encode from './commands/encode.js'
import * as relay from './commands/relay.js'
import { formatError, formatErrorJson, isUserError, UsageError } from './errors.js'

interface Command {
  summary: string
  help: string
  run(args: string[]): Promise<number>
}

const COMMANDS: Record<string, Command> = { relay, echo, decode, encode }

export const HELP = `Usage: proxyproto <command> [options]

PROXY protocol (v1/v2) tools: send, receive, decode and encode headers.

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`)
  .join('\n')}

Options:
  -h, --help      show this help (proxyproto <command> --help for a command's)
  --version       print the version

Errors print "error CODE: message" on stderr and exit with status 1; with --json (every command
takes it) they print {"error": CODE, "message", "offset"} on one line instead.`

function version(): string {
  try {
    const require = createRequire(import.meta.url)
    return (require('../package.json') as { version: string }).version
  } catch {
    return 'unknown'
  }
}

/** Runs the command line (without `node` and the script); resolves with the exit status. Never throws. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv
  try {
    if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
      const topic = name === 'help' ? rest[0] : undefined
      const command = topic === undefined ? undefined : COMMANDS[topic]
      if (topic !== undefined && !command)
        throw unknown(topic)
        // No command at all is a usage error: the help goes to stderr and the status is 1.
      ;(name === undefined ? process.stderr : process.stdout).write(`${command ? command.help : HELP}\n`)
      return name === undefined ? 1 : 0
    }
    if (name === '--version' || name === '-V') {
      process.stdout.write(`${version()}\n`)
      return 0
    }
    const command = COMMANDS[name]
    if (!command) throw unknown(name)
    return await command.run(rest)
  } catch (err) {
    if (!isUserError(err)) throw err
    const help =
      (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_') && name && COMMANDS[name]
        ? `Run "proxyproto ${name} --help" for the options.`
        : undefined
    if (wantsJson(rest)) process.stderr.write(`${formatErrorJson(err, help)}\n`)
    else process.stderr.write(`${formatError(err)}\n${help ? `${help}\n` : ''}`)
    return 1
  }
}

/**
 * Read from the raw arguments, not from parseArgs: the error being reported may be parseArgs' own
 * (an unknown option next to --json). Arguments after "--" are operands.
 */
function wantsJson(args: readonly string[]): boolean {
  const end = args.indexOf('--')
  return (end === -1 ? args : args.slice(0, end)).includes('--json')
}

function unknown(name: string): UsageError {
  return new UsageError(
    `unknown command ${JSON.stringify(name)}; commands: ${Object.keys(COMMANDS).join(', ')}`,
    {
      hint: 'Run "proxyproto --help" for the list.',
    },
  )
}
