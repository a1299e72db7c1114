/**
 * The RST_STREAM frames nghttp2 sends, read off our own output. nghttp2 resets a stream for a
 * fault of the client (malformed fields, a stream over the limit, a header list that decodes
 * too large, a window overflow) without telling JavaScript when the stream never got as far as
 * a 'stream' event; yet each such reset is work a client made us do (the "MadeYouReset" family
 * of rapid reset), and frees a stream slot the flood guard counted. Reading the frame headers of
 * what we write costs a few comparisons per frame, like the guard's reading of the client's.
 */
const FRAME_HEADER = 9;
const RST_STREAM = 3;
/** RST_STREAM's payload: the error code. */
const RST_PAYLOAD = 4;

export class SentResets {
  readonly #onReset: (stream: number, code: number) => void;
  readonly #header = Buffer.alloc(FRAME_HEADER);
  #headerHave = 0;
  #skip = 0;
  /** A RST_STREAM whose error code is still to read, and the bytes of it read so far. */
  #rstStream = -1;
  readonly #code = Buffer.alloc(RST_PAYLOAD);
  #codeHave = 0;

  constructor(onReset: (stream: number, code: number) => void) {
    this.#onReset = onReset;
  }

  scan(chunk: Buffer): void {
    let at = 0;
    const end = chunk.length;
    while (at < end) {
      if (this.#rstStream >= 0) {
        const step = Math.min(RST_PAYLOAD - this.#codeHave, end - at);
        chunk.copy(this.#code, this.#codeHave, at, at + step);
        this.#codeHave += step;
        at += step;
        if (this.#codeHave < RST_PAYLOAD) return;
        const stream = this.#rstStream;
        this.#rstStream = -1;
        this.#codeHave = 0;
        this.#onReset(stream, this.#code.readUInt32BE(0));
        continue;
      }
      if (this.#skip > 0) {
        const step = Math.min(this.#skip, end - at);
        this.#skip -= step;
        at += step;
        continue;
      }
      const step = Math.min(FRAME_HEADER - this.#headerHave, end - at);
      chunk.copy(this.#header, this.#headerHave, at, at + step);
      this.#headerHave += step;
      at += step;
      if (this.#headerHave < FRAME_HEADER) return;
      this.#headerHave = 0;
      const h = this.#header;
      const length = (h[0]! << 16) | (h[1]! << 8) | h[2]!;
      if (h[3] === RST_STREAM && length === RST_PAYLOAD) {
        this.#rstStream = h.readUInt32BE(5) & 0x7fffffff;
      } else {
        this.#skip = length;
      }
    }
  }
}
