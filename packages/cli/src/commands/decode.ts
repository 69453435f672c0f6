import { parseArgs } from 'node:util'
import { ErrorCodes, parse } from '@proxyproto/core'
import { UsageError } from '../errors.js'
import { decodeTlvsIn, headerFields, rawTlvsJson, tlvsJson } from '../header-json.js'

export const summary = 'decode a header given as hex or piped on stdin, print it as JSON'

export const help = `Usage: proxyproto decode [HEX | -] [--compact] [--json]

Decodes the PROXY header (v1 or v2) at the start of the input and prints it as JSON:
the header fields, decoded TLVs (tlvs), every TLV in wire order (rawTlvs), the header's
length in bytes and the number of bytes that follow it (trailing).

Input: a hex argument (spaces and colons allowed), or the raw bytes on stdin
(with "-", or with no argument when stdin is not a terminal).

Options:
  --compact     print the JSON on one line
  --json        print errors as JSON too (the output already is)
  -h, --help    show this help

Errors print "error CODE: message (at byte N)" to stderr and exit with status 1 (with --json:
{"error": CODE, "message", "offset"});
input that stops before the end of a header is an error too (ERR_PROXY_INPUT_INCOMPLETE,
at the byte where the input ends).

Examples:
  proxyproto decode 0d0a0d0a000d0a515549540a2111000cc00002070a000001c82201bb
  printf 'PROXY TCP4 1.2.3.4 10.0.0.1 5678 443\\r\\n' | proxyproto decode
  proxyproto encode --version 2 --source 1.2.3.4:5678 --destination 10.0.0.1:443 | proxyproto decode -`

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

function fromHex(text: string): Buffer {
  const clean = text.replace(/^0x/i, '').replace(/[\s:]/g, '')
  if (clean.length === 0) throw new UsageError('the hex argument is empty')
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(clean)) {
    throw new UsageError(
      `${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text)} is not an even number of hex digits`,
      {
        hint: 'Pass raw bytes on stdin instead: ... | proxyproto decode -',
      },
    )
  }
  return Buffer.from(clean, 'hex')
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      compact: { type: 'boolean' },
      json: { type: 'boolean' }, // errors as JSON (main.ts); the output is JSON anyway
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
  if (values.help) {
    process.stdout.write(`${help}\n`)
    return 0
  }
  if (positionals.length > 1) throw new UsageError('decode takes one argument: HEX or -')
  const arg = positionals[0]
  let input: Buffer
  if (arg === undefined || arg === '-') {
    if (arg === undefined && process.stdin.isTTY)
      throw new UsageError('give a header as hex, or pipe its bytes on stdin', { hint: help })
    input = await readStdin()
  } else {
    input = fromHex(arg)
  }

  const result = parse(input, { maxHeaderSize: 16 + 65535 })
  if (result.status === 'absent') {
    throw new UsageError(
      'the input does not start with a PROXY header (neither "PROXY " nor the v2 signature)',
      {
        code: ErrorCodes.HEADER_MISSING,
        offset: 0,
      },
    )
  }
  if (result.status === 'incomplete') {
    throw new UsageError(
      `the input ends after ${input.length} byte${input.length === 1 ? '' : 's'}, before the PROXY header is complete`,
      { code: ErrorCodes.INPUT_INCOMPLETE, offset: input.length },
    )
  }
  const { header, length } = result
  const json = {
    ...headerFields(header),
    tlvs: tlvsJson(decodeTlvsIn(header, input)),
    rawTlvs: rawTlvsJson(header.tlvs),
    length,
    trailing: input.length - length,
  }
  process.stdout.write(`${JSON.stringify(json, null, values.compact ? undefined : 2)}\n`)
  return 0
}
