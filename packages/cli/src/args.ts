/**
 * The opening every command shares: parse its flags (plus `--json` and `-h/--help`, which all take),
 * print its help for `--help`, refuse extra operands.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util'
import { UsageError } from './errors.js'

type Options = NonNullable<ParseArgsConfig['options']>

// --json: errors as JSON (main.ts reads it from the raw arguments); each command says what else it means.
const COMMON = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options

type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O & typeof COMMON; allowPositionals: true }>
>

export interface CommandArgsSpec<O extends Options> {
  /** The command's help, printed on stdout for --help. */
  help: string
  /** The command's own flags. */
  options: O
  /** How many operands it takes (default 0), and what to say when there are more. */
  operands?: { max: number; usage: string }
}

/**
 * The parsed flags and operands, or undefined when --help was given (the help has been printed; the
 * command returns 0).
 */
export function parseCommandArgs<O extends Options>(
  args: string[],
  spec: CommandArgsSpec<O>,
): Parsed<O> | undefined {
  const parsed = parseArgs({
    args,
    options: { ...spec.options, ...COMMON } as O & typeof COMMON,
    allowPositionals: true,
  }) as Parsed<O>
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(`${spec.help}\n`)
    return undefined
  }
  const max = spec.operands?.max ?? 0
  if (parsed.positionals.length > max)
    throw new UsageError(
      spec.operands?.usage ?? `unexpected argument ${JSON.stringify(parsed.positionals[max])}`,
    )
  return parsed
}

/** The value of a flag the command cannot run without: `required(values.listen, '--listen [HOST:]PORT')`. */
export function required<T>(value: T | undefined, flag: string): T {
  if (value === undefined) throw new UsageError(`${flag} is required`)
  return value
}
