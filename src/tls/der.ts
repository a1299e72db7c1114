/**
 * The little DER (X.690) that OCSP needs: read an element and its children, write the few types
 * a request (and a test responder's answer) is made of. Not a general ASN.1 library: single-byte
 * tags only (every tag in RFC 6960 and RFC 5280 is one), definite lengths only (DER has no other),
 * and lengths of at most 4 bytes (a 4 GiB element is no OCSP response).
 */

export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
} as const;

const CONSTRUCTED = 0x20;
const CONTEXT = 0x80;

/** `[n]` constructed (EXPLICIT, or IMPLICIT over a SEQUENCE): 0xa0 + n. */
export function contextTag(n: number, constructed = true): number {
  return CONTEXT | (constructed ? CONSTRUCTED : 0) | n;
}

export class DerError extends Error {
  override name = 'DerError';
}

/** One element: its tag, its content, and its whole encoding (what a hash or a signature covers). */
export interface DerElement {
  tag: number;
  content: Buffer;
  encoded: Buffer;
}

/** The element at `offset`. Throws DerError when the bytes are not DER this reader takes. */
export function readElement(bytes: Buffer, offset = 0): DerElement {
  if (offset + 2 > bytes.length) throw new DerError(`truncated element at byte ${offset}`);
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`multi-byte tag at byte ${offset}`);
  let length = bytes[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0) throw new DerError(`indefinite length at byte ${offset} (not DER)`);
    if (count > 4) throw new DerError(`length of ${count} bytes at byte ${offset}`);
    if (start + count > bytes.length) throw new DerError(`truncated length at byte ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[start + i]!;
    start += count;
  }
  const end = start + length;
  if (end > bytes.length) throw new DerError(`element at byte ${offset} runs past the end (${length} bytes declared)`);
  return { tag, content: bytes.subarray(start, end), encoded: bytes.subarray(offset, end) };
}

/** The elements of a constructed element's content, in order. */
export function children(element: DerElement): DerElement[] {
  if ((element.tag & CONSTRUCTED) === 0) throw new DerError(`tag 0x${element.tag.toString(16)} is not constructed`);
  const out: DerElement[] = [];
  for (let offset = 0; offset < element.content.length; ) {
    const child = readElement(element.content, offset);
    out.push(child);
    offset += child.encoded.length;
  }
  return out;
}

/** The one element `bytes` holds, with nothing after it. */
export function readWhole(bytes: Buffer): DerElement {
  const element = readElement(bytes);
  if (element.encoded.length !== bytes.length) throw new DerError(`${bytes.length - element.encoded.length} bytes after the element`);
  return element;
}

/** Throws unless `element` has `tag`; `what` names it in the message. */
export function expectTag(element: DerElement | undefined, tag: number, what: string): DerElement {
  if (element === undefined) throw new DerError(`${what} is missing`);
  if (element.tag !== tag) throw new DerError(`${what} has tag 0x${element.tag.toString(16)}, not 0x${tag.toString(16)}`);
  return element;
}

/** An OBJECT IDENTIFIER's content as dotted text: "1.3.6.1.5.5.7.48.1.1". */
export function oidText(content: Buffer): string {
  if (content.length === 0) throw new DerError('empty object identifier');
  const arcs: number[] = [];
  let value = 0;
  for (const byte of content) {
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER) throw new DerError('object identifier arc too large');
    if (byte & 0x80) continue;
    if (arcs.length === 0) arcs.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
    else arcs.push(value);
    value = 0;
  }
  return arcs.join('.');
}

/** GeneralizedTime "YYYYMMDDHHMMSS[.f]Z" (RFC 5280 4.1.2.5.2: UTC, seconds always present). */
export function generalizedTime(content: Buffer): Date {
  const text = content.toString('latin1');
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,9}))?Z$/.exec(text);
  if (m === null) throw new DerError(`not a GeneralizedTime: ${JSON.stringify(text)}`);
  const ms = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms));
}

/** A small non-negative INTEGER or ENUMERATED (a status, a version, a reason code). */
export function smallInteger(content: Buffer): number {
  if (content.length === 0 || content.length > 4 || content[0]! & 0x80) throw new DerError('not a small non-negative integer');
  return content.readUIntBE(0, content.length);
}

/** A BIT STRING's bits, whole bytes only (keys and signatures): its first content byte counts unused bits. */
export function bitStringBytes(content: Buffer): Buffer {
  if (content.length === 0 || content[0] !== 0) throw new DerError('a bit string of whole bytes was expected');
  return content.subarray(1);
}

// ---- writing ------------------------------------------------------------------------------------

/** Tag, DER length, content. */
export function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  let header: Buffer;
  if (n < 0x80) header = Buffer.from([tag, n]);
  else {
    const size = n <= 0xff ? 1 : n <= 0xffff ? 2 : n <= 0xffffff ? 3 : 4;
    header = Buffer.alloc(2 + size);
    header[0] = tag;
    header[1] = 0x80 | size;
    header.writeUIntBE(n, 2, size);
  }
  return Buffer.concat([header, body]);
}

export const sequence = (...items: Buffer[]): Buffer => tlv(Tag.SEQUENCE, ...items);
export const octetString = (bytes: Buffer): Buffer => tlv(Tag.OCTET_STRING, bytes);
export const derNull = (): Buffer => tlv(Tag.NULL);
export const explicit = (n: number, ...items: Buffer[]): Buffer => tlv(contextTag(n), ...items);
export const bitString = (bytes: Buffer): Buffer => tlv(Tag.BIT_STRING, Buffer.from([0]), bytes);

/** An INTEGER from its two's-complement content bytes, as a certificate's serial number is kept. */
export const integerBytes = (content: Buffer): Buffer => tlv(Tag.INTEGER, content);

/** A non-negative INTEGER or ENUMERATED from a number, in the fewest bytes. */
export function smallIntegerElement(value: number, tag: number = Tag.INTEGER): Buffer {
  const bytes: number[] = [];
  let v = value;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(tag, Buffer.from(bytes));
}

export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const values = [arcs[0]! * 40 + arcs[1]!, ...arcs.slice(2)];
  const bytes: number[] = [];
  for (const value of values) {
    const group: number[] = [value & 0x7f];
    for (let v = Math.floor(value / 128); v > 0; v = Math.floor(v / 128)) group.unshift((v & 0x7f) | 0x80);
    bytes.push(...group);
  }
  return tlv(Tag.OID, Buffer.from(bytes));
}

/** GeneralizedTime in whole seconds, UTC, as RFC 5280 asks. */
export function generalizedTimeElement(date: Date): Buffer {
  const text = date.toISOString().replace(/[-:T]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return tlv(Tag.GENERALIZED_TIME, Buffer.from(text, 'latin1'));
}
