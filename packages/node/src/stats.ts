import type { ErrorCode } from '@proxyproto/core'

/** Envoy-style counters, per prepared server. */
export interface ProxyProtocolStats {
  /** Connections that reached the server. */
  connections: number
  /** Connections handed on with a PROXY command header, by version. */
  accepted: { v1: number; v2: number }
  /** Headers with the LOCAL command (health checks): served with the real peer address. */
  local: number
  /**
   * Trusted peers that closed (FIN or RST) without sending a byte before headerTimeout: TCP health checks.
   * Not refusals: not in `refused`, no event, no warning (unless reportHealthChecks is set).
   */
  healthChecks: number
  /** Connections served without a header (untrusted 'direct', or no header in optional mode). */
  direct: number
  /** Connections closed, by error code. */
  refused: Partial<Record<ErrorCode, number>>
  /** Connections still waiting for their header. */
  pending: number
}

export function createStats(): ProxyProtocolStats {
  return { connections: 0, accepted: { v1: 0, v2: 0 }, local: 0, healthChecks: 0, direct: 0, refused: {}, pending: 0 }
}
