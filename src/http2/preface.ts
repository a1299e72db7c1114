/**
 * Telling an HTTP/2 client from an HTTP/1.1 one on a cleartext port (h2c with prior knowledge,
 * RFC 9113 §3.3): an HTTP/2 client's first bytes are the 24-byte preface, which no valid
 * HTTP/1.1 request starts with ("PRI" with target "*" and version "HTTP/2.0").
 */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export type PrefaceVerdict = 'h2' | 'http/1.1' | 'more';

/** What the first bytes say: 'more' while they are a strict prefix of the preface. */
export function sniffPreface(bytes: Buffer): PrefaceVerdict {
  const n = Math.min(bytes.length, PREFACE.length);
  if (bytes.compare(PREFACE, 0, n, 0, n) !== 0) return 'http/1.1';
  return n === PREFACE.length ? 'h2' : 'more';
}

/** The first bytes of a connection, gathered until they tell; handed on whole to the engine chosen. */
export class PrefaceSniff {
  #bytes: Buffer = Buffer.alloc(0);

  feed(chunk: Buffer): PrefaceVerdict {
    this.#bytes = this.#bytes.length === 0 ? chunk : Buffer.concat([this.#bytes, chunk]);
    return sniffPreface(this.#bytes);
  }

  bytes(): Buffer {
    return this.#bytes;
  }
}
