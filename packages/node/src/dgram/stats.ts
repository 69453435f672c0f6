import type { ErrorCode } from '@proxyproto/core'

/** Counters of a prepared dgram socket (a live object): datagrams in, flows, replies out. */
export interface DatagramStats {
  /** Datagrams received. */
  datagrams: number
  /** Datagrams delivered with a PROXY header (v2) or an SPP header, and bare ones delivered for a live 'v2-first' flow. */
  accepted: { v2: number; spp: number; flow: number }
  /** Datagrams with a LOCAL header (health checks): delivered with the real peer. */
  local: number
  /** Datagrams delivered as they came (untrusted 'direct', or no header in optional mode). */
  direct: number
  /** Datagrams dropped, by error code. */
  dropped: Partial<Record<ErrorCode, number>>
  /** Flows in the table now, the most there ever were (never above maxFlows), and how many were evicted or expired. */
  flows: number
  flowsPeak: number
  flowsEnded: number
  /** send() calls: routed to a client's proxy, sent unchanged (not a client), dropped (the client's flow ended). */
  replies: { routed: number; direct: number; dropped: number }
}

export function createDatagramStats(): DatagramStats {
  return {
    datagrams: 0,
    accepted: { v2: 0, spp: 0, flow: 0 },
    local: 0,
    direct: 0,
    dropped: {},
    flows: 0,
    flowsPeak: 0,
    flowsEnded: 0,
    replies: { routed: 0, direct: 0, dropped: 0 },
  }
}
