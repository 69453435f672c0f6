export { createParser, parse, resolveParseOptions } from './parse.js'
export type { Parser, ResolvedParseOptions } from './parse.js'
export { encode, tlv } from './encode.js'
export type { HeaderInput } from './encode.js'
export { crc32c } from './crc32c.js'
export { encodeSpp, parseSpp, SPP_HEADER_LENGTH, SPP_MAGIC } from './spp.js'
export type { SppEndpoint, SppEndpointInput, SppHeader, SppParseResult } from './spp.js'
export { canonicalAddress } from './address.js'
export {
  decodeAlpn,
  decodeAuthority,
  decodeAwsVpceId,
  decodeAzureLinkId,
  decodeCrc32c,
  decodeGcpPscConnectionId,
  decodeNetns,
  decodeSsl,
  decodeTlvs,
  decodeUniqueId,
} from './tlv.js'
export type { DecodedTlvs, InvalidTlv, SslInfo } from './tlv.js'
export { tlvToJSON } from './tlv-json.js'
export type { TlvJson } from './tlv-json.js'
export { ErrorCodes, ProxyProtocolError, isProxyProtocolError } from './errors.js'
export type { ErrorCode, ProxyProtocolErrorOptions } from './errors.js'
export {
  DEFAULT_MAX_HEADER_SIZE,
  MAX_HEADER_SIZE_LIMIT,
  SslClient,
  SslSubType,
  TlvType,
  V1_MAX_LENGTH,
  V2_SIGNATURE,
} from './constants.js'
export type * from './types.js'
