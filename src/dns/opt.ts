/**
 * The OPT record of a response (RFC 6891 section 6.1.2): our UDP payload size, the extended
 * RCODE's upper 8 bits, version 0, the DO bit copied from the query (RFC 3225 section 3), and the
 * client's ECS option echoed with the scope prefix that says how widely the answer may be cached
 * (RFC 7871 section 7.2.1: family, source prefix and address as received).
 */
import type { ParsedQuery } from './query.ts';
import { EcsFamily, EdnsOption, OUR_UDP_PAYLOAD_SIZE, RRType } from './types.ts';

/** Root name, TYPE, CLASS, TTL, RDLENGTH. */
const OPT_FIXED = 11;
/** OPTION-CODE, OPTION-LENGTH, FAMILY, SOURCE, SCOPE. */
const ECS_FIXED = 8;

export function optLength(q: ParsedQuery): number {
  if (!q.hasEdns) return 0;
  return q.hasEcs ? OPT_FIXED + ECS_FIXED + ((q.ecsSourcePrefix + 7) >> 3) : OPT_FIXED;
}

/** Writes the OPT at `pos` and returns the end; `scopePrefix` is clamped to the family's bits. */
export function writeOpt(buf: Buffer, pos: number, q: ParsedQuery, rcode: number, scopePrefix: number): number {
  buf[pos] = 0;
  buf[pos + 1] = 0;
  buf[pos + 2] = RRType.OPT;
  buf[pos + 3] = OUR_UDP_PAYLOAD_SIZE >> 8;
  buf[pos + 4] = OUR_UDP_PAYLOAD_SIZE & 0xff;
  buf[pos + 5] = (rcode >> 4) & 0xff;
  buf[pos + 6] = 0;
  buf[pos + 7] = q.doBit ? 0x80 : 0;
  buf[pos + 8] = 0;
  if (!q.hasEcs) {
    buf[pos + 9] = 0;
    buf[pos + 10] = 0;
    return pos + OPT_FIXED;
  }
  const addressLength = (q.ecsSourcePrefix + 7) >> 3;
  const optionLength = 4 + addressLength;
  buf[pos + 9] = 0;
  buf[pos + 10] = 4 + optionLength;
  buf[pos + 11] = 0;
  buf[pos + 12] = EdnsOption.CLIENT_SUBNET;
  buf[pos + 13] = 0;
  buf[pos + 14] = optionLength;
  buf[pos + 15] = 0;
  buf[pos + 16] = q.ecsFamily;
  buf[pos + 17] = q.ecsSourcePrefix;
  const maxBits = q.ecsFamily === EcsFamily.IPV4 ? 32 : 128;
  buf[pos + 18] = scopePrefix < 0 ? 0 : scopePrefix > maxBits ? maxBits : scopePrefix;
  q.ecsAddress.copy(buf, pos + 19, 0, addressLength);
  return pos + 19 + addressLength;
}
