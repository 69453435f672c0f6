/** The trivial handler every HTTP variant runs: the body is the client address as the server sees it. */
export function handler(req, res) {
  const body = String(req.socket.remoteAddress)
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}
