/** PROXY headers as a load balancer would send them, for tests where this process plays the balancer. Not a test file. */
import { encode, tlv } from '@proxyproto/core'

/** The client a load balancer reports in our headers; the balancer itself is the test process on 127.0.0.1. */
export const CLIENT = { address: '203.0.113.7', port: 51234 }
export const CLIENT6 = { address: '2001:db8::7', port: 40000 }
const DESTINATION = { address: '192.0.2.1', port: 443 }
const DESTINATION6 = { address: '2001:db8::1', port: 443 }

export function v1(source = CLIENT, destination = DESTINATION): Buffer {
  return Buffer.from(encode({ version: 1, family: 'IPv4', source, destination }))
}

/** v2 PROXY over TCP; the family follows the source address. */
export function v2(
  source = CLIENT,
  destination?: { address: string; port: number },
  opts: { crc32c?: boolean } = {},
): Buffer {
  const family = source.address.includes(':') ? 'IPv6' : 'IPv4'
  destination ??= family === 'IPv6' ? DESTINATION6 : DESTINATION
  return Buffer.from(encode({ version: 2, family, source, destination }, opts))
}

/** v2 LOCAL (a balancer's health check). */
export const local = (): Buffer => Buffer.from(encode({ version: 2, command: 'LOCAL' }))

/**
 * v2 PROXY with an SSL TLV (0x20) whose client field is `client` (PP2_CLIENT_SSL = 0x01): what HAProxy
 * `send-proxy-v2-ssl` sends after terminating the client's TLS itself (client 0x01, a version sub-TLV).
 */
export function v2Ssl(client = 0x01, source = CLIENT): Buffer {
  const tlvs = [
    tlv.ssl({ client, verify: 0, tlvs: [{ type: 0x21, value: new TextEncoder().encode('TLSv1.3') }] }),
  ]
  return Buffer.from(encode({ version: 2, family: 'IPv4', source, destination: DESTINATION, tlvs }))
}
