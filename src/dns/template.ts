/**
 * Pre-encoded answers: the fast path. An answer that does not depend on the client (a zone
 * record, or a GSLB name between health changes) is encoded once by the ResponseWriter for a
 * lower-case question; per query only the header is patched (ID, RD, CD), the client's question
 * is copied in front of the stored records, and the OPT is appended.
 *
 * This is byte for byte what the writer produces for the same query: the question has the same
 * length whatever its case, so every compression pointer into it stays valid, and the writer
 * compresses against the question's lower-case text too. When the health of a GSLB name changes,
 * build a new template and swap the reference; queries never re-encode.
 */
import { optLength, writeOpt } from './opt.ts';
import { ParsedQuery, parseQuery } from './query.ts';
import { Fit, fitMessage, ResponseWriter, writeHeader } from './response.ts';
import { Flag, HEADER_SIZE, MAX_MESSAGE_SIZE, QueryVerdict, RRClass, Rcode, type AnswerSections } from './types.ts';

export interface AnswerTemplate {
  /** Lower-case, as ParsedQuery.qname. */
  readonly qname: string;
  readonly qtype: number;
  readonly qnameWireLength: number;
  /** Header flags but RD and CD (and TC), RCODE's low 4 bits included. */
  readonly flags: number;
  readonly rcode: number;
  readonly answerCount: number;
  readonly authorityCount: number;
  readonly additionalCount: number;
  /** Every record after the question. */
  readonly records: Buffer;
  /** Where the additional records start in `records` (they are dropped first on truncation). */
  readonly additionalStart: number;
  /** The additional records may be dropped to fit: not a referral's glue (RFC 9471), which truncates instead. */
  readonly additionalOptional: boolean;
}

export interface TemplateOptions {
  rcode?: number;
  authoritative?: boolean;
}

let builder: { writer: ResponseWriter; query: ParsedQuery } | null = null;

/** Encodes the answer to (qname, qtype, class IN); qname as ParsedQuery gives it. */
export function buildTemplate(qname: string, qtype: number, sections: AnswerSections, options: TemplateOptions = {}): AnswerTemplate {
  builder ??= { writer: new ResponseWriter(), query: new ParsedQuery() };
  const { writer, query } = builder;
  const message = questionMessage(qname, qtype);
  if (parseQuery(message, query) !== QueryVerdict.OK || query.qname !== qname) {
    throw new Error(`cannot template an answer for ${JSON.stringify(qname)}: not a valid lower-case DNS name`);
  }
  writer.begin(query, message, options.rcode ?? Rcode.NOERROR, options.authoritative ?? true);
  for (const record of sections.answer) writer.answer(record);
  for (const record of sections.authority ?? []) writer.authority(record);
  for (const record of sections.additional ?? []) writer.additional(record);
  const additionalStart = writer.additionalStart;
  const end = writer.finish(MAX_MESSAGE_SIZE);
  const buf = writer.buf;
  if ((buf[2]! & (Flag.TC >> 8)) !== 0) throw new Error(`the answer for ${qname} does not fit a DNS message`);
  const questionEnd = writer.questionEnd;
  return {
    qname,
    qtype,
    qnameWireLength: query.qnameWireLength,
    flags: ((buf[2]! << 8) | buf[3]!) & ~(Flag.RD | Flag.CD),
    rcode: options.rcode ?? Rcode.NOERROR,
    answerCount: (buf[6]! << 8) | buf[7]!,
    authorityCount: (buf[8]! << 8) | buf[9]!,
    additionalCount: (buf[10]! << 8) | buf[11]!,
    records: Buffer.from(buf.subarray(questionEnd, end)),
    additionalStart: additionalStart - questionEnd,
    additionalOptional: options.authoritative ?? true,
  };
}

/** A query message holding only the question, for the builder. */
function questionMessage(qname: string, qtype: number): Buffer {
  const labels = qname.length === 0 ? [] : qname.split('.');
  const message = Buffer.alloc(HEADER_SIZE + qname.length + 2 + 4);
  message[5] = 1;
  let pos = HEADER_SIZE;
  for (const label of labels) {
    message[pos++] = label.length;
    pos += message.write(label, pos, 'latin1');
  }
  message[pos++] = 0;
  message.writeUInt16BE(qtype, pos);
  message.writeUInt16BE(RRClass.IN, pos + 2);
  return message.subarray(0, pos + 4);
}

/**
 * The template's answer to `query` (parsed from `message`, verdict OK) into `out`, fitted to
 * `limit` like ResponseWriter.finish. Returns the length, or -1 when the template is for another
 * question (name, type, class IN) and the caller must take the slow path.
 */
export function answerFromTemplate(
  template: AnswerTemplate,
  query: ParsedQuery,
  message: Buffer,
  out: Buffer,
  limit: number,
  ecsScopePrefix = 0,
): number {
  if (query.qtype !== template.qtype || query.qclass !== RRClass.IN || query.qnameWireLength !== template.qnameWireLength || query.qname !== template.qname) {
    return -1;
  }
  const questionEnd = query.questionEnd;
  message.copy(out, HEADER_SIZE, HEADER_SIZE, questionEnd);
  const opt = optLength(query);
  const records = template.records;
  let flags = template.flags | (query.flags & (Flag.RD | Flag.CD));
  let pos = questionEnd;
  let answers = template.answerCount;
  let authorities = template.authorityCount;
  let additionals = template.additionalCount;
  const fit = fitMessage(questionEnd + records.length, questionEnd + template.additionalStart, opt, limit, template.additionalOptional);
  if (fit === Fit.WHOLE) {
    pos += records.copy(out, questionEnd);
  } else if (fit === Fit.WITHOUT_ADDITIONAL) {
    pos += records.copy(out, questionEnd, 0, template.additionalStart);
    additionals = 0;
  } else {
    flags |= Flag.TC;
    answers = 0;
    authorities = 0;
    additionals = 0;
  }
  writeHeader(out, query.id, flags, 1, answers, authorities, additionals + (opt > 0 ? 1 : 0));
  if (opt > 0) pos = writeOpt(out, pos, query, template.rcode, ecsScopePrefix);
  return pos;
}
