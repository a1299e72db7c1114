/**
 * Names onto the wire with compression (RFC 1035 section 4.1.4). The table remembers, per
 * message, where each suffix already written starts; a later name whose suffix matches (ASCII
 * case-insensitively, RFC 4343) ends in a pointer there instead. Entries are (string, index into
 * it) so that no suffix string is ever cut out: matching compares characters in place.
 * 64 entries cover a response of dozens of names; past that, names are written in full.
 */
import { MAX_LABEL_LENGTH, MAX_NAME_WIRE_LENGTH } from './types.ts';

const CAPACITY = 64;
/** A pointer has 14 bits of offset. */
const MAX_POINTER_TARGET = 0x3fff;

export class CompressionTable {
  readonly #names: string[] = new Array<string>(CAPACITY).fill('');
  readonly #starts = new Int32Array(CAPACITY);
  readonly #offsets = new Int32Array(CAPACITY);
  #count = 0;

  reset(): void {
    this.#count = 0;
  }

  /** `name` from index `start` sits at `offset` in the message. */
  add(name: string, start: number, offset: number): void {
    if (this.#count === CAPACITY || offset > MAX_POINTER_TARGET) return;
    this.#names[this.#count] = name;
    this.#starts[this.#count] = start;
    this.#offsets[this.#count] = offset;
    this.#count++;
  }

  /** The offset of a suffix equal to `name` from `start`, or -1. */
  find(name: string, start: number): number {
    const length = name.length - start;
    for (let i = 0; i < this.#count; i++) {
      const other = this.#names[i]!;
      const otherStart = this.#starts[i]!;
      if (other.length - otherStart !== length) continue;
      if (sameText(name, start, other, otherStart, length)) return this.#offsets[i]!;
    }
    return -1;
  }
}

function sameText(a: string, aStart: number, b: string, bStart: number, length: number): boolean {
  for (let i = 0; i < length; i++) {
    let x = a.charCodeAt(aStart + i);
    let y = b.charCodeAt(bStart + i);
    if (x === y) continue;
    if (x >= 0x41 && x <= 0x5a) x |= 0x20;
    if (y >= 0x41 && y <= 0x5a) y |= 0x20;
    if (x !== y) return false;
  }
  return true;
}

/**
 * Writes `name` (dotted, no trailing dot, '' for the root) at `pos`; returns the end. With a
 * table, the name is compressed against it and its suffixes are added; without one (SRV targets,
 * RFC 2782) it is written in full and not offered to later names either.
 *
 * Labels up to the last backslash carry zone-file escapes (\. is a dot inside the label): they
 * are decoded and written in full, since the table compares text and one label has several
 * escaped spellings. Only an RNAME such as john\.doe.example.com has one; its plain suffix
 * (example.com) still compresses. For every other name the cost is one lastIndexOf.
 */
export function writeName(buf: Buffer, pos: number, name: string, table: CompressionTable | null): number {
  const length = name.length;
  const lastEscape = name.lastIndexOf('\\');
  let start = 0;
  while (start < length) {
    if (start <= lastEscape) {
      start = writeEscapedLabel(buf, pos, name, start);
      pos += buf[pos]! + 1;
      continue;
    }
    if (table !== null) {
      const at = table.find(name, start);
      if (at >= 0) {
        buf[pos] = 0xc0 | (at >> 8);
        buf[pos + 1] = at & 0xff;
        return pos + 2;
      }
      table.add(name, start, pos);
    }
    let dot = name.indexOf('.', start);
    if (dot < 0) dot = length;
    buf[pos++] = dot - start;
    for (let i = start; i < dot; i++) buf[pos++] = name.charCodeAt(i);
    start = dot + 1;
  }
  buf[pos] = 0;
  return pos + 1;
}

/** The label of `name` at `start`, escapes decoded, with its length byte at `pos`; returns where the next label starts. */
function writeEscapedLabel(buf: Buffer, pos: number, name: string, start: number): number {
  let out = pos + 1;
  let i = start;
  while (i < name.length) {
    const c = name.charCodeAt(i);
    if (c === 0x2e) break;
    if (c !== 0x5c) {
      buf[out++] = c;
      i++;
    } else if (isDigit(name.charCodeAt(i + 1))) {
      buf[out++] = Number(name.slice(i + 1, i + 4));
      i += 4;
    } else {
      buf[out++] = name.charCodeAt(i + 1);
      i += 2;
    }
  }
  buf[pos] = out - pos - 1;
  return i + 1;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Adds the labels of a name already in the message at `offset`, written from `name`. */
export function addWrittenName(table: CompressionTable, name: string, offset: number): void {
  if (name.length === 0) return;
  table.add(name, 0, offset);
  for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) table.add(name, dot + 1, offset + dot + 1);
}

/**
 * True for a name writeName can carry: labels of 1-63 bytes of Latin-1 text, 255 bytes on the
 * wire at most, no trailing dot ('' is the root). A backslash starts an escape: \DDD (a byte,
 * three decimal digits up to 255) or \ and any other character (that character, '.' included).
 */
export function isValidDnsName(name: string): boolean {
  if (name.length === 0) return true;
  let wire = 1;
  let label = 0;
  let i = 0;
  while (i <= name.length) {
    const c = i < name.length ? name.charCodeAt(i) : 0x2e;
    if (c > 0xff) return false;
    if (c === 0x2e) {
      if (label === 0 || label > MAX_LABEL_LENGTH) return false;
      wire += label + 1;
      label = 0;
      i++;
      continue;
    }
    if (c !== 0x5c) i++;
    else if (!isDigit(name.charCodeAt(i + 1))) {
      if (i + 1 >= name.length || name.charCodeAt(i + 1) > 0xff) return false;
      i += 2;
    } else {
      const digits = name.slice(i + 1, i + 4);
      if (!/^[0-9]{3}$/.test(digits) || Number(digits) > 0xff) return false;
      i += 4;
    }
    label++;
  }
  return wire <= MAX_NAME_WIRE_LENGTH;
}

/** The most bytes `name` can take written in full (an escape takes fewer bytes than its text). */
export function nameWireBound(name: string): number {
  return name.length + 2;
}
