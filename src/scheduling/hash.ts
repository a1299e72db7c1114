/**
 * 32-bit FNV-1a over UTF-16 code units, followed by the murmur3 finaliser.
 *
 * FNV-1a alone is fast (one xor and one multiply per character, no allocation) but mixes its low
 * bits poorly for keys that differ only in their last characters, such as "10.0.0.1" and
 * "10.0.0.2"; the Maglev lookup reduces the hash modulo a prime near 2^16, so those low bits
 * decide the slot. The finaliser's two multiply-xorshift rounds give full avalanche for 5 more
 * operations per key. Not cryptographic: a client that picks its own address can aim at one
 * server, which source-IP affinity allows anyway.
 *
 * `seed` is folded into the offset basis so one function yields independent hashes (Maglev needs
 * two per server: offset and skip). `start` hashes a suffix of `text` without slicing it.
 */
export function hash32(text: string, seed: number, start = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = start; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
