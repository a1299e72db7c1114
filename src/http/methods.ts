import { METHODS } from 'node:http';

/**
 * The request method is an extensible token (RFC 9110 §9.1): we forward every one, case-sensitive
 * ("get" is a method of its own), as HAProxy and nginx do. Exchange's Outlook Anywhere, for one,
 * sends RPC_IN_DATA and RPC_OUT_DATA, which Node's list does not hold.
 *
 * The methods Node knows (its llhttp list) are interned: the hot path compares and stores the same
 * string instances and makes none. Any other token gets a fresh string per request and nothing is
 * kept, so a client sending random tokens cannot grow our memory. That costs little where such
 * methods live: an Outlook Anywhere channel is one RPC_IN_DATA or RPC_OUT_DATA request with a
 * Content-Length of up to 1 GiB, held for the whole session.
 */
const KNOWN_BY_LENGTH: string[][] = [];
for (const m of METHODS) (KNOWN_BY_LENGTH[m.length] ??= []).push(m);

/** RFC 9110 §9.2.2: methods a client may retry automatically. Unknown methods are not among them. */
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * The method in buf[start, start + len), which the caller has checked is 1*tchar: the interned
 * string when Node knows it, else a new one.
 */
export function internMethod(buf: Buffer, start: number, len: number): string {
  // The three methods that carry nearly all traffic, with the fewest comparisons.
  const b0 = buf[start]!;
  if (len === 3 && b0 === 0x47 && buf[start + 1] === 0x45 && buf[start + 2] === 0x54) return 'GET';
  if (len === 4 && buf[start + 1] === 0x4f && buf[start + 2] === 0x53 && buf[start + 3] === 0x54 && b0 === 0x50) return 'POST';
  if (len === 4 && buf[start + 1] === 0x45 && buf[start + 2] === 0x41 && buf[start + 3] === 0x44 && b0 === 0x48) return 'HEAD';
  const candidates = KNOWN_BY_LENGTH[len];
  if (candidates !== undefined) {
    for (let c = 0; c < candidates.length; c++) {
      const m = candidates[c]!;
      let i = 0;
      while (i < len && buf[start + i] === m.charCodeAt(i)) i++;
      if (i === len) return m;
    }
  }
  return buf.toString('latin1', start, start + len);
}

/** Does Node's own parser know this method? (The rest reach Node real servers as 400s.) */
export function isKnownMethod(method: string): boolean {
  const candidates = KNOWN_BY_LENGTH[method.length];
  return candidates !== undefined && candidates.includes(method);
}

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}
