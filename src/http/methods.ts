import { METHODS } from 'node:http';

/**
 * The request methods we accept: exactly the set Node's llhttp knows, so that anything we forward
 * is something a Node real server can parse too (the differential fuzz test holds us to this).
 * Interned, so the hot path compares and stores the same string instances.
 */
const KNOWN: ReadonlyMap<string, string> = new Map(METHODS.map((m) => [m, m]));

/** RFC 9110 §9.2.2: methods a client may retry automatically. */
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** Return the interned method for buf[0, len), or null when llhttp would not know it. */
export function internMethod(buf: Uint8Array, start: number, len: number): string | null {
  // The three methods that carry nearly all traffic, without allocating a string.
  const b0 = buf[start]!;
  if (len === 3 && b0 === 0x47 && buf[start + 1] === 0x45 && buf[start + 2] === 0x54) return 'GET';
  if (len === 4 && buf[start + 1] === 0x4f && buf[start + 2] === 0x53 && buf[start + 3] === 0x54 && b0 === 0x50) return 'POST';
  if (len === 4 && buf[start + 1] === 0x45 && buf[start + 2] === 0x41 && buf[start + 3] === 0x44 && b0 === 0x48) return 'HEAD';
  let s = '';
  for (let i = start; i < start + len; i++) s += String.fromCharCode(buf[i]!);
  return KNOWN.get(s) ?? null;
}

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}
