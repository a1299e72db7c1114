/**
 * Responses written by hand into one reusable buffer per worker: the header from the query (ID,
 * opcode, RD and CD copied; QR, AA and the RCODE set), the question copied byte for byte (the
 * client's case preserved, RFC 4343 section 4), then answer, authority and additional records
 * with name compression, then the OPT when the query had EDNS.
 *
 * Use: begin(query, queryBytes), records in section order, finish(limit) -> length of buf.
 *
 * Truncation (RFC 2181 section 9, RFC 6891 section 7): when the message does not fit `limit`,
 * the additional records go first (they are optional, no TC); if answer and authority still do
 * not fit, every section goes and TC is set, so the client retries over TCP rather than caching
 * part of an RRset. The OPT always stays.
 */
import { CompressionTable, addWrittenName, nameWireBound, writeName } from './names.ts';
import { optLength, writeOpt } from './opt.ts';
import type { ParsedQuery } from './query.ts';
import { Flag, HEADER_SIZE, MAX_MESSAGE_SIZE, QueryVerdict, RRClass, RRType, Rcode, type DnsRecord } from './types.ts';

/** The bytes one record can take beyond its rdata: owner name, TYPE, CLASS, TTL, RDLENGTH. */
const RECORD_FIXED = 10;
/** Room beyond the largest message so that writing one more record never runs past the end. */
const SLACK = 16;

const SECTION_ANSWER = 0;
const SECTION_AUTHORITY = 1;
const SECTION_ADDITIONAL = 2;

export class ResponseWriter {
  readonly buf: Buffer;
  /** The RCODE, extended ones included (16 = BADVERS goes out as 0 here and 1 in the OPT). */
  rcode: number = Rcode.NOERROR;
  readonly #table = new CompressionTable();
  readonly #capacity: number;
  #query: ParsedQuery | null = null;
  #authoritative = true;
  #pos = 0;
  #questionEnd = 0;
  #additionalStart = 0;
  #section = SECTION_ANSWER;
  readonly #counts = new Uint16Array(3);
  /** An answer or authority record did not fit the buffer: the message can only go truncated. */
  #overflow = false;
  /** An additional record did not fit: those can go without TC. */
  #additionalOverflow = false;

  constructor(capacity: number = MAX_MESSAGE_SIZE) {
    this.#capacity = capacity;
    this.buf = Buffer.alloc(capacity + SLACK);
  }

  /** Starts the response to `query`, parsed from `message`. */
  begin(query: ParsedQuery, message: Buffer, rcode: number = Rcode.NOERROR, authoritative = true): void {
    this.#query = query;
    this.rcode = rcode;
    this.#authoritative = authoritative;
    this.#table.reset();
    this.#counts.fill(0);
    this.#section = SECTION_ANSWER;
    this.#overflow = false;
    this.#additionalOverflow = false;
    const questionEnd = query.questionEnd;
    if (questionEnd > 0) {
      message.copy(this.buf, HEADER_SIZE, HEADER_SIZE, questionEnd);
      // Escaped text does not map index for index onto the wire: no compression against it.
      if (query.qname.indexOf('\\') < 0) addWrittenName(this.#table, query.qname, HEADER_SIZE);
    }
    this.#questionEnd = questionEnd > 0 ? questionEnd : HEADER_SIZE;
    this.#pos = this.#questionEnd;
    this.#additionalStart = -1;
  }

  answer(record: DnsRecord): void {
    this.#record(SECTION_ANSWER, record);
  }

  authority(record: DnsRecord): void {
    this.#record(SECTION_AUTHORITY, record);
  }

  additional(record: DnsRecord): void {
    this.#record(SECTION_ADDITIONAL, record);
  }

  /** Answer and authority records so far (to build templates; the additional ones follow). */
  get additionalStart(): number {
    return this.#additionalStart < 0 ? this.#pos : this.#additionalStart;
  }

  get counts(): Uint16Array {
    return this.#counts;
  }

  get questionEnd(): number {
    return this.#questionEnd;
  }

  /**
   * Ends the message, fitted to `limit` bytes (udpLimit(query) over UDP, 65535 over TCP), with
   * `ecsScopePrefix` in an echoed ECS option. Returns its length in `buf`.
   */
  finish(limit: number, ecsScopePrefix = 0): number {
    const query = this.#query;
    if (query === null) throw new Error('ResponseWriter.finish before begin');
    const buf = this.buf;
    const additionalStart = this.additionalStart;
    const opt = optLength(query);
    const counts = this.#counts;
    let pos = this.#pos;
    // An additional record that did not fit the buffer: the message cannot go whole.
    const end = this.#additionalOverflow ? Number.POSITIVE_INFINITY : pos;
    const fit = this.#overflow ? Fit.TRUNCATED : fitMessage(end, additionalStart, opt, limit, this.#authoritative || counts[SECTION_ADDITIONAL] === 0);
    if (fit === Fit.WITHOUT_ADDITIONAL) {
      pos = additionalStart;
      counts[SECTION_ADDITIONAL] = 0;
    } else if (fit === Fit.TRUNCATED) {
      pos = this.#questionEnd;
      counts.fill(0);
    }
    const rcode = this.rcode;
    let flags = Flag.QR | (query.flags & (0x7800 | Flag.RD | Flag.CD)) | (rcode & 0xf);
    if (this.#authoritative) flags |= Flag.AA;
    if (fit === Fit.TRUNCATED) flags |= Flag.TC;
    writeHeader(buf, query.id, flags, query.questionEnd > 0 ? 1 : 0, counts[0]!, counts[1]!, counts[2]! + (opt > 0 ? 1 : 0));
    if (opt > 0) pos = writeOpt(buf, pos, query, rcode, ecsScopePrefix);
    return pos;
  }

  #record(section: number, record: DnsRecord): void {
    if (section < this.#section) throw new Error('DNS records go in section order: answer, authority, additional');
    if (section === SECTION_ADDITIONAL && this.#additionalStart < 0) this.#additionalStart = this.#pos;
    this.#section = section;
    if (this.#overflow || this.#additionalOverflow) return;
    if (this.#pos + nameWireBound(record.name) + RECORD_FIXED + rdataBound(record) > this.#capacity) {
      if (section === SECTION_ADDITIONAL) this.#additionalOverflow = true;
      else this.#overflow = true;
      return;
    }
    this.#pos = writeRecord(this.buf, this.#pos, record, this.#table);
    this.#counts[section]!++;
  }
}

/** How a response fits the client's limit; the writer and the templates decide alike. */
export const Fit = { WHOLE: 0, WITHOUT_ADDITIONAL: 1, TRUNCATED: 2 } as const;
export type Fit = (typeof Fit)[keyof typeof Fit];

/**
 * Whole when it fits; else without the additional section when those records may go (RFC 2181
 * 9); else the question alone with TC set, for the client to retry over TCP. A referral's glue is
 * not optional (RFC 9471): without it the resolver cannot reach the delegated servers, so a
 * referral that cannot carry it goes out truncated instead. `end` and `additionalStart` count from
 * the message's start, `opt` is the OPT record's length.
 */
export function fitMessage(end: number, additionalStart: number, opt: number, limit: number, additionalOptional: boolean): Fit {
  if (end + opt <= limit) return Fit.WHOLE;
  if (additionalOptional && additionalStart + opt <= limit) return Fit.WITHOUT_ADDITIONAL;
  return Fit.TRUNCATED;
}

export function writeHeader(buf: Buffer, id: number, flags: number, qd: number, an: number, ns: number, ar: number): void {
  buf[0] = id >> 8;
  buf[1] = id & 0xff;
  buf[2] = flags >> 8;
  buf[3] = flags & 0xff;
  buf[4] = 0;
  buf[5] = qd;
  buf[6] = an >> 8;
  buf[7] = an & 0xff;
  buf[8] = ns >> 8;
  buf[9] = ns & 0xff;
  buf[10] = ar >> 8;
  buf[11] = ar & 0xff;
}

function rdataBound(record: DnsRecord): number {
  switch (record.type) {
    case 'A':
    case 'AAAA':
      return record.address.length;
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return nameWireBound(record.target);
    case 'MX':
      return 2 + nameWireBound(record.exchange);
    case 'SRV':
      return 6 + nameWireBound(record.target);
    case 'SOA':
      return nameWireBound(record.mname) + nameWireBound(record.rname) + 20;
    case 'CAA':
      return 2 + record.tag.length + record.value.length;
    case 'TXT': {
      let bytes = 1;
      for (const s of record.strings) bytes += s.length + Math.ceil(s.length / 255) + 1;
      return bytes;
    }
  }
}

const TYPE_CODES = { A: RRType.A, AAAA: RRType.AAAA, CNAME: RRType.CNAME, NS: RRType.NS, PTR: RRType.PTR, MX: RRType.MX, TXT: RRType.TXT, SRV: RRType.SRV, SOA: RRType.SOA, CAA: RRType.CAA } as const;

function writeRecord(buf: Buffer, start: number, record: DnsRecord, table: CompressionTable): number {
  let pos = writeName(buf, start, record.name, table);
  const type = TYPE_CODES[record.type];
  buf[pos] = type >> 8;
  buf[pos + 1] = type & 0xff;
  buf[pos + 2] = 0;
  buf[pos + 3] = RRClass.IN;
  buf.writeUInt32BE(record.ttl >>> 0, pos + 4);
  const rdlength = pos + 8;
  pos += RECORD_FIXED;
  const rdata = pos;
  switch (record.type) {
    case 'A':
    case 'AAAA':
      buf.set(record.address, pos);
      pos += record.address.length;
      break;
    case 'CNAME':
    case 'NS':
    case 'PTR':
      pos = writeName(buf, pos, record.target, table);
      break;
    case 'MX':
      buf.writeUInt16BE(record.preference, pos);
      pos = writeName(buf, pos + 2, record.exchange, table);
      break;
    case 'SRV':
      buf.writeUInt16BE(record.priority, pos);
      buf.writeUInt16BE(record.weight, pos + 2);
      buf.writeUInt16BE(record.port, pos + 4);
      // RFC 2782: "name compression is not to be used for this field".
      pos = writeName(buf, pos + 6, record.target, null);
      break;
    case 'SOA':
      pos = writeName(buf, pos, record.mname, table);
      pos = writeName(buf, pos, record.rname, table);
      buf.writeUInt32BE(record.serial >>> 0, pos);
      buf.writeUInt32BE(record.refresh >>> 0, pos + 4);
      buf.writeUInt32BE(record.retry >>> 0, pos + 8);
      buf.writeUInt32BE(record.expire >>> 0, pos + 12);
      buf.writeUInt32BE(record.minimum >>> 0, pos + 16);
      pos += 20;
      break;
    case 'TXT':
      pos = writeCharacterStrings(buf, pos, record.strings);
      break;
    case 'CAA':
      buf[pos] = record.flags;
      buf[pos + 1] = record.tag.length;
      buf.set(record.tag, pos + 2);
      pos += 2 + record.tag.length;
      buf.set(record.value, pos);
      pos += record.value.length;
      break;
  }
  const length = pos - rdata;
  buf[rdlength] = length >> 8;
  buf[rdlength + 1] = length & 0xff;
  return pos;
}

/** Each string as <character-string>s of at most 255 bytes (RFC 1035 section 3.3.14); '' is one empty string. */
function writeCharacterStrings(buf: Buffer, pos: number, strings: readonly Uint8Array[]): number {
  if (strings.length === 0) {
    buf[pos] = 0;
    return pos + 1;
  }
  for (const s of strings) {
    let from = 0;
    do {
      const chunk = Math.min(255, s.length - from);
      buf[pos++] = chunk;
      buf.set(s.subarray(from, from + chunk), pos);
      pos += chunk;
      from += chunk;
    } while (from < s.length);
  }
  return pos;
}

/** The RCODE to answer a verdict with (DROP has none: send nothing). */
export function verdictRcode(verdict: QueryVerdict): number {
  switch (verdict) {
    case QueryVerdict.FORMERR:
      return Rcode.FORMERR;
    case QueryVerdict.NOTIMP:
      return Rcode.NOTIMP;
    case QueryVerdict.BADVERS:
      return Rcode.BADVERS;
    default:
      return Rcode.NOERROR;
  }
}
