/**
 * Header fields as rules and filters see them, whatever the wire: `MutableHeaders` is the
 * protocol-neutral view (names case-insensitive), `H1Headers` its implementation over an
 * HTTP/1.1 head as parsed (bytes plus a FieldTable of offsets): reading allocates only the value
 * returned, removing marks a field dropped, adding appends a line; the head writers
 * (src/http/rewrite.ts) then copy the kept lines and the additions in one pass, as they always did.
 */
import { equalsLower } from '../http/chars.ts';
import type { FieldTable } from '../http/fields.ts';

/** A header set filters may read and edit (request or response). Names are case-insensitive. */
export interface MutableHeaders {
  get(lowerName: string): string | null;
  getAll(lowerName: string): string[];
  remove(lowerName: string): void;
  /** Remove every field of that name, then add one. */
  set(name: string, value: string): void;
  add(name: string, value: string): void;
}

/** A rule's header changes, applied to a request or a response (src/rules compiles them). */
export interface HeaderEdits {
  apply(headers: MutableHeaders): void;
}

/**
 * `first`'s edits (a rule's), then the front end's own (HSTS, the client certificate's facts),
 * which so have the last word; `then` alone when there is no first.
 */
export function editsThen(first: HeaderEdits | null, then: HeaderEdits): HeaderEdits {
  if (first === null) return then;
  return {
    apply: (headers) => {
      first.apply(headers);
      then.apply(headers);
    },
  };
}

export class H1Headers implements MutableHeaders {
  #buf: Buffer;
  #fields: FieldTable;
  /** Lines added, each "Name: value" without CRLF. */
  readonly #added: Array<[string, string]> = [];

  constructor(buf: Buffer, fields: FieldTable) {
    this.#buf = buf;
    this.#fields = fields;
  }

  /**
   * The head this view reads moved (a response head copied out of worker scratch when a filter
   * held it): the same view goes on over the copy, so a filter that kept it edits what is sent.
   */
  moveTo(buf: Buffer, fields: FieldTable): void {
    this.#buf = buf;
    this.#fields = fields;
  }

  get(lowerName: string): string | null {
    const fields = this.#fields;
    for (let i = 0; i < fields.count; i++) {
      if (fields.drop[i] === 1 || !this.#named(i, lowerName)) continue;
      return this.#buf.toString('latin1', fields.valueStart[i]!, fields.valueEnd[i]!);
    }
    for (const [name, value] of this.#added) if (name.toLowerCase() === lowerName) return value;
    return null;
  }

  getAll(lowerName: string): string[] {
    const values: string[] = [];
    const fields = this.#fields;
    for (let i = 0; i < fields.count; i++) {
      if (fields.drop[i] === 1 || !this.#named(i, lowerName)) continue;
      values.push(this.#buf.toString('latin1', fields.valueStart[i]!, fields.valueEnd[i]!));
    }
    for (const [name, value] of this.#added) if (name.toLowerCase() === lowerName) values.push(value);
    return values;
  }

  remove(lowerName: string): void {
    const fields = this.#fields;
    for (let i = 0; i < fields.count; i++) if (this.#named(i, lowerName)) fields.drop[i] = 1;
    for (let i = this.#added.length - 1; i >= 0; i--) if (this.#added[i]![0].toLowerCase() === lowerName) this.#added.splice(i, 1);
  }

  set(name: string, value: string): void {
    this.remove(name.toLowerCase());
    this.#added.push([name, value]);
  }

  add(name: string, value: string): void {
    this.#added.push([name, value]);
  }

  /** The added fields, [name, value], in order. */
  added(): ReadonlyArray<readonly [string, string]> {
    return this.#added;
  }

  /** The added lines, CRLF-terminated, for the head writer. */
  additions(): string {
    let text = '';
    for (const [name, value] of this.#added) text += `${name}: ${value}\r\n`;
    return text;
  }

  #named(i: number, lowerName: string): boolean {
    const fields = this.#fields;
    const start = fields.lineStart[i]!;
    return fields.nameEnd[i]! - start === lowerName.length && equalsLower(this.#buf, start, lowerName.length, lowerName);
  }
}
