/**
 * The request values rules read by name (headers, cookies, query parameters) and the client's
 * country, each read at most once per request however many conditions test it: the exchange's
 * header() walks the field table and country() searches the GeoIP tree, so a second read of
 * the same name must cost an array access, not another walk.
 *
 * Entries are stamped with the matcher's request generation instead of being cleared, so
 * starting a request costs nothing per name.
 */
import type { MatchInput } from './types.ts';

export type FieldSource = 'header' | 'cookie' | 'query';

/** One source's names, numbered at compile time, and their values for the current request. */
export class FieldCache {
  readonly #source: FieldSource;
  readonly #ids = new Map<string, number>();
  #names: string[] = [];
  #stamps = new Uint32Array(0);
  #values: (string | null)[] = [];

  constructor(source: FieldSource) {
    this.#source = source;
  }

  /** The id of `name` (as the source compares it: headers lower case), numbering it on first use. */
  idOf(name: string): number {
    let id = this.#ids.get(name);
    if (id === undefined) {
      id = this.#names.length;
      this.#ids.set(name, id);
      this.#names.push(name);
      this.#values.push(null);
      this.#stamps = new Uint32Array(this.#names.length);
    }
    return id;
  }

  /** Wipe the stamps when the generation counter wraps (after 2^32 requests). */
  resetStamps(): void {
    this.#stamps.fill(0);
  }

  read(id: number, generation: number, input: MatchInput): string | null {
    if (this.#stamps[id] === generation) return this.#values[id]!;
    const name = this.#names[id]!;
    const source = this.#source;
    const value = source === 'header' ? input.header(name) : source === 'cookie' ? input.cookie(name) : queryParameter(input.query, name);
    this.#values[id] = value;
    this.#stamps[id] = generation;
    return value;
  }
}

/**
 * The raw value of the first `name=value` (or bare `name`, value '') pair of `query`, split on
 * "&"; null when there is none. Allocates only the value it returns.
 */
export function queryParameter(query: string, name: string): string | null {
  const length = query.length;
  let start = 0;
  while (start < length) {
    let end = query.indexOf('&', start);
    if (end === -1) end = length;
    if (end > start && query.startsWith(name, start)) {
      const after = start + name.length;
      if (after === end) return '';
      if (after < end && query.charCodeAt(after) === 0x3d /* = */) return query.slice(after + 1, end);
    }
    start = end + 1;
  }
  return null;
}

/** ASCII letters compared without case, without allocating lower-case copies. */
export function equalsIgnoringAsciiCase(value: string, lowerExpected: string): boolean {
  if (value.length !== lowerExpected.length) return false;
  for (let i = 0; i < value.length; i++) {
    let c = value.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== lowerExpected.charCodeAt(i)) return false;
  }
  return true;
}
