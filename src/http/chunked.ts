import { CR, FIELD_VALUE, HEX_VALUE, LF, QDTEXT, TCHAR } from './chars.ts';

const S = {
  SIZE_START: 0,
  SIZE: 1,
  EXT_NAME_START: 2,
  EXT_NAME: 3,
  EXT_VALUE_START: 4,
  EXT_TOKEN: 5,
  EXT_QUOTED: 6,
  EXT_QUOTED_PAIR: 7,
  EXT_QUOTED_END: 8,
  SIZE_LF: 9,
  DATA: 10,
  DATA_CR: 11,
  DATA_LF: 12,
  TRAILER_START: 13,
  TRAILER_NAME: 14,
  TRAILER_VALUE: 15,
  TRAILER_LF: 16,
  END_LF: 17,
  DONE: 18,
} as const;
type S = (typeof S)[keyof typeof S];

/**
 * Trailer fields we refuse: llhttp reads these in a trailer section as if they were in the header
 * section (a Content-Length or Transfer-Encoding there is an error to it, a "Connection: close"
 * ends the connection), and RFC 9110 §6.5.1 forbids framing and connection fields in trailers.
 * Matched byte by byte as the name arrives, since a name may span two reads.
 */
const FORBIDDEN_TRAILERS = ['content-length', 'transfer-encoding', 'connection', 'proxy-connection'];
const ALL_FORBIDDEN = (1 << FORBIDDEN_TRAILERS.length) - 1;

/**
 * Chunks up to 2^52 - 1 bytes (4 PiB), far above any we could stream and exact in a double: a
 * size below 2^48 before a digit stays at most (2^48 - 1) * 16 + 15 after it. The bound is on
 * the value, not the digits: chunk-size = 1*HEXDIG (RFC 9112 §7.1) allows leading zeros, and
 * llhttp, HAProxy and nginx take any number of them ("00000000000000005" is 5).
 */
const MAX_SIZE_BEFORE_DIGIT = 2 ** 48;

/**
 * Node refuses a chunk whose extensions pass 16 KiB (HPE_CHUNK_EXTENSIONS_OVERFLOW, the fix for
 * CVE-2024-22019) and a trailer section whose names and values reach its 16 KiB maxHeaderSize
 * (HPE_HEADER_OVERFLOW). We count every byte, ";" "=" ":" OWS and CRLF included, so with the same
 * 16 KiB we refuse whatever Node refuses, and bound the work an endless extension can cause.
 */
const MAX_EXTENSION_BYTES = 16_384;
const MAX_TRAILER_BYTES = 16_384;

/** The zero-size chunk that ends a chunked body without trailers. */
export const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');

/**
 * Bytes as one chunk of a chunked body, in one buffer (a copy: where the bytes can go out in
 * several writes instead, Http1Connection writes the size line and CRLF around them); with
 * `last`, the body's last chunk after it. Empty bytes make no chunk (a zero size would end the body).
 */
export function encodeChunk(bytes: Buffer, last = false): Buffer {
  if (bytes.length === 0) return last ? LAST_CHUNK : bytes;
  const size = Buffer.from(`${bytes.length.toString(16)}\r\n`, 'latin1');
  return Buffer.concat(last ? [size, bytes, CRLF, LAST_CHUNK] : [size, bytes, CRLF]);
}

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
  /** Length of the trailer name read so far, and which FORBIDDEN_TRAILERS it still matches (bits). */
  #nameLength = 0;
  #nameMatches = 0;
  /** Bytes of the current chunk's extensions, or of the trailer section so far. */
  #sectionBytes = 0;
  /** Payload bytes so far (chunk data, without the framing): what a body limit counts. */
  payloadBytes = 0;
  sink: ChunkSink | null = null;

  reset(sink: ChunkSink | null = null): void {
    this.#state = S.SIZE_START;
    this.#remaining = 0;
    this.#nameLength = 0;
    this.#nameMatches = 0;
    this.#sectionBytes = 0;
    this.payloadBytes = 0;
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
    let sectionBytes = this.#sectionBytes;
    while (i < end) {
      const b = buf[i]!;
      switch (state) {
        case S.SIZE_START:
        case S.SIZE: {
          const v = HEX_VALUE[b]!;
          if (v >= 0) {
            if (this.#remaining >= MAX_SIZE_BEFORE_DIGIT) return this.#fail();
            this.#remaining = this.#remaining * 16 + v;
            state = S.SIZE;
            i++;
            break;
          }
          if (state === S.SIZE_START) return this.#fail();
          // No whitespace after the size: llhttp refuses it ("1 ;a"), and so do we.
          if (b === CR) state = S.SIZE_LF;
          else if (b === 0x3b /* ; */) {
            state = S.EXT_NAME_START;
            sectionBytes = 1;
          } else return this.#fail();
          i++;
          break;
        }
        // chunk-ext = *( ";" token [ "=" ( token / quoted-string ) ] ), RFC 9112 §7.1.1 without
        // the BWS, which llhttp does not take either. Each byte is checked: an extension is the
        // last place a smuggled CR, LF or quote could hide before the framing resumes.
        case S.EXT_NAME_START:
          if (++sectionBytes > MAX_EXTENSION_BYTES) return this.#fail();
          if (TCHAR[b] !== 1) return this.#fail();
          state = S.EXT_NAME;
          i++;
          break;
        case S.EXT_NAME:
          if (++sectionBytes > MAX_EXTENSION_BYTES) return this.#fail();
          if (b === 0x3d /* = */) state = S.EXT_VALUE_START;
          else if (b === 0x3b) state = S.EXT_NAME_START;
          else if (b === CR) state = S.SIZE_LF;
          else if (TCHAR[b] !== 1) return this.#fail();
          i++;
          break;
        case S.EXT_VALUE_START:
          if (++sectionBytes > MAX_EXTENSION_BYTES) return this.#fail();
          if (b === 0x22 /* " */) state = S.EXT_QUOTED;
          else if (TCHAR[b] === 1) state = S.EXT_TOKEN;
          else return this.#fail();
          i++;
          break;
        case S.EXT_TOKEN:
          if (++sectionBytes > MAX_EXTENSION_BYTES) return this.#fail();
          if (b === 0x3b) state = S.EXT_NAME_START;
          else if (b === CR) state = S.SIZE_LF;
          else if (TCHAR[b] !== 1) return this.#fail();
          i++;
          break;
        case S.EXT_QUOTED:
          if (++sectionBytes > MAX_EXTENSION_BYTES) return this.#fail();
          if (b === 0x22) state = S.EXT_QUOTED_END;
          else if (b === 0x5c /* \ */) state = S.EXT_QUOTED_PAIR;
          else if (QDTEXT[b] !== 1) return this.#fail();
          i++;
          break;
        case S.EXT_QUOTED_PAIR:
          if (++sectionBytes > MAX_EXTENSION_BYTES) return this.#fail();
          if (FIELD_VALUE[b] !== 1) return this.#fail(); // HTAB / SP / VCHAR / obs-text
          state = S.EXT_QUOTED;
          i++;
          break;
        case S.EXT_QUOTED_END:
          if (++sectionBytes > MAX_EXTENSION_BYTES) return this.#fail();
          if (b === 0x3b) state = S.EXT_NAME_START;
          else if (b === CR) state = S.SIZE_LF;
          else return this.#fail();
          i++;
          break;
        case S.SIZE_LF:
          if (b !== LF) return this.#fail();
          i++;
          if (this.#remaining === 0) {
            state = S.TRAILER_START;
            sectionBytes = 0;
          } else {
            state = S.DATA;
          }
          break;
        case S.DATA: {
          const take = Math.min(this.#remaining, end - i);
          if (this.sink !== null) this.sink.onChunkData(buf, i, i + take);
          this.#remaining -= take;
          this.payloadBytes += take;
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
          state = S.SIZE_START;
          break;
        case S.TRAILER_START:
          if (++sectionBytes > MAX_TRAILER_BYTES) return this.#fail();
          if (b === CR) state = S.END_LF;
          else if (TCHAR[b] === 1) {
            state = S.TRAILER_NAME;
            this.#nameLength = 0;
            this.#nameMatches = ALL_FORBIDDEN;
            this.#matchName(b);
          } else return this.#fail();
          i++;
          break;
        case S.TRAILER_NAME:
          if (++sectionBytes > MAX_TRAILER_BYTES) return this.#fail();
          if (b === 0x3a) {
            if (this.#isForbiddenName()) return this.#fail();
            state = S.TRAILER_VALUE;
          } else if (TCHAR[b] === 1) this.#matchName(b);
          else return this.#fail();
          i++;
          break;
        case S.TRAILER_VALUE:
          if (++sectionBytes > MAX_TRAILER_BYTES) return this.#fail();
          if (b === CR) state = S.TRAILER_LF;
          else if (FIELD_VALUE[b] !== 1) return this.#fail();
          i++;
          break;
        case S.TRAILER_LF:
          if (++sectionBytes > MAX_TRAILER_BYTES) return this.#fail();
          if (b !== LF) return this.#fail();
          i++;
          state = S.TRAILER_START;
          break;
        case S.END_LF:
          if (++sectionBytes > MAX_TRAILER_BYTES) return this.#fail();
          if (b !== LF) return this.#fail();
          this.#state = S.DONE;
          return i + 1;
        default:
          return this.#fail();
      }
    }
    this.#state = state;
    this.#sectionBytes = sectionBytes;
    return CHUNKED_NEED_MORE;
  }

  #matchName(b: number): void {
    const k = this.#nameLength++;
    let m = this.#nameMatches;
    if (m === 0) return;
    // |0x20 folds A-Z onto a-z; no other tchar folds onto a lowercase letter.
    for (let n = 0; n < FORBIDDEN_TRAILERS.length; n++) {
      if ((m & (1 << n)) !== 0 && (b | 0x20) !== FORBIDDEN_TRAILERS[n]!.charCodeAt(k)) m &= ~(1 << n);
    }
    this.#nameMatches = m;
  }

  #isForbiddenName(): boolean {
    const m = this.#nameMatches;
    if (m === 0) return false;
    for (let n = 0; n < FORBIDDEN_TRAILERS.length; n++) {
      if ((m & (1 << n)) !== 0 && FORBIDDEN_TRAILERS[n]!.length === this.#nameLength) return true;
    }
    return false;
  }

  #fail(): number {
    this.#state = S.DONE;
    return CHUNKED_ERROR;
  }
}
