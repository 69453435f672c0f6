#!/usr/bin/env node
import { main } from './main.js'

// `proxyproto encode ... | head -c 1`: a closed stdout is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw err
})

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status
  },
  (err: unknown) => {
    // Not a user error: a bug. Show everything.
    console.error(err)
    process.exit(70)
  },
)
