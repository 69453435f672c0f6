// Just enough DNS (RFC 1035 §4) for the example: read a query's question, answer it with TXT strings,
// and (for clients and tests) build a query and read a TXT answer. Every read is bounds-checked: a
// malformed packet throws, and the server ignores it.

const TYPE_TXT = 16
const CLASS_IN = 1

/** Reads a name of uncompressed labels at `at`; returns the name and the offset after it. */
function readName(buf, at) {
  const labels = []
  for (let hops = 0; hops < 128; hops++) {
    if (at >= buf.length) throw new Error('name runs past the packet')
    const len = buf[at]
    if (len === 0) return { name: labels.join('.'), end: at + 1 }
    if (len >= 0xc0) {
      // A compression pointer (answers use one to the question): follow it for the name, end after it.
      if (at + 1 >= buf.length) throw new Error('truncated pointer')
      const { name } = readName(buf, ((len & 0x3f) << 8) | buf[at + 1])
      return { name: [...labels, name].filter(Boolean).join('.'), end: at + 2 }
    }
    if (len > 63 || at + 1 + len > buf.length) throw new Error('bad label')
    labels.push(buf.toString('latin1', at + 1, at + 1 + len))
    at += 1 + len
  }
  throw new Error('name too long')
}

/** The query's id, flags and first question; `questionEnd` is where the question ends. */
export function parseQuery(buf) {
  if (buf.length < 12) throw new Error('shorter than a DNS header')
  const id = buf.readUInt16BE(0)
  const flags = buf.readUInt16BE(2)
  if (flags & 0x8000) throw new Error('not a query')
  if (buf.readUInt16BE(4) < 1) throw new Error('no question')
  const { name, end } = readName(buf, 12)
  if (end + 4 > buf.length) throw new Error('truncated question')
  return {
    id,
    flags,
    name,
    type: buf.readUInt16BE(end),
    class: buf.readUInt16BE(end + 2),
    questionEnd: end + 4,
  }
}

/** A response to `query` (from `packet`): TXT answers when it asked for TXT, no answers otherwise. */
export function answer(packet, query, texts) {
  const header = Buffer.alloc(12)
  header.writeUInt16BE(query.id, 0)
  // QR, opcode copied, AA, RD copied, RA; RCODE 0 (NOERROR)
  header.writeUInt16BE(0x8000 | (query.flags & 0x7800) | 0x0400 | (query.flags & 0x0100) | 0x0080, 2)
  header.writeUInt16BE(1, 4)
  const isTxt = query.type === TYPE_TXT && query.class === CLASS_IN
  header.writeUInt16BE(isTxt ? 1 : 0, 6)
  const question = packet.subarray(12, query.questionEnd)
  if (!isTxt) return Buffer.concat([header, question])
  const rdata = Buffer.concat(
    texts.map((t) => Buffer.concat([Buffer.of(Buffer.byteLength(t)), Buffer.from(t)])),
  )
  const rr = Buffer.alloc(12)
  rr.writeUInt16BE(0xc00c, 0) // the name: a pointer to the question's
  rr.writeUInt16BE(TYPE_TXT, 2)
  rr.writeUInt16BE(CLASS_IN, 4)
  rr.writeUInt32BE(0, 6) // TTL 0: the answer depends on who asks
  rr.writeUInt16BE(rdata.length, 10)
  return Buffer.concat([header, question, rr, rdata])
}

/** A TXT query for `name` with recursion desired. */
export function txtQuery(id, name) {
  const header = Buffer.alloc(12)
  header.writeUInt16BE(id, 0)
  header.writeUInt16BE(0x0100, 2)
  header.writeUInt16BE(1, 4)
  const labels = name
    .split('.')
    .filter(Boolean)
    .map((l) => Buffer.concat([Buffer.of(l.length), Buffer.from(l)]))
  const tail = Buffer.alloc(5)
  tail.writeUInt16BE(TYPE_TXT, 1)
  tail.writeUInt16BE(CLASS_IN, 3)
  return Buffer.concat([header, ...labels, tail])
}

/** The id and the TXT strings of the first answer of a response. */
export function readTxtAnswer(buf) {
  const id = buf.readUInt16BE(0)
  if (buf.readUInt16BE(6) < 1) return { id, texts: [] }
  let at = readName(buf, 12).end + 4
  at = readName(buf, at).end
  const rdlength = buf.readUInt16BE(at + 8)
  const end = at + 10 + rdlength
  const texts = []
  for (let p = at + 10; p < end; ) {
    const len = buf[p]
    texts.push(buf.toString('utf8', p + 1, p + 1 + len))
    p += 1 + len
  }
  return { id, texts }
}
