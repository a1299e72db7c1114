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
 */
export function writeName(buf: Buffer, pos: number, name: string, table: CompressionTable | null): number {
  const length = name.length;
  let start = 0;
  while (start < length) {
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

/** Adds the labels of a name already in the message at `offset`, written from `name`. */
export function addWrittenName(table: CompressionTable, name: string, offset: number): void {
  if (name.length === 0) return;
  table.add(name, 0, offset);
  for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) table.add(name, dot + 1, offset + dot + 1);
}

/**
 * True for a name writeName can carry: labels of 1-63 bytes of Latin-1 text without escapes,
 * 255 bytes on the wire at most, no trailing dot ('' is the root).
 */
export function isValidDnsName(name: string): boolean {
  if (name.length === 0) return true;
  if (name.length + 2 > MAX_NAME_WIRE_LENGTH) return false;
  let labelStart = 0;
  for (let i = 0; i <= name.length; i++) {
    const c = i < name.length ? name.charCodeAt(i) : 0x2e;
    if (c > 0xff || c === 0x5c) return false;
    if (c !== 0x2e) continue;
    const label = i - labelStart;
    if (label === 0 || label > MAX_LABEL_LENGTH) return false;
    labelStart = i + 1;
  }
  return true;
}

/** The most bytes `name` can take written in full. */
export function nameWireBound(name: string): number {
  return name.length + 2;
}
