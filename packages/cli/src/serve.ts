/** How every long-running command (relay, echo; TCP and UDP) runs once started: ready line, logs, signals. */

/** Resolves with the signal's name on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      process.removeListener('SIGINT', on)
      process.removeListener('SIGTERM', on)
      resolve(signal)
    }
    process.on('SIGINT', on)
    process.on('SIGTERM', on)
  })
}

/**
 * Prints "listening on HOST:PORT" on stdout, serves until SIGINT/SIGTERM, closes; resolves with the exit
 * status (0). With `sayClosing`, "SIGTERM: closing" goes to stderr first (not in --json mode: stderr then
 * holds only JSON lines).
 */
export async function serveUntilSignal(
  running: { address: string; close(): Promise<void> },
  options: { sayClosing?: boolean } = {},
): Promise<number> {
  // Handlers first: a test (or a supervisor) may signal as soon as it reads the line.
  const stopped = untilSignal()
  process.stdout.write(`listening on ${running.address}\n`)
  const signal = await stopped
  if (options.sayClosing) process.stderr.write(`${signal}: closing\n`)
  await running.close()
  return 0
}

/** An onLog that writes one line per entry on stderr: JSON with --json, else `format`'s text. */
export function stderrLog<E>(json: boolean, format: (entry: E) => string): (entry: E) => void {
  return (entry) => process.stderr.write(`${json ? JSON.stringify(entry) : format(entry)}\n`)
}

/** An onRecord that prints each record as one JSON line on stdout (echo's output). */
export function stdoutRecord(record: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(record)}\n`)
}
