import { CR, FIELD_VALUE, HEX_VALUE, LF, TCHAR } from './chars.ts';

const S = {
  SIZE_START: 0,
  SIZE: 1,
  EXTENSION: 2,
  SIZE_LF: 3,
  DATA: 4,
  DATA_CR: 5,
  DATA_LF: 6,
  TRAILER_START: 7,
  TRAILER_NAME: 8,
  TRAILER_VALUE: 9,
  TRAILER_LF: 10,
  END_LF: 11,
  DONE: 12,
} as const;
type S = (typeof S)[keyof typeof S];

/** 15 hex digits = 2^60: above any body we could stream, below the 2^53 precision edge we check. */
const MAX_SIZE_DIGITS = 13;

export const CHUNKED_NEED_MORE = -1;
export const CHUNKED_ERROR = -2;

/** Receives the payload bytes when a chunked body is decoded rather than passed through. */
export interface ChunkSink {
  onChunkData(buf: Buffer, start: number, end: number): void;
}

/**
 * Finds where a chunked body (RFC 9112 §7.1) ends, validating its framing, so that a proxy can
 * forward the bytes as they are and know when the message is over. With a sink, it also yields
 * the payload bytes (to de-chunk for an HTTP/1.0 client). No allocation per chunk.
 */
export class ChunkedDecoder {
  #state: S = S.SIZE_START;
  #remaining = 0;
  #digits = 0;
  sink: ChunkSink | null = null;

  reset(sink: ChunkSink | null = null): void {
    this.#state = S.SIZE_START;
    this.#remaining = 0;
    this.#digits = 0;
    this.sink = sink;
  }

  get done(): boolean {
    return this.#state === S.DONE;
  }

  /**
   * Consume buf[start, end). Returns the index just past the end of the body when it ends inside
   * this range, CHUNKED_NEED_MORE when all bytes were consumed, CHUNKED_ERROR on bad framing.
   */
  feed(buf: Buffer, start: number, end: number): number {
    let i = start;
    let state = this.#state;
    while (i < end) {
      const b = buf[i]!;
      switch (state) {
        case S.SIZE_START:
        case S.SIZE: {
          const v = HEX_VALUE[b]!;
          if (v >= 0) {
            if (++this.#digits > MAX_SIZE_DIGITS) return this.#fail();
            this.#remaining = this.#remaining * 16 + v;
            state = S.SIZE;
            i++;
            break;
          }
          if (state === S.SIZE_START) return this.#fail();
          if (b === CR) state = S.SIZE_LF;
          else if (b === 0x3b /* ; */ || b === 0x20 || b === 0x09) state = S.EXTENSION;
          else return this.#fail();
          i++;
          break;
        }
        case S.EXTENSION:
          if (b === CR) state = S.SIZE_LF;
          else if (FIELD_VALUE[b] !== 1) return this.#fail();
          i++;
          break;
        case S.SIZE_LF:
          if (b !== LF) return this.#fail();
          i++;
          state = this.#remaining === 0 ? S.TRAILER_START : S.DATA;
          break;
        case S.DATA: {
          const take = Math.min(this.#remaining, end - i);
          if (this.sink !== null) this.sink.onChunkData(buf, i, i + take);
          this.#remaining -= take;
          i += take;
          if (this.#remaining === 0) state = S.DATA_CR;
          break;
        }
        case S.DATA_CR:
          if (b !== CR) return this.#fail();
          i++;
          state = S.DATA_LF;
          break;
        case S.DATA_LF:
          if (b !== LF) return this.#fail();
          i++;
          this.#digits = 0;
          state = S.SIZE_START;
          break;
        case S.TRAILER_START:
          if (b === CR) state = S.END_LF;
          else if (TCHAR[b] === 1) state = S.TRAILER_NAME;
          else return this.#fail();
          i++;
          break;
        case S.TRAILER_NAME:
          if (b === 0x3a) state = S.TRAILER_VALUE;
          else if (TCHAR[b] !== 1) return this.#fail();
          i++;
          break;
        case S.TRAILER_VALUE:
          if (b === CR) state = S.TRAILER_LF;
          else if (FIELD_VALUE[b] !== 1) return this.#fail();
          i++;
          break;
        case S.TRAILER_LF:
          if (b !== LF) return this.#fail();
          i++;
          state = S.TRAILER_START;
          break;
        case S.END_LF:
          if (b !== LF) return this.#fail();
          this.#state = S.DONE;
          return i + 1;
        default:
          return this.#fail();
      }
    }
    this.#state = state;
    return CHUNKED_NEED_MORE;
  }

  #fail(): number {
    this.#state = S.DONE;
    return CHUNKED_ERROR;
  }
}
