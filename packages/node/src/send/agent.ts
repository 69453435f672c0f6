/**
 * `ProxyProtocolAgent`: an http/https Agent whose connections start with a PROXY header.
 *
 * Keep-alive is where hand-written senders go wrong: a pooled connection whose header named client A
 * must never carry a request for client B (caddyserver/caddy#7300). http.Agent pools by `getName()`, so
 * the name here includes the header's key: each distinct header (client, destination, TLVs, version)
 * gets its own pool, and `maxSockets`/`maxFreeSockets` apply per header exactly as they do per origin.
 */
import http from 'node:http'
import https from 'node:https'
import type net from 'node:net'
import type { Duplex } from 'node:stream'
import type tls from 'node:tls'
import { openWithHeader, wrapTls } from './connect.js'
import { type PreparedHeader, type ProxyHeaderInput, prepareHeader, resolveHeader } from './header.js'

/** The header for a request: fixed, or computed from the request's options. */
export type ProxyHeaderOption = ProxyHeaderInput | ((requestOptions: http.RequestOptions) => ProxyHeaderInput)

declare module 'node:http' {
  interface RequestOptions {
    /** With a ProxyProtocolAgent: the PROXY header of the connection this request is sent on. */
    proxyHeader?: ProxyHeaderInput
  }
}

export interface ProxyProtocolAgentOptions extends https.AgentOptions {
  /** The header for every request that does not give its own `proxyHeader`. */
  proxyHeader?: ProxyHeaderOption
  /** HTTPS: TLS over each connection, after the header. Default false (HTTP). */
  tls?: boolean
}

const kHeader = Symbol('proxyproto.sendHeader')

type AgentOptionsWithHeader = http.ClientRequestArgs & { [kHeader]?: PreparedHeader }

interface AgentInternals {
  totalSocketCount: number
  protocol: string
  defaultPort: number
  addRequest(req: http.ClientRequest, options: http.RequestOptions): void
}

/**
 * http(s).Agent whose every connection begins with a PROXY header. One class for both protocols:
 * `{ tls: true }` makes it an https agent (it is an `https.Agent` either way, so it passes wherever
 * one is expected); without it, it speaks plain HTTP like `http.Agent`.
 */
export class ProxyProtocolAgent extends https.Agent {
  readonly #proxyHeader: ProxyHeaderOption | undefined
  readonly #tls: boolean

  constructor(options: ProxyProtocolAgentOptions = {}) {
    // proxyHeader must not reach this.options: addRequest spreads those over each request's options,
    // where the agent-wide header would override the request's own.
    const { proxyHeader, tls = false, ...agentOptions } = options
    super(agentOptions)
    this.#tls = tls === true
    this.#proxyHeader = proxyHeader
    if (proxyHeader !== undefined && typeof proxyHeader !== 'function') prepareHeader(proxyHeader) // fail at setup
    if (!this.#tls) {
      const self = this as unknown as AgentInternals
      self.protocol = 'http:'
      self.defaultPort = 80
    }
  }

  /** The origin's pool name plus the header's key: one pool per header. */
  override getName(options: AgentOptionsWithHeader = {}): string {
    const base = this.#tls ? super.getName(options) : http.Agent.prototype.getName.call(this, options)
    const header = options[kHeader]
    return header === undefined ? base : `${base}:proxy=${header.key}`
  }

  /** The connection, returned at once (http.Agent then takes it as created); its header goes first. */
  override createConnection(
    options: AgentOptionsWithHeader,
    _callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex {
    // addRequest put the header in the options; http.Agent keeps them for a request it queued.
    const header = options[kHeader] ?? resolveHeader(this.#proxyHeader, options)
    const raw = openWithHeader(options as net.TcpNetConnectOpts, header)
    return this.#tls ? wrapTls(raw, options as tls.ConnectionOptions, options.host ?? undefined) : raw
  }

  /**
   * A freed socket is closed instead of kept idle while a request of another header waits for room under
   * `maxTotalSockets`; its close makes http.Agent open that request's connection. (http.Agent itself would
   * keep it idle and open the other connection anyway, above the bound.)
   */
  override keepSocketAlive(socket: net.Socket): boolean {
    if (this.#waitingForRoom()) return false
    // Typed void in @types/node; Node's returns whether the socket may be kept (false closes it).
    return (super.keepSocketAlive as (this: http.Agent, socket: net.Socket) => boolean).call(this, socket)
  }

  /**
   * Resolves the request's header before the pool is chosen. A header that cannot be encoded (or a
   * proxyHeader function that throws) fails the request with 'error' and opens no socket.
   *
   * A request is queued when the pool is full; with one pool per client, the room can be held by idle
   * connections of other clients, which http.Agent would leave open until they time out. One of them is
   * closed for each request that has to wait for room.
   */
  addRequest(req: http.ClientRequest, options: http.RequestOptions): void {
    let header: PreparedHeader
    try {
      header = resolveHeader(options.proxyHeader ?? this.#proxyHeader, options)
    } catch (err) {
      // What http.Agent itself does when createConnection fails: 'error' then 'close' on the request.
      ;(req as unknown as { onSocket(socket: null, err: unknown): void }).onSocket(null, err)
      return
    }
    const withHeader: AgentOptionsWithHeader = { ...options, [kHeader]: header }
    ;(https.Agent.prototype as unknown as AgentInternals).addRequest.call(this, req, withHeader)
    if (this.#waitingForRoom()) this.#closeIdle()
  }

  /** Is a request queued although its own pool is below maxSockets, that is, for want of total room? */
  #waitingForRoom(): boolean {
    const self = this as unknown as AgentInternals
    if (self.totalSocketCount < this.maxTotalSockets) return false
    for (const [name, queued] of Object.entries(this.requests)) {
      if (queued && queued.length > 0 && (this.sockets[name]?.length ?? 0) < this.maxSockets) return true
    }
    return false
  }

  #closeIdle(): void {
    for (const sockets of Object.values(this.freeSockets)) {
      const idle = sockets?.find((s) => !s.destroyed)
      if (idle) {
        idle.destroy()
        return
      }
    }
  }
}
