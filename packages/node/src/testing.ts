/**
 * `@proxyproto/node/testing`: clients that behave like a load balancer, for testing an app prepared with
 * `withProxyProtocol` (or an adapter). Such a server refuses connections without a header, so supertest,
 * `fetch` and the `ws` client need one of these:
 *
 *   request(server).get('/').agent(testAgent({ client: '203.0.113.7' }))      // supertest
 *   new WebSocket(url, { agent: testAgent({ client: '203.0.113.7' }) })         // ws
 *   fetch(url, { dispatcher: new undici.Agent({ connect: testConnector() }) }) // fetch / undici
 *   testConnect(port, { client: '203.0.113.7' })                               // a raw socket
 *
 * The test process connects from loopback, which the default `trust` accepts.
 */
import type net from 'node:net'
import type tls from 'node:tls'
import type { Tlv } from '@proxyproto/core'
import { ProxyProtocolAgent, type ProxyProtocolAgentOptions } from './send/agent.js'
import { connect } from './send/connect.js'
import { proxyProtocolConnector } from './send/connector.js'
import {
  type EndpointInput,
  type ProxyHeaderInput,
  type ProxyHeaderShorthand,
  parseEndpoint,
} from './send/header.js'

/** The client the helpers name by default: 203.0.113.7 (TEST-NET-3, RFC 5737), port 0. */
export const TEST_CLIENT = '203.0.113.7'

export interface TestClientOptions {
  /**
   * The client the "balancer" reports: `'203.0.113.7'` (port 0), `'203.0.113.7:51234'`,
   * `'[2001:db8::7]:51234'` or `{ address, port }`. Default `TEST_CLIENT`.
   */
  client?: EndpointInput
  /** Header version. Default 2. */
  version?: 1 | 2
  /** The destination the header names. Default: the address the connection reaches. */
  destination?: EndpointInput
  /** v2 TLVs, e.g. `[tlv.authority('example.com')]`. */
  tlvs?: readonly Tlv[]
  /** v2: append a CRC32C TLV. */
  crc32c?: boolean
  /**
   * Send a LOCAL header instead (v2; v1 `PROXY UNKNOWN`): what a balancer's health check sends. The
   * server then reports the real peer, this process. `client`, `destination` and `tlvs` are ignored.
   */
  local?: boolean
  /**
   * TLS after the header (https, wss). The server's certificate is not verified unless you pass
   * `rejectUnauthorized: true` (test certificates are self-signed).
   */
  tls?: boolean
}

/** The header the helpers send for `options`. */
export function testHeader(options: TestClientOptions = {}): ProxyHeaderInput {
  if (options.local)
    return options.version === 1 ? { version: 1, family: 'UNSPEC' } : { version: 2, command: 'LOCAL' }
  const header: ProxyHeaderShorthand = {
    version: options.version ?? 2,
    source: parseEndpoint(options.client ?? TEST_CLIENT, 'client', 0),
  }
  if (options.destination !== undefined) header.destination = options.destination
  if (options.tlvs !== undefined) header.tlvs = options.tlvs
  if (options.crc32c !== undefined) header.crc32c = options.crc32c
  return header
}

const splitClient = <T extends TestClientOptions>(
  options: T,
): [TestClientOptions, Omit<T, keyof TestClientOptions>] => {
  const { client, version, destination, tlvs, crc32c, local, tls, ...rest } = options
  return [{ client, version, destination, tlvs, crc32c, local, tls }, rest]
}

/**
 * An http/https Agent (for supertest's `.agent()`, `http.request`, the `ws` client) whose connections
 * start with a PROXY header naming `client`. Other options go to the Agent (`keepAlive`, `maxSockets`, ...).
 */
export function testAgent(
  options: TestClientOptions & Omit<ProxyProtocolAgentOptions, 'proxyHeader' | 'tls'> = {},
): ProxyProtocolAgent {
  const [client, agentOptions] = splitClient(options)
  return new ProxyProtocolAgent({
    ...(client.tls ? { rejectUnauthorized: false } : {}),
    ...agentOptions,
    tls: client.tls === true,
    proxyHeader: testHeader(client),
  })
}

/** undici's `connect` option: `new undici.Agent({ connect: testConnector({ client }) })` for `fetch`. */
export function testConnector(
  options: TestClientOptions & { rejectUnauthorized?: boolean } = {},
): ReturnType<typeof proxyProtocolConnector> {
  const [client, rest] = splitClient(options)
  return proxyProtocolConnector({ rejectUnauthorized: false, ...rest, proxyHeader: testHeader(client) })
}

/**
 * A raw connection to 127.0.0.1:`port` (or `host`) that starts with the header; with `tls`, a TLSSocket.
 * Resolves once connected (TLS: once the handshake is done).
 */
export function testConnect(
  port: number,
  options: TestClientOptions &
    Omit<net.TcpNetConnectOpts, 'port'> &
    Omit<tls.ConnectionOptions, 'port' | 'host' | 'socket'> = {},
): Promise<net.Socket> {
  const [client, rest] = splitClient(options)
  const { host = '127.0.0.1', ...connectOptions } = rest as { host?: string } & Record<string, unknown>
  const proxyHeader = testHeader(client)
  const socket = client.tls
    ? connect({
        ...connectOptions,
        host,
        port,
        proxyHeader,
        tls: { rejectUnauthorized: false, ...connectOptions },
      })
    : connect({ ...connectOptions, host, port, proxyHeader })
  return new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.once(client.tls ? 'secureConnect' : 'connect', () => {
      socket.off('error', reject)
      resolve(socket)
    })
  })
}
