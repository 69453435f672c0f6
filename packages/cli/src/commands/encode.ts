import { encode, type HeaderInput } from '@proxyproto/core'
import { parseEndpoint } from '../address.js'
import { parseCommandArgs } from '../args.js'
import { UsageError } from '../errors.js'
import { hex } from '../header-json.js'
import { parseTlvFlags, TLV_FLAG_HELP } from '../tlv-flags.js'

export const summary = 'write a header to stdout (raw bytes, or hex)'

export const help = `Usage: proxyproto encode --version 1|2 --source ADDR:PORT --destination ADDR:PORT [options]
       proxyproto encode --version 1|2 --local [options]

Writes one PROXY header to stdout: the raw bytes, or hex with --hex.
Addresses are IPv4 (1.2.3.4:5678) or IPv6 in brackets ([2001:db8::1]:443); both must be
of the same family.

Options:
  --version 1|2          header version (required)
  --source ADDR:PORT     the client's address
  --destination ADDR:PORT
                         the address the client connected to
  --local                a LOCAL header (v2; health checks) or "PROXY UNKNOWN" (v1), no addresses
  --tlv NAME=VALUE       add a TLV (repeatable, v2 only; see below)
  --crc32c               append a CRC32C TLV (v2 only)
  --hex                  print hex and a newline instead of raw bytes
  --json                 print {"hex", "length"} as JSON (not with --hex), and errors as JSON
  -h, --help             show this help

${TLV_FLAG_HELP}

Examples:
  proxyproto encode --version 1 --source 1.2.3.4:5678 --destination 10.0.0.1:443
  proxyproto encode --version 2 --source [2001:db8::1]:5678 --destination [2001:db8::2]:443 --hex
  proxyproto encode --version 2 --source 1.2.3.4:5678 --destination 10.0.0.1:443 \\
    --tlv authority=example.com --tlv 0xE5=hex:0102 --crc32c | nc 127.0.0.1 8080`

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, {
    help,
    options: {
      version: { type: 'string' },
      source: { type: 'string' },
      destination: { type: 'string' },
      local: { type: 'boolean' },
      tlv: { type: 'string', multiple: true },
      crc32c: { type: 'boolean' },
      hex: { type: 'boolean' },
    },
  })
  if (parsed === undefined) return 0
  const { values } = parsed
  if (values.hex && values.json)
    throw new UsageError('--hex and --json are two output formats: choose one (--json includes the hex)')
  if (values.version !== '1' && values.version !== '2') throw new UsageError('--version must be 1 or 2')
  const version = values.version === '1' ? 1 : 2
  const tlvs = parseTlvFlags(values.tlv, version)
  if (values.crc32c && version !== 2) throw new UsageError('--crc32c needs --version 2')

  let header: HeaderInput
  if (values.local) {
    if (values.source || values.destination)
      throw new UsageError('--local carries no addresses: drop --source and --destination')
    header = { version, command: 'LOCAL', tlvs }
  } else {
    if (!values.source || !values.destination)
      throw new UsageError('--source and --destination are required (or --local)')
    const source = parseEndpoint(values.source, '--source')
    const destination = parseEndpoint(values.destination, '--destination')
    if (source.family !== destination.family) {
      throw new UsageError(
        `--source is ${source.family} but --destination is ${destination.family}; a header carries one family`,
      )
    }
    header = {
      version,
      command: 'PROXY',
      family: source.family,
      transport: 'STREAM',
      source: { address: source.address, port: source.port },
      destination: { address: destination.address, port: destination.port },
      tlvs,
    }
  }
  const bytes = encode(header, { crc32c: values.crc32c === true })
  if (values.json) process.stdout.write(`${JSON.stringify({ hex: hex(bytes), length: bytes.length })}\n`)
  else if (values.hex) process.stdout.write(`${hex(bytes)}\n`)
  else process.stdout.write(bytes)
  return 0
}
