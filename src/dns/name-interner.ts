/**
 * Query names as strings without a string per query: the parser writes the lower-case dotted
 * text into `scratch` and hashes it; a name asked before comes back as the same string. The
 * table is direct-mapped (a colliding name replaces the older one), so memory stays bounded
 * whatever names clients send: 512 slots of at most ~1 KiB text each.
 */

/** Power of two. An authoritative GSLB serves a few hundred names; a miss costs one string. */
const SLOTS = 512;
/** 255 wire bytes with every byte escaped as \DDD stay under this. */
export const MAX_NAME_TEXT = 1024;

export const FNV_OFFSET = 0x811c9dc5;
export const FNV_PRIME = 0x01000193;

export class NameInterner {
  readonly scratch = Buffer.alloc(MAX_NAME_TEXT);
  readonly #keys: Array<Buffer | undefined> = new Array<Buffer | undefined>(SLOTS).fill(undefined);
  readonly #values: string[] = new Array<string>(SLOTS).fill('');

  /** The string of scratch[0, length), whose FNV-1a hash is `hash`. */
  intern(length: number, hash: number): string {
    const slot = (hash >>> 0) & (SLOTS - 1);
    const key = this.#keys[slot];
    if (key !== undefined && key.length === length && this.scratch.compare(key, 0, length, 0, length) === 0) {
      return this.#values[slot]!;
    }
    const text = this.scratch.toString('latin1', 0, length);
    this.#keys[slot] = Buffer.from(this.scratch.subarray(0, length));
    this.#values[slot] = text;
    return text;
  }
}
