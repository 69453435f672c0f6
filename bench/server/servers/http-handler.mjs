/** The trivial handler every HTTP variant runs: the body is the client address as the server sees it. */
export function handler(req, res) {
  const body = String(req.socket.remoteAddress)
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

/**
 * The same answer without asking the socket for its peer: for the instruction count's variant that shows what
 * the kernel's peer address (getpeername, which the handler above makes plain Node ask for) costs. Only right
 * where the client is known to be 127.0.0.1 (bench/server/clients/sequential.mjs without a header).
 */
export function handlerWithoutPeer(_req, res) {
  const body = '127.0.0.1'
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}
