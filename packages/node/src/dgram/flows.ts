/**
 * The flow table: which proxy brought each client, so that a reply to the client goes back through it.
 * Keyed by the client's address and port; a Map kept in least-recently-used order (a touched flow is
 * moved to the end), bounded by maxFlows and by a TTL checked lazily (on lookup, and at the head on every
 * insert), so no timer runs and memory never exceeds the cap whatever the traffic.
 *
 * Clients whose flow ended are remembered in a second bounded LRU set (same cap): a reply to one of them
 * is dropped instead of going to the client directly, which would bypass the proxy and reveal the origin.
 */
import type { SppEndpoint } from '@proxyproto/core'
import type { Peer, ProxyInfo } from '../info.js'
import type { DatagramStats } from './stats.js'

export interface Flow {
  readonly clientKey: string
  /** The UDP peer that brought it (the proxy): replies go there. */
  proxy: Peer
  proxyKey: string
  /** SPP only: the proxy endpoint the header named, echoed in reply headers. */
  sppProxy: SppEndpoint | undefined
  /** What getProxyInfo(rinfo) returns for datagrams of this flow that came bare ('v2-first'). */
  info: ProxyInfo
  seen: number
}

export const flowKey = (address: string, port: number | string): string => `${address}|${port}`

export class FlowTable {
  readonly byClient = new Map<string, Flow>()
  /** 'v2-first' only: bare datagrams are matched to their flow by the proxy address and port they come from. */
  readonly byProxy: Map<string, Flow> | undefined
  readonly ended = new Map<string, true>()

  constructor(
    readonly ttl: number,
    readonly cap: number,
    readonly stats: DatagramStats,
    byProxy: boolean,
  ) {
    this.byProxy = byProxy ? new Map() : undefined
  }

  private live(flow: Flow | undefined, now: number): Flow | undefined {
    if (flow === undefined) return undefined
    if (now - flow.seen > this.ttl) {
      this.end(flow)
      return undefined
    }
    return flow
  }

  /** The live flow of a client, touched; undefined when none (or it just expired). */
  client(key: string, now: number): Flow | undefined {
    const flow = this.live(this.byClient.get(key), now)
    if (flow) this.touch(flow, now)
    return flow
  }

  /** The live flow a bare datagram from this proxy address and port belongs to ('v2-first'). */
  proxy(key: string, now: number): Flow | undefined {
    const flow = this.live(this.byProxy?.get(key), now)
    if (flow) this.touch(flow, now)
    return flow
  }

  /** True when the client had a flow that ended (and is still remembered). */
  hasEnded(key: string): boolean {
    return this.ended.has(key)
  }

  private touch(flow: Flow, now: number): void {
    flow.seen = now
    // Re-insert at the end: the Map's order is the eviction order.
    this.byClient.delete(flow.clientKey)
    this.byClient.set(flow.clientKey, flow)
  }

  /** Records (or refreshes) the flow of a client that just sent a header. */
  upsert(
    clientKey: string,
    proxy: Peer,
    sppProxy: SppEndpoint | undefined,
    info: ProxyInfo,
    now: number,
  ): Flow {
    const proxyKey = flowKey(proxy.address, proxy.port)
    let flow = this.byClient.get(clientKey)
    if (flow) {
      if (this.byProxy && flow.proxyKey !== proxyKey && this.byProxy.get(flow.proxyKey) === flow)
        this.byProxy.delete(flow.proxyKey)
      flow.proxy = proxy
      flow.proxyKey = proxyKey
      flow.sppProxy = sppProxy
      flow.info = info
      this.touch(flow, now)
    } else {
      // Expired flows at the head first, then the least recently used while at the cap.
      for (const head of this.byClient.values()) {
        if (this.byClient.size < this.cap && now - head.seen <= this.ttl) break
        this.end(head)
      }
      flow = { clientKey, proxy, proxyKey, sppProxy, info, seen: now }
      this.byClient.set(clientKey, flow)
      this.ended.delete(clientKey)
      const stats = this.stats
      stats.flows = this.byClient.size
      if (stats.flows > stats.flowsPeak) stats.flowsPeak = stats.flows
    }
    if (this.byProxy) {
      // The proxy reuses this address and port for another client: the old client's flow is over.
      const previous = this.byProxy.get(proxyKey)
      if (previous !== undefined && previous !== flow) this.end(previous)
      this.byProxy.set(proxyKey, flow)
    }
    return flow
  }

  private end(flow: Flow): void {
    if (this.byClient.get(flow.clientKey) !== flow) return
    this.byClient.delete(flow.clientKey)
    if (this.byProxy?.get(flow.proxyKey) === flow) this.byProxy.delete(flow.proxyKey)
    if (this.ended.size >= this.cap) this.ended.delete(this.ended.keys().next().value!)
    this.ended.set(flow.clientKey, true)
    this.stats.flows = this.byClient.size
    this.stats.flowsEnded++
  }
}
