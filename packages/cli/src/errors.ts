import { isProxyProtocolError } from '@proxyproto/core'

/** A mistake in how the command was used (or input it was given): printed without a stack trace. */
export class UsageError extends Error {
  /** A stable code (one of ErrorCodes, or a system code such as EADDRINUSE), printed before the message. */
  readonly code: string | undefined
  readonly offset: number | undefined
  /** What to do about it: the message's last line(s), kept apart for --json. */
  readonly hint: string | undefined

  constructor(message: string, options: { code?: string; offset?: number; hint?: string } = {}) {
    super(options.hint ? `${message}\n${options.hint}` : message)
    this.name = 'UsageError'
    this.code = options.code
    this.offset = options.offset
    this.hint = options.hint
  }
}

const SYSTEM_CODE = /^E[A-Z0-9_]+$/

/** True for errors a user can cause and fix: ours, the core's, parseArgs' and the system's (EADDRINUSE...). */
export function isUserError(err: unknown): boolean {
  if (err instanceof UsageError || isProxyProtocolError(err)) return true
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && (code.startsWith('ERR_PARSE_ARGS_') || SYSTEM_CODE.test(code))
}

/** `error CODE: message (at byte N)`: the offset is added unless the message already names it. */
export function formatError(err: unknown): string {
  const e = err as { code?: unknown; offset?: unknown; message?: unknown }
  const message = typeof e.message === 'string' ? e.message : String(err)
  const code = typeof e.code === 'string' && !e.code.startsWith('ERR_PARSE_ARGS_') ? e.code : undefined
  let line = code ? `error ${code}: ${message}` : `error: ${message}`
  if (typeof e.offset === 'number' && !message.includes(`(at byte ${e.offset})`))
    line += ` (at byte ${e.offset})`
  return line
}

/**
 * The --json form: one object on one line, {"error": CODE, "message", "offset"} (offset null when
 * none is known), "hint" added when there is one. Errors without a code of their own are ERR_USAGE.
 */
export function formatErrorJson(err: unknown, hint?: string): string {
  const e = err as { code?: unknown; offset?: unknown; message?: unknown }
  let message = typeof e.message === 'string' ? e.message : String(err)
  const own = err instanceof UsageError ? err.hint : undefined
  if (own !== undefined && message.endsWith(`\n${own}`)) message = message.slice(0, -own.length - 1)
  const hints = [own, hint].filter((h) => h !== undefined)
  return JSON.stringify({
    error: typeof e.code === 'string' ? e.code : 'ERR_USAGE',
    message,
    offset: typeof e.offset === 'number' ? e.offset : null,
    ...(hints.length > 0 && { hint: hints.join('\n') }),
  })
}
