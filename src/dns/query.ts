/**
 * A DNS query off the wire, checked the way an authoritative server must (RFC 1035, RFC 6891
 * EDNS(0), RFC 7871 Client Subnet), into one reusable ParsedQuery per worker: no objects per
 * query, and the query name is a string only the first time it is seen (NameInterner).
 *
 * Verdicts, first match wins:
 * - DROP: shorter than a header, or QR set (a response: answering it invites reflection loops).
 * - NOTIMP: an opcode other than QUERY; the question is parsed when it can be, so that the answer
 *   can echo it, and so is an OPT (RFC 6891 section 7: the answer to a message with one carries
 *   one), but nothing is judged: a message that cannot be read that far is NOTIMP all the same.
 * - FORMERR: QDCOUNT != 1; a truncated section; a compression pointer in the question (nothing
 *   precedes it to point at); a label over 63 bytes (the 0x40 and 0x80 label types included); a
 *   name over 255 bytes; in the other sections, a pointer that does not point strictly backwards
 *   (so no loops); bytes after the last record ARCOUNT promised; OPT twice, outside the additional
 *   section or not owned by the root; a malformed EDNS option; an ECS option twice, of an unknown
 *   family, with a source prefix too long for it, with an address longer or shorter than the
 *   prefix needs or with bits set beyond it (RFC 7871 section 7.1.1).
 * - BADVERS: an OPT with a version above 0 (RFC 6891 section 6.1.3); its options are not read,
 *   since another version may lay them out otherwise.
 * It never throws: every read is bounds-checked first.
 */
import { FNV_OFFSET, FNV_PRIME, NameInterner } from './name-interner.ts';
import {
  EcsFamily,
  EdnsOption,
  Flag,
  HEADER_SIZE,
  MAX_LABEL_LENGTH,
  MAX_NAME_WIRE_LENGTH,
  MAX_UDP_PAYLOAD_SIZE,
  MIN_UDP_PAYLOAD_SIZE,
  OUR_UDP_PAYLOAD_SIZE,
  QueryVerdict,
  RRType,
} from './types.ts';

export { QueryVerdict } from './types.ts';

export class ParsedQuery {
  id = 0;
  /** The query's header flags word, as sent. */
  flags = 0;
  opcode = 0;
  rd = false;
  cd = false;
  /** Lower-case dotted text without the trailing dot; '' for the root. Bytes that are not
   * printable ASCII, '.' and '\' are escaped as in zone files (\DDD, \., \\). */
  qname = '';
  /** Wire bytes of the question name (1 for the root); 0 when there is no valid question. */
  qnameWireLength = 0;
  /** Where the question ends (it starts at 12); 0 when there is no valid question to echo. */
  questionEnd = 0;
  qtype = 0;
  qclass = 0;
  hasEdns = false;
  ednsVersion = 0;
  /** The requestor's UDP payload size, clamped to 512..4096; 512 without EDNS. */
  udpPayloadSize = MIN_UDP_PAYLOAD_SIZE;
  doBit = false;
  hasEcs = false;
  /** EcsFamily.IPV4 or IPV6 when hasEcs. */
  ecsFamily = 0;
  ecsSourcePrefix = 0;
  /** As the client sent it; RFC 7871 wants 0 in queries, and it is not used. */
  ecsScopePrefix = 0;
  /** The IPv4 ECS address as an unsigned 32-bit number (host bits zero). */
  ecsIPv4 = 0;
  /** The ECS address bytes, zero-padded to 16 (4 significant for IPv4). */
  readonly ecsAddress = Buffer.alloc(16);
  /** Where the OPT record starts and ends in the query (0 without one). */
  optStart = 0;
  optEnd = 0;
  messageLength = 0;
  readonly names = new NameInterner();
}

function reset(q: ParsedQuery): void {
  q.id = 0;
  q.flags = 0;
  q.opcode = 0;
  q.rd = false;
  q.cd = false;
  q.qname = '';
  q.qnameWireLength = 0;
  q.questionEnd = 0;
  q.qtype = 0;
  q.qclass = 0;
  q.hasEdns = false;
  q.ednsVersion = 0;
  q.udpPayloadSize = MIN_UDP_PAYLOAD_SIZE;
  q.doBit = false;
  q.hasEcs = false;
  q.ecsFamily = 0;
  q.ecsSourcePrefix = 0;
  q.ecsScopePrefix = 0;
  q.ecsIPv4 = 0;
  q.optStart = 0;
  q.optEnd = 0;
  q.messageLength = 0;
}

export function parseQuery(buf: Buffer, q: ParsedQuery): QueryVerdict {
  reset(q);
  const length = buf.length;
  q.messageLength = length;
  if (length < HEADER_SIZE) return QueryVerdict.DROP;
  const flags = (buf[2]! << 8) | buf[3]!;
  if ((flags & Flag.QR) !== 0) return QueryVerdict.DROP;
  q.id = (buf[0]! << 8) | buf[1]!;
  q.flags = flags;
  q.opcode = (flags >> 11) & 0xf;
  q.rd = (flags & Flag.RD) !== 0;
  q.cd = (flags & Flag.CD) !== 0;
  const qdcount = (buf[4]! << 8) | buf[5]!;
  const questionEnd = qdcount === 1 ? parseQuestion(buf, q) : -1;
  if (q.opcode !== 0) {
    if (questionEnd >= 0) parseSections(buf, q, questionEnd);
    return QueryVerdict.NOTIMP;
  }
  if (questionEnd < 0) return QueryVerdict.FORMERR;
  return parseSections(buf, q, questionEnd);
}

/** The answer, authority and additional sections from `questionEnd`: their verdict, and the OPT into `q`. */
function parseSections(buf: Buffer, q: ParsedQuery, questionEnd: number): QueryVerdict {
  const length = buf.length;
  let verdict: QueryVerdict = QueryVerdict.OK;
  let pos = questionEnd;
  for (let section = 0; section < 3; section++) {
    const count = (buf[6 + 2 * section]! << 8) | buf[7 + 2 * section]!;
    for (let i = 0; i < count; i++) {
      const nameEnd = skipName(buf, pos);
      if (nameEnd < 0 || nameEnd + 10 > length) return QueryVerdict.FORMERR;
      const type = (buf[nameEnd]! << 8) | buf[nameEnd + 1]!;
      const end = nameEnd + 10 + ((buf[nameEnd + 8]! << 8) | buf[nameEnd + 9]!);
      if (end > length) return QueryVerdict.FORMERR;
      if (type === RRType.OPT) {
        if (section !== 2 || q.hasEdns || nameEnd !== pos + 1) return QueryVerdict.FORMERR;
        q.optStart = pos;
        q.optEnd = end;
        const opt = parseOpt(buf, q, nameEnd, end);
        if (opt === QueryVerdict.FORMERR) return opt;
        verdict = opt;
      }
      pos = end;
    }
  }
  if (pos !== length) return QueryVerdict.FORMERR;
  return verdict;
}

/** The question at offset 12; returns where it ends, or -1. Fills qname, qtype, qclass. */
function parseQuestion(buf: Buffer, q: ParsedQuery): number {
  const length = buf.length;
  const text = q.names.scratch;
  let pos = HEADER_SIZE;
  let written = 0;
  for (;;) {
    if (pos >= length) return -1;
    const labelLength = buf[pos]!;
    if (labelLength === 0) break;
    if (labelLength > MAX_LABEL_LENGTH) return -1;
    const next = pos + 1 + labelLength;
    // The name's wire length counts the final zero byte too.
    if (next - HEADER_SIZE + 1 > MAX_NAME_WIRE_LENGTH || next > length) return -1;
    if (written > 0) text[written++] = 0x2e;
    for (let i = pos + 1; i < next; i++) {
      let c = buf[i]!;
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      if (c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c) {
        text[written++] = c;
      } else if (c === 0x2e || c === 0x5c) {
        text[written++] = 0x5c;
        text[written++] = c;
      } else {
        text[written++] = 0x5c;
        text[written++] = 0x30 + ((c / 100) | 0);
        text[written++] = 0x30 + (((c / 10) | 0) % 10);
        text[written++] = 0x30 + (c % 10);
      }
    }
    pos = next;
  }
  const nameEnd = pos + 1;
  if (nameEnd + 4 > length) return -1;
  let hash = FNV_OFFSET;
  for (let i = 0; i < written; i++) hash = Math.imul(hash ^ text[i]!, FNV_PRIME);
  q.qname = q.names.intern(written, hash);
  q.qnameWireLength = nameEnd - HEADER_SIZE;
  q.qtype = (buf[nameEnd]! << 8) | buf[nameEnd + 1]!;
  q.qclass = (buf[nameEnd + 2]! << 8) | buf[nameEnd + 3]!;
  q.questionEnd = nameEnd + 4;
  return q.questionEnd;
}

/**
 * Skips a name outside the question; returns where it ends, or -1. Pointers must point below
 * every pointer followed so far (and past the header): each jump lowers that ceiling, so a
 * loop cannot exist, and an encoder only ever points at names it wrote earlier.
 */
function skipName(buf: Buffer, start: number): number {
  const length = buf.length;
  let pos = start;
  let end = -1;
  let ceiling = start;
  let wire = 1;
  for (;;) {
    if (pos >= length) return -1;
    const labelLength = buf[pos]!;
    if (labelLength === 0) return end < 0 ? pos + 1 : end;
    if ((labelLength & 0xc0) === 0xc0) {
      if (pos + 1 >= length) return -1;
      const target = ((labelLength & 0x3f) << 8) | buf[pos + 1]!;
      if (end < 0) end = pos + 2;
      if (target >= ceiling || target < HEADER_SIZE) return -1;
      ceiling = target;
      pos = target;
      continue;
    }
    if (labelLength > MAX_LABEL_LENGTH) return -1;
    wire += labelLength + 1;
    if (wire > MAX_NAME_WIRE_LENGTH) return -1;
    pos += labelLength + 1;
  }
}

/** The OPT record whose TYPE is at `at` and whose RDATA ends at `end`. */
function parseOpt(buf: Buffer, q: ParsedQuery, at: number, end: number): QueryVerdict {
  const size = (buf[at + 2]! << 8) | buf[at + 3]!;
  q.hasEdns = true;
  q.udpPayloadSize = size < MIN_UDP_PAYLOAD_SIZE ? MIN_UDP_PAYLOAD_SIZE : size > MAX_UDP_PAYLOAD_SIZE ? MAX_UDP_PAYLOAD_SIZE : size;
  q.ednsVersion = buf[at + 5]!;
  q.doBit = (buf[at + 6]! & 0x80) !== 0;
  if (q.ednsVersion !== 0) return QueryVerdict.BADVERS;
  let pos = at + 10;
  while (pos < end) {
    if (pos + 4 > end) return QueryVerdict.FORMERR;
    const code = (buf[pos]! << 8) | buf[pos + 1]!;
    const optionLength = (buf[pos + 2]! << 8) | buf[pos + 3]!;
    const next = pos + 4 + optionLength;
    if (next > end) return QueryVerdict.FORMERR;
    if (code === EdnsOption.CLIENT_SUBNET && !parseClientSubnet(buf, q, pos + 4, optionLength)) return QueryVerdict.FORMERR;
    pos = next;
  }
  return QueryVerdict.OK;
}

/** RFC 7871 section 6; false makes it FORMERR (section 7.1.1: also a second ECS option). */
function parseClientSubnet(buf: Buffer, q: ParsedQuery, at: number, length: number): boolean {
  if (q.hasEcs || length < 4) return false;
  const family = (buf[at]! << 8) | buf[at + 1]!;
  const maxBits = family === EcsFamily.IPV4 ? 32 : family === EcsFamily.IPV6 ? 128 : -1;
  const source = buf[at + 2]!;
  if (maxBits < 0 || source > maxBits) return false;
  const addressLength = length - 4;
  if (addressLength !== (source + 7) >> 3) return false;
  const partialBits = source & 7;
  if (partialBits !== 0 && (buf[at + 4 + addressLength - 1]! & (0xff >> partialBits)) !== 0) return false;
  const address = q.ecsAddress;
  address.fill(0);
  buf.copy(address, 0, at + 4, at + 4 + addressLength);
  q.hasEcs = true;
  q.ecsFamily = family;
  q.ecsSourcePrefix = source;
  q.ecsScopePrefix = buf[at + 3]!;
  if (family === EcsFamily.IPV4) q.ecsIPv4 = ((address[0]! << 24) | (address[1]! << 16) | (address[2]! << 8) | address[3]!) >>> 0;
  return true;
}

/**
 * The UDP limit for the answer to this query (RFC 1035 section 4.2.1, RFC 6891 section 6.2.5):
 * the client's buffer size, but never more than the 1232 bytes we advertise. A larger datagram
 * fragments on ordinary paths, and fragments get lost or spoofed (RFC 9715); the client retries
 * over TCP instead, as BIND and Knot make it do by default.
 */
export function udpLimit(q: ParsedQuery): number {
  return q.hasEdns ? Math.min(q.udpPayloadSize, OUR_UDP_PAYLOAD_SIZE) : MIN_UDP_PAYLOAD_SIZE;
}
