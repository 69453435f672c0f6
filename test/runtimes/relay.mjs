// The CLI's `proxyproto` command as a user of Deno or Bun runs it (a launcher importing the built package,
// since Deno resolves bare imports only for files under the project root). Not a test file.
import { main } from '@proxyproto/cli'

process.exitCode = await main(process.argv.slice(2))
