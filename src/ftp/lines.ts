/**
 * Splits an FTP control stream into lines (RFC 959: CR LF, bare LF tolerated), however the bytes
 * were cut into TCP segments. Text is latin1, which maps every byte to one character and back, so
 * a line that is passed through unchanged (UTF-8 file names, Telnet IAC bytes) keeps its bytes.
 */

/** Returned by LineBuffer.next when a line exceeds the limit before its end was seen. */
export const LINE_TOO_LONG = Symbol('line too long');

const LF = 0x0a;
const CR = 0x0d;

export class LineBuffer {
  readonly maxLength: number;
  #buf: Buffer = Buffer.alloc(0);
  #start = 0;

  constructor(maxLength: number) {
    this.maxLength = maxLength;
  }

  /** Bytes received and not yet returned as a line. */
  get buffered(): number {
    return this.#buf.length - this.#start;
  }

  push(chunk: Buffer): void {
    // The control channel carries a few hundred bytes per command: copying a partial line is cheaper than a chunk list.
    this.#buf = this.#start >= this.#buf.length ? chunk : Buffer.concat([this.#buf.subarray(this.#start), chunk]);
    this.#start = 0;
  }

  /** The next complete line without its line end; null until one is complete. */
  next(): string | null | typeof LINE_TOO_LONG {
    const buf = this.#buf;
    const start = this.#start;
    const lf = buf.indexOf(LF, start);
    if (lf === -1) return buf.length - start > this.maxLength ? LINE_TOO_LONG : null;
    const end = lf > start && buf[lf - 1] === CR ? lf - 1 : lf;
    if (end - start > this.maxLength) return LINE_TOO_LONG;
    this.#start = lf + 1;
    return buf.toString('latin1', start, end);
  }

  /** What is left after the last line end (a stream that ended mid-line), and forget it. */
  takeRest(): Buffer {
    const rest = this.#buf.subarray(this.#start);
    this.#buf = Buffer.alloc(0);
    this.#start = 0;
    return rest;
  }
}
