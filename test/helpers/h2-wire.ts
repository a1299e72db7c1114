/**
 * A raw HTTP/2 client for tests: exactly the bytes a test wants on the wire, well formed or not,
 * and a reader that says what the server answered, frame by frame. No HTTP/2 library on purpose:
 * the front end under test is node:http2 (nghttp2), and a client built on the same parser could
 * not send what that parser refuses to write.
 *
 * - Frame builders (RFC 9113 §6) for every type, with any length, flags and stream id.
 * - HPACK (RFC 7541): a minimal encoder (literal without indexing, new name, no Huffman), raw
 *   representations for HPACK error cases, and a whole decoder (static and dynamic table,
 *   Huffman), because the server's encoder uses all of it.
 * - H2Wire: one connection (h2c over net, h2 over TLS with ALPN) that records every frame, ACKs
 *   the server's SETTINGS and PINGs, tracks both sides' flow-control windows, and awaits what a
 *   test waits for (`until`): the timer only bounds a wait, it never replaces an event.
 */
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { stringify } from 'yaml';
import { loadConfigText } from '../../src/config/load.ts';
import type { AccessLogSink, AccessRecord } from '../../src/log/access-log.ts';
import type { Http2Events } from '../../src/worker/engine-context.ts';
import { WorkerRuntime } from '../../src/worker/runtime.ts';
import { startBackends, type Backends } from './backends.ts';
import { freePort } from './processes.ts';

// ---- constants (RFC 9113 §6, §7, §6.5.2) ------------------------------------------------------

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** The initial flow-control window of a connection and of each stream (RFC 9113 §6.9.2). */
export const DEFAULT_WINDOW = 65_535;
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
export const MAX_WINDOW = 2 ** 31 - 1;

const EMPTY = Buffer.alloc(0);
const TYPE_NAMES = Object.fromEntries(Object.entries(FrameType).map(([name, code]) => [code, name])) as Record<number, string>;
const ERROR_NAMES = Object.fromEntries(Object.entries(ErrorCode).map(([name, code]) => [code, name])) as Record<number, string>;

/** "PROTOCOL_ERROR (0x1)", for messages; `'closed'` passes through. */
export function errorName(code: number | 'closed'): string {
  return code === 'closed' ? 'closed without GOAWAY' : `${ERROR_NAMES[code] ?? 'unknown'} (0x${code.toString(16)})`;
}

// ---- frame builders (RFC 9113 §4.1, §6) -----------------------------------------------------

/** Overrides for malformed frames: `flags` replaces the computed flags, `length` the 24-bit length field (the payload stays). */
export interface RawOptions {
  flags?: number;
  length?: number;
}

export type HeaderList = Array<[string, string]>;
/** A header list to encode, or a header block fragment written as is (HPACK error cases). */
export type HeaderInput = HeaderList | Buffer;

export interface Priority {
  dependency: number;
  /** 1 to 256, written as weight - 1. */
  weight?: number;
  exclusive?: boolean;
}

export function frame(type: number, flags: number, streamId: number, payload: Uint8Array = EMPTY, length = payload.length): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId >>> 0, 5);
  return Buffer.concat([header, payload]);
}

function withPadding(payload: Buffer, padLength: number | undefined): Buffer {
  if (padLength === undefined) return payload;
  return Buffer.concat([Buffer.from([padLength]), payload, Buffer.alloc(padLength)]);
}

function priorityBytes(p: Priority): Buffer {
  const bytes = Buffer.alloc(5);
  bytes.writeUInt32BE(((p.exclusive === true ? 0x8000_0000 : 0) | p.dependency) >>> 0, 0);
  bytes[4] = (p.weight ?? 16) - 1;
  return bytes;
}

const flagIf = (on: boolean | undefined, flag: number): number => (on === true ? flag : 0);
const toBytes = (b: string | Uint8Array): Buffer => (typeof b === 'string' ? Buffer.from(b, 'latin1') : Buffer.from(b));
const headerBytes = (input: HeaderInput): Buffer => (Buffer.isBuffer(input) ? input : encodeHeaders(input));

export function dataFrame(streamId: number, body: string | Uint8Array = EMPTY, opts: RawOptions & { endStream?: boolean; padLength?: number } = {}): Buffer {
  const flags = opts.flags ?? flagIf(opts.endStream, Flag.END_STREAM) | flagIf(opts.padLength !== undefined, Flag.PADDED);
  const payload = withPadding(toBytes(body), opts.padLength);
  return frame(FrameType.DATA, flags, streamId, payload, opts.length);
}

export function headersFrame(
  streamId: number,
  block: HeaderInput,
  opts: RawOptions & { endStream?: boolean; endHeaders?: boolean; padLength?: number; priority?: Priority } = {},
): Buffer {
  const flags =
    opts.flags ??
    flagIf(opts.endStream, Flag.END_STREAM) |
      flagIf(opts.endHeaders ?? true, Flag.END_HEADERS) |
      flagIf(opts.padLength !== undefined, Flag.PADDED) |
      flagIf(opts.priority !== undefined, Flag.PRIORITY);
  const fragment = opts.priority === undefined ? headerBytes(block) : Buffer.concat([priorityBytes(opts.priority), headerBytes(block)]);
  return frame(FrameType.HEADERS, flags, streamId, withPadding(fragment, opts.padLength), opts.length);
}

export function priorityFrame(streamId: number, p: Priority, opts: RawOptions = {}): Buffer {
  return frame(FrameType.PRIORITY, opts.flags ?? 0, streamId, priorityBytes(p), opts.length);
}

export function rstStreamFrame(streamId: number, code: number, opts: RawOptions = {}): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code >>> 0);
  return frame(FrameType.RST_STREAM, opts.flags ?? 0, streamId, payload, opts.length);
}

/** A SETTINGS frame with these (identifier, value) entries, in order; `streamId` for the malformed case. */
export function settingsFrame(entries: Array<[number, number]> = [], opts: RawOptions & { streamId?: number } = {}): Buffer {
  const payload = Buffer.alloc(entries.length * 6);
  entries.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value >>> 0, i * 6 + 2);
  });
  return frame(FrameType.SETTINGS, opts.flags ?? 0, opts.streamId ?? 0, payload, opts.length);
}

export function settingsAckFrame(payload: Uint8Array = EMPTY): Buffer {
  return frame(FrameType.SETTINGS, Flag.ACK, 0, payload);
}

export function pushPromiseFrame(streamId: number, promisedStreamId: number, block: HeaderInput, opts: RawOptions & { endHeaders?: boolean; padLength?: number } = {}): Buffer {
  const flags = opts.flags ?? flagIf(opts.endHeaders ?? true, Flag.END_HEADERS) | flagIf(opts.padLength !== undefined, Flag.PADDED);
  const promised = Buffer.alloc(4);
  promised.writeUInt32BE(promisedStreamId >>> 0);
  return frame(FrameType.PUSH_PROMISE, flags, streamId, withPadding(Buffer.concat([promised, headerBytes(block)]), opts.padLength), opts.length);
}

/** A PING with 8 bytes of opaque data (shorter or longer for the malformed case). */
export function pingFrame(opaque: Uint8Array = Buffer.alloc(8), opts: RawOptions & { ack?: boolean; streamId?: number } = {}): Buffer {
  return frame(FrameType.PING, opts.flags ?? flagIf(opts.ack, Flag.ACK), opts.streamId ?? 0, opaque, opts.length);
}

export function goawayFrame(lastStreamId: number, code: number, debug = '', opts: RawOptions & { streamId?: number } = {}): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(lastStreamId >>> 0, 0);
  payload.writeUInt32BE(code >>> 0, 4);
  return frame(FrameType.GOAWAY, opts.flags ?? 0, opts.streamId ?? 0, Buffer.concat([payload, Buffer.from(debug)]), opts.length);
}

/** `increment` is written as all 32 bits, so the reserved bit can be set too. */
export function windowUpdateFrame(streamId: number, increment: number, opts: RawOptions = {}): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(increment >>> 0);
  return frame(FrameType.WINDOW_UPDATE, opts.flags ?? 0, streamId, payload, opts.length);
}

export function continuationFrame(streamId: number, block: HeaderInput, opts: RawOptions & { endHeaders?: boolean } = {}): Buffer {
  return frame(FrameType.CONTINUATION, opts.flags ?? flagIf(opts.endHeaders ?? true, Flag.END_HEADERS), streamId, headerBytes(block), opts.length);
}

/** A frame of a type RFC 9113 does not define; a receiver must ignore it (§4.1, §5.5). */
export function unknownFrame(type: number, flags: number, streamId: number, payload: Uint8Array = EMPTY): Buffer {
  return frame(type, flags, streamId, payload);
}

/** The header list of a request: pseudo-header fields first, then `extra` in order. */
export function requestHeaders(opts: { method?: string; path?: string; authority?: string; scheme?: string; extra?: HeaderList } = {}): HeaderList {
  return [
    [':method', opts.method ?? 'GET'],
    [':scheme', opts.scheme ?? 'http'],
    [':authority', opts.authority ?? 'localhost'],
    [':path', opts.path ?? '/'],
    ...(opts.extra ?? []),
  ];
}

// ---- HPACK encoder (RFC 7541 §5, §6) ------------------------------------------------------------

/** An integer with an N-bit prefix (§5.1); `high` holds the representation's pattern bits. */
export function hpackInteger(value: number, prefixBits: number, high = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([high | value]);
  const bytes = [high | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** A string literal without Huffman (§5.2). */
export function hpackString(s: string | Uint8Array): Buffer {
  const bytes = toBytes(s);
  return Buffer.concat([hpackInteger(bytes.length, 7), bytes]);
}

/** Literal header field without indexing, new name (§6.2.2): the one form the encoder writes. */
export function literalField(name: string, value: string | Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([0x00]), hpackString(name), hpackString(value)]);
}

/** Indexed header field (§6.1): index 0, or one beyond the tables, is a decoding error. */
export function indexedField(index: number): Buffer {
  return hpackInteger(index, 7, 0x80);
}

/** Literal header field with incremental indexing, new name (§6.2.1): adds to the server's dynamic table. */
export function indexedLiteralField(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x40]), hpackString(name), hpackString(value)]);
}

/** Dynamic table size update (§6.3): larger than SETTINGS_HEADER_TABLE_SIZE is a decoding error. */
export function tableSizeUpdate(size: number): Buffer {
  return hpackInteger(size, 5, 0x20);
}

export function encodeHeaders(list: HeaderList): Buffer {
  return Buffer.concat(list.map(([name, value]) => literalField(name, value)));
}

// ---- HPACK decoder --------------------------------------------------------------------------

/** RFC 7541 Appendix A. */
const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''],
  ['etag', ''], ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''],
  ['if-modified-since', ''], ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''],
  ['last-modified', ''], ['link', ''], ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''],
  ['proxy-authorization', ''], ['range', ''], ['referer', ''], ['refresh', ''], ['retry-after', ''],
  ['server', ''], ['set-cookie', ''], ['strict-transport-security', ''], ['transfer-encoding', ''],
  ['user-agent', ''], ['vary', ''], ['via', ''], ['www-authenticate', ''],
];

/**
 * The code length of each symbol, 0 to 255 and EOS (256), from RFC 7541 Appendix B. The code is
 * canonical (codes of one length are consecutive, in symbol order), so the lengths alone give
 * every code; the test checks a few against the RFC's table and its C.4 examples.
 */
// prettier-ignore
const HUFFMAN_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];
const EOS = 256;

/** Each symbol's code (at most 30 bits), and a binary decoding tree: node 2n/2n+1 are the children of n; a leaf is -(symbol + 1). */
const HUFFMAN = (() => {
  const codes = new Array<number>(HUFFMAN_LENGTHS.length).fill(0);
  const order = HUFFMAN_LENGTHS.map((length, symbol) => ({ length, symbol })).sort((a, b) => a.length - b.length || a.symbol - b.symbol);
  let code = 0;
  let length = order[0]!.length;
  for (const [i, entry] of order.entries()) {
    if (i > 0) code = (code + 1) * 2 ** (entry.length - length);
    length = entry.length;
    codes[entry.symbol] = code;
  }
  const tree: number[] = [0, 0];
  for (const [symbol, code] of codes.entries()) {
    const bits = HUFFMAN_LENGTHS[symbol]!;
    let node = 0;
    for (let b = bits - 1; b >= 0; b--) {
      const slot = node * 2 + (Math.floor(code / 2 ** b) % 2);
      if (b === 0) {
        tree[slot] = -(symbol + 1);
      } else {
        if (tree[slot] === 0) {
          tree[slot] = tree.length / 2;
          tree.push(0, 0);
        }
        node = tree[slot]!;
      }
    }
  }
  return { codes, tree };
})();

export class HpackError extends Error {}

export function huffmanDecode(bytes: Uint8Array): Buffer {
  const out: number[] = [];
  let node = 0;
  let bitsSinceSymbol = 0;
  let onesOnly = true;
  for (const byte of bytes) {
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >> b) & 1;
      const next = HUFFMAN.tree[node * 2 + bit]!;
      bitsSinceSymbol++;
      onesOnly &&= bit === 1;
      if (next < 0) {
        const symbol = -next - 1;
        if (symbol === EOS) throw new HpackError('Huffman string contains EOS');
        out.push(symbol);
        node = 0;
        bitsSinceSymbol = 0;
        onesOnly = true;
      } else {
        node = next;
      }
    }
  }
  // §5.2: padding is the most significant bits of EOS (all ones), shorter than 8 bits.
  if (bitsSinceSymbol > 7 || !onesOnly) throw new HpackError('invalid Huffman padding');
  return Buffer.from(out);
}

/** Huffman-encode (for the decoder's tests; the encoder above writes no Huffman). */
export function huffmanEncode(s: string | Uint8Array): Buffer {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const symbol of toBytes(s)) {
    const length = HUFFMAN_LENGTHS[symbol]!;
    const code = HUFFMAN.codes[symbol]!;
    for (let b = length - 1; b >= 0; b--) {
      acc = acc * 2 + (Math.floor(code / 2 ** b) % 2);
      if (++bits === 8) {
        out.push(acc);
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) out.push((acc << (8 - bits)) | ((1 << (8 - bits)) - 1));
  return Buffer.from(out);
}

/**
 * Decodes the header blocks of one direction of one connection, in order (the dynamic table is
 * shared by them all). Names and values are latin1 strings: one character per octet.
 */
export class HpackDecoder {
  /** Newest first: dynamic index 62 is [0]. */
  readonly #table: Array<[string, string]> = [];
  #size = 0;
  #capacity: number;
  /** The largest size a table size update may ask for: our SETTINGS_HEADER_TABLE_SIZE. */
  readonly #limit: number;

  constructor(limit = 4096) {
    this.#limit = limit;
    this.#capacity = limit;
  }

  decode(block: Uint8Array): HeaderList {
    const list: HeaderList = [];
    let pos = 0;
    const integer = (prefixBits: number): number => {
      if (pos >= block.length) throw new HpackError('truncated integer');
      const max = (1 << prefixBits) - 1;
      let value = block[pos++]! & max;
      if (value < max) return value;
      for (let shift = 0; ; shift += 7) {
        if (pos >= block.length) throw new HpackError('truncated integer');
        if (shift > 28) throw new HpackError('integer overflow');
        const byte = block[pos++]!;
        value += (byte & 0x7f) * 2 ** shift;
        if ((byte & 0x80) === 0) return value;
      }
    };
    const string = (): string => {
      if (pos >= block.length) throw new HpackError('truncated string');
      const huffman = (block[pos]! & 0x80) !== 0;
      const length = integer(7);
      if (pos + length > block.length) throw new HpackError('truncated string');
      const bytes = block.subarray(pos, pos + length);
      pos += length;
      return (huffman ? huffmanDecode(bytes) : Buffer.from(bytes)).toString('latin1');
    };
    while (pos < block.length) {
      const first = block[pos]!;
      if (first & 0x80) {
        list.push([...this.#entry(integer(7))]);
      } else if ((first & 0xc0) === 0x40) {
        const index = integer(6);
        const name = index === 0 ? string() : this.#entry(index)[0];
        const field: [string, string] = [name, string()];
        list.push(field);
        this.#add(field);
      } else if ((first & 0xe0) === 0x20) {
        const size = integer(5);
        if (size > this.#limit) throw new HpackError(`table size update ${size} over ${this.#limit}`);
        this.#capacity = size;
        this.#evict(0);
      } else {
        // Literal without indexing (0000) or never indexed (0001): same shape, a 4-bit prefix.
        const index = integer(4);
        const name = index === 0 ? string() : this.#entry(index)[0];
        list.push([name, string()]);
      }
    }
    return list;
  }

  #entry(index: number): readonly [string, string] {
    const entry = index === 0 ? undefined : index <= STATIC_TABLE.length ? STATIC_TABLE[index - 1] : this.#table[index - STATIC_TABLE.length - 1];
    if (entry === undefined) throw new HpackError(`index ${index} not in the tables`);
    return entry;
  }

  #add(field: [string, string]): void {
    const size = field[0].length + field[1].length + 32;
    this.#evict(size);
    if (size > this.#capacity) return; // §4.4: an entry larger than the table empties it
    this.#table.unshift(field);
    this.#size += size;
  }

  #evict(room: number): void {
    while (this.#size + room > this.#capacity && this.#table.length > 0) {
      const [name, value] = this.#table.pop()!;
      this.#size -= name.length + value.length + 32;
    }
  }
}

// ---- the connection -------------------------------------------------------------------------

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

export interface Goaway {
  lastStreamId: number;
  errorCode: number;
  debug: string;
}

export interface ConnectOptions {
  port: number;
  host?: string;
  /** h2 over TLS, ALPN h2 only. Without `ca` the server's certificate is not verified. */
  tls?: boolean | { ca?: string | Buffer; servername?: string };
  /** Write the preface and the first SETTINGS on connect (default). false: the test writes its own first bytes. */
  preface?: boolean;
  /** The entries of the first SETTINGS frame (default none: every setting at its default). */
  settings?: Array<[number, number]>;
  /** ACK each SETTINGS frame of the server as it arrives (default true). */
  ackSettings?: boolean;
}

export type StreamEnd = { reset: number } | { ended: true };

/** One HTTP/2 connection to a server, raw: what the test writes is what goes on the wire. */
export class H2Wire {
  readonly socket: net.Socket;
  /** Every frame the server sent, in order. */
  readonly frames: Frame[] = [];
  readonly goaways: Goaway[] = [];
  /** Decoded header blocks per stream, in order: the response head (1xx ones too), then trailers. */
  readonly headerBlocks = new Map<number, HeaderList[]>();
  /** The server's settings, as its SETTINGS frames said. */
  readonly serverSettings = new Map<number, number>();
  /** Where the server broke our flow-control windows (sent DATA beyond them): should stay empty. */
  readonly flowViolations: string[] = [];
  /** The socket closed (the server closed it, or it was reset). */
  closed = false;
  /** The reader stopped on bytes it could not decode (a header block): every wait fails with it. */
  readerError: Error | undefined;

  #buffer: Buffer = EMPTY;
  readonly #waiters = new Set<() => void>();
  readonly #decoder = new HpackDecoder();
  #block: { streamId: number; chunks: Buffer[] } | undefined;
  readonly #data = new Map<number, Buffer[]>();
  readonly #ended = new Map<number, StreamEnd>();
  readonly #ackSettings: boolean;
  // Windows for the DATA we send through sendData (§6.9), and for the DATA the server sends us.
  #sendConnection = DEFAULT_WINDOW;
  #sendInitial = DEFAULT_WINDOW;
  readonly #sendStreams = new Map<number, number>();
  #recvConnection = DEFAULT_WINDOW;
  readonly #recvInitial: number;
  readonly #recvStreams = new Map<number, number>();
  #pingSeq = 0;

  private constructor(socket: net.Socket, opts: ConnectOptions) {
    this.socket = socket;
    this.#ackSettings = opts.ackSettings ?? true;
    this.#recvInitial = new Map(opts.settings ?? []).get(Setting.INITIAL_WINDOW_SIZE) ?? DEFAULT_WINDOW;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      this.#readFrames();
      this.#wake();
    });
    // The server may close first: what it sent is in `frames`, and writes after that fail quietly.
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
  }

  static async connect(opts: ConnectOptions): Promise<H2Wire> {
    const host = opts.host ?? '127.0.0.1';
    let socket: net.Socket;
    if (opts.tls === undefined || opts.tls === false) {
      socket = net.connect(opts.port, host);
      await once(socket, 'connect');
    } else {
      const { ca, servername } = opts.tls === true ? {} : opts.tls;
      const secure = tls.connect({ host, port: opts.port, ALPNProtocols: ['h2'], ca, rejectUnauthorized: ca !== undefined, servername: servername ?? 'localhost' });
      await once(secure, 'secureConnect');
      if (secure.alpnProtocol !== 'h2') {
        secure.destroy();
        throw new Error(`the server chose ALPN ${String(secure.alpnProtocol)}, not h2`);
      }
      socket = secure;
    }
    socket.setNoDelay(true);
    const wire = new H2Wire(socket, opts);
    if (opts.preface ?? true) wire.send(PREFACE, settingsFrame(opts.settings ?? []));
    return wire;
  }

  /** Writes the frames (or any bytes) in one write, so they arrive together. */
  send(...chunks: Uint8Array[]): void {
    if (!this.socket.destroyed) this.socket.write(Buffer.concat(chunks));
  }

  close(): void {
    this.socket.destroy();
  }

  /**
   * Resolves with the predicate's value once it is neither undefined, null nor false, checked
   * now and after every frame and at the close; rejects when the connection closes first, the
   * reader fails, or `timeoutMs` passes, with the frames received so far.
   */
  until<T>(predicate: () => T | undefined | null | false, timeoutMs = 5000, what = 'the awaited frames'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      const fail = (why: string): void => {
        finish();
        reject(new Error(`${why} ${what}; frames received: ${this.describe()}`));
      };
      const check = (): void => {
        let value: T | undefined | null | false;
        try {
          value = predicate();
        } catch (err) {
          finish();
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        if (value !== undefined && value !== null && value !== false) {
          finish();
          resolve(value);
        } else if (this.readerError !== undefined) {
          fail(`reader failed (${this.readerError.message}) before`);
        } else if (this.closed) {
          fail('connection closed before');
        }
      };
      const timer = setTimeout(() => fail(`${timeoutMs} ms passed without`), timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  /** Resolves once the server's SETTINGS have arrived and it has ACKed ours: the connection is up. */
  handshake(timeoutMs = 5000): Promise<true> {
    return this.until(
      () => {
        const settings = this.frames.filter((f) => f.type === FrameType.SETTINGS);
        return (settings.some((f) => (f.flags & Flag.ACK) === 0) && settings.some((f) => (f.flags & Flag.ACK) !== 0)) || undefined;
      },
      timeoutMs,
      "the server's SETTINGS and its ACK of ours",
    );
  }

  /** The first GOAWAY's error code, or 'closed' when the connection closed without one. */
  goaway(timeoutMs = 5000): Promise<number | 'closed'> {
    return this.until(() => this.goaways[0]?.errorCode ?? (this.closed ? ('closed' as const) : undefined), timeoutMs, 'a GOAWAY or the close');
  }

  /** Resolves once the socket has closed. */
  closedByServer(timeoutMs = 5000): Promise<true> {
    return this.until(() => this.closed || undefined, timeoutMs, 'the close of the connection');
  }

  /** The error code of the server's RST_STREAM on `streamId`. */
  rstStream(streamId: number, timeoutMs = 5000): Promise<number> {
    return this.until(() => this.#rstCode(streamId), timeoutMs, `a RST_STREAM on stream ${streamId}`);
  }

  /** The stream's end from the server: END_STREAM, or its RST_STREAM code. */
  streamEnd(streamId: number, timeoutMs = 5000): Promise<StreamEnd> {
    return this.until(() => this.#ended.get(streamId), timeoutMs, `the end of stream ${streamId}`);
  }

  /** The response head (the first header block that is not 1xx); fails if the stream is reset first. */
  responseHeaders(streamId: number, timeoutMs = 5000): Promise<HeaderList> {
    return this.until(
      () => {
        const head = this.headerBlocks.get(streamId)?.find((block) => !/^1\d\d$/.test(headerValue(block, ':status') ?? ''));
        if (head !== undefined) return head;
        this.#throwIfReset(streamId);
        return undefined;
      },
      timeoutMs,
      `the response head on stream ${streamId}`,
    );
  }

  async responseStatus(streamId: number, timeoutMs = 5000): Promise<number> {
    return Number(headerValue(await this.responseHeaders(streamId, timeoutMs), ':status'));
  }

  /** The whole response body (DATA payloads without padding) once the stream has ended. */
  responseBody(streamId: number, timeoutMs = 5000): Promise<Buffer> {
    return this.until(
      () => {
        this.#throwIfReset(streamId);
        return this.#ended.has(streamId) ? Buffer.concat(this.#data.get(streamId) ?? []) : undefined;
      },
      timeoutMs,
      `the end of the response body on stream ${streamId}`,
    );
  }

  /** Bytes of DATA payload received on a stream so far. */
  receivedBytes(streamId: number): number {
    return (this.#data.get(streamId) ?? []).reduce((n, b) => n + b.length, 0);
  }

  /**
   * A PING and its ACK: once it resolves, the server has processed every frame sent before it
   * (frames are handled in order). Each call counts against the server's PING limit.
   */
  async pingRoundTrip(timeoutMs = 5000): Promise<void> {
    const opaque = Buffer.alloc(8);
    opaque.writeUInt32BE(0x68327769, 0); // "h2wi"
    opaque.writeUInt32BE(++this.#pingSeq, 4);
    this.send(pingFrame(opaque));
    await this.until(
      () => this.frames.some((f) => f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0 && f.payload.equals(opaque)),
      timeoutMs,
      'the PING ACK',
    );
  }

  /** Sends HEADERS (END_STREAM when there is no body), then the body through sendData. */
  async request(streamId: number, list: HeaderList, body?: string | Uint8Array, opts: { frameSize?: number } = {}): Promise<void> {
    this.send(headersFrame(streamId, list, { endStream: body === undefined }));
    if (body !== undefined) await this.sendData(streamId, body, { endStream: true, ...opts });
  }

  /**
   * Sends `body` in DATA frames of at most `frameSize` (and the server's SETTINGS_MAX_FRAME_SIZE),
   * each within the server's connection and stream windows, waiting for its WINDOW_UPDATEs.
   */
  async sendData(streamId: number, body: string | Uint8Array, opts: { endStream?: boolean; frameSize?: number; timeoutMs?: number } = {}): Promise<void> {
    const bytes = toBytes(body);
    const maxFrame = Math.min(opts.frameSize ?? Infinity, this.serverSettings.get(Setting.MAX_FRAME_SIZE) ?? DEFAULT_MAX_FRAME_SIZE);
    let offset = 0;
    do {
      const { size } = await this.until(
        () => {
          const left = bytes.length - offset;
          const room = Math.min(maxFrame, this.#sendConnection, this.#sendStreams.get(streamId) ?? this.#sendInitial, left);
          return left === 0 || room > 0 ? { size: Math.max(room, 0) } : undefined;
        },
        opts.timeoutMs ?? 5000,
        `window to send on stream ${streamId}`,
      );
      const chunk = bytes.subarray(offset, offset + size);
      offset += size;
      this.#sendConnection -= size;
      this.#sendStreams.set(streamId, (this.#sendStreams.get(streamId) ?? this.#sendInitial) - size);
      this.send(dataFrame(streamId, chunk, { endStream: offset === bytes.length && (opts.endStream ?? true) }));
    } while (offset < bytes.length);
  }

  /**
   * Sends WINDOW_UPDATE for the stream and the connection (the connection alone for stream 0),
   * and widens the windows the server's DATA is checked against.
   */
  grant(streamId: number, increment: number): void {
    this.#recvConnection += increment;
    if (streamId === 0) return this.send(windowUpdateFrame(0, increment));
    this.#recvStreams.set(streamId, (this.#recvStreams.get(streamId) ?? this.#recvInitial) + increment);
    this.send(windowUpdateFrame(streamId, increment), windowUpdateFrame(0, increment));
  }

  /** A line per frame received (the last 30), for failure messages. */
  describe(): string {
    const lines = this.frames.slice(-30).map((f) => {
      const name = TYPE_NAMES[f.type] ?? `type 0x${f.type.toString(16)}`;
      let detail = '';
      if (f.type === FrameType.GOAWAY && f.payload.length >= 8) detail = ` ${errorName(f.payload.readUInt32BE(4))} "${f.payload.subarray(8).toString('latin1')}"`;
      if (f.type === FrameType.RST_STREAM && f.payload.length >= 4) detail = ` ${errorName(f.payload.readUInt32BE(0))}`;
      return `${name}[${f.streamId}] flags=0x${f.flags.toString(16)} len=${f.payload.length}${detail}`;
    });
    return `${this.frames.length > 30 ? '… ' : ''}${lines.join(', ') || 'none'}${this.closed ? ' (closed)' : ''}`;
  }

  #rstCode(streamId: number): number | undefined {
    const end = this.#ended.get(streamId);
    return end !== undefined && 'reset' in end ? end.reset : undefined;
  }

  #throwIfReset(streamId: number): void {
    const code = this.#rstCode(streamId);
    if (code !== undefined) throw new Error(`stream ${streamId} was reset with ${errorName(code)}; frames: ${this.describe()}`);
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  #readFrames(): void {
    while (this.#buffer.length >= 9 && this.readerError === undefined) {
      const length = this.#buffer.readUIntBE(0, 3);
      if (this.#buffer.length < 9 + length) return;
      const f: Frame = {
        type: this.#buffer[3]!,
        flags: this.#buffer[4]!,
        streamId: this.#buffer.readUInt32BE(5) & 0x7fff_ffff,
        payload: this.#buffer.subarray(9, 9 + length),
      };
      this.#buffer = this.#buffer.subarray(9 + length);
      this.frames.push(f);
      try {
        this.#handle(f);
      } catch (err) {
        this.readerError = err instanceof Error ? err : new Error(String(err));
      }
    }
  }

  #handle(f: Frame): void {
    const { type, flags, streamId, payload } = f;
    switch (type) {
      case FrameType.DATA: {
        const body = unpad(payload, flags);
        const chunks = this.#data.get(streamId);
        if (chunks === undefined) this.#data.set(streamId, [body]);
        else chunks.push(body);
        this.#recvConnection -= payload.length;
        const stream = (this.#recvStreams.get(streamId) ?? this.#recvInitial) - payload.length;
        this.#recvStreams.set(streamId, stream);
        if (this.#recvConnection < 0 || stream < 0) {
          this.flowViolations.push(`DATA of ${payload.length} on stream ${streamId} left windows connection ${this.#recvConnection}, stream ${stream}`);
        }
        if (flags & Flag.END_STREAM) this.#ended.set(streamId, { ended: true });
        break;
      }
      case FrameType.HEADERS: {
        let fragment = unpad(payload, flags);
        if (flags & Flag.PRIORITY) fragment = fragment.subarray(5);
        this.#startBlock(streamId, fragment, flags);
        if (flags & Flag.END_STREAM) this.#ended.set(streamId, { ended: true });
        break;
      }
      case FrameType.PUSH_PROMISE:
        // Decoded for the dynamic table's sake, filed under the promised stream.
        this.#startBlock(unpad(payload, flags).readUInt32BE(0) & 0x7fff_ffff, unpad(payload, flags).subarray(4), flags);
        break;
      case FrameType.CONTINUATION:
        if (this.#block === undefined) throw new Error(`CONTINUATION on stream ${streamId} without a header block`);
        this.#block.chunks.push(payload);
        if (flags & Flag.END_HEADERS) this.#endBlock();
        break;
      case FrameType.RST_STREAM:
        this.#ended.set(streamId, { reset: payload.readUInt32BE(0) });
        break;
      case FrameType.SETTINGS:
        if (flags & Flag.ACK) break;
        for (let i = 0; i + 6 <= payload.length; i += 6) this.#applySetting(payload.readUInt16BE(i), payload.readUInt32BE(i + 2));
        if (this.#ackSettings) this.send(settingsAckFrame());
        break;
      case FrameType.PING:
        if ((flags & Flag.ACK) === 0) this.send(pingFrame(payload, { ack: true }));
        break;
      case FrameType.GOAWAY:
        this.goaways.push({ lastStreamId: payload.readUInt32BE(0) & 0x7fff_ffff, errorCode: payload.readUInt32BE(4), debug: payload.subarray(8).toString('latin1') });
        break;
      case FrameType.WINDOW_UPDATE: {
        const increment = payload.readUInt32BE(0) & 0x7fff_ffff;
        if (streamId === 0) this.#sendConnection += increment;
        else this.#sendStreams.set(streamId, (this.#sendStreams.get(streamId) ?? this.#sendInitial) + increment);
        break;
      }
      default:
        break;
    }
  }

  #applySetting(id: number, value: number): void {
    if (id === Setting.INITIAL_WINDOW_SIZE) {
      // §6.9.2: a new initial window shifts every open stream's window by the difference.
      const delta = value - this.#sendInitial;
      for (const [stream, window] of this.#sendStreams) this.#sendStreams.set(stream, window + delta);
      this.#sendInitial = value;
    }
    this.serverSettings.set(id, value);
  }

  #startBlock(streamId: number, fragment: Buffer, flags: number): void {
    this.#block = { streamId, chunks: [fragment] };
    if (flags & Flag.END_HEADERS) this.#endBlock();
  }

  #endBlock(): void {
    const { streamId, chunks } = this.#block!;
    this.#block = undefined;
    const list = this.#decoder.decode(Buffer.concat(chunks));
    this.headerBlocks.set(streamId, [...(this.headerBlocks.get(streamId) ?? []), list]);
  }
}

/** The payload of a DATA or HEADERS frame without its padding (the PADDED flag is 0x8 on both). */
function unpad(payload: Buffer, flags: number): Buffer {
  if ((flags & Flag.PADDED) === 0) return payload;
  const padLength = payload[0] ?? 0;
  return payload.subarray(1, payload.length - padLength);
}

/** The value of the first field named `name`. */
export function headerValue(list: HeaderList, name: string): string | undefined {
  return list.find(([n]) => n === name)?.[1];
}

// ---- Fulcrum under test: an h2c service in this process ---------------------------------------

/** Access-log records as the worker writes them, kept in memory and awaitable. */
export class RecordingLog implements AccessLogSink {
  readonly records: AccessRecord[] = [];
  readonly #waiters = new Set<() => void>();

  log(r: AccessRecord): void {
    this.records.push(r);
    for (const waiter of [...this.#waiters]) waiter();
  }

  logConnection(): void {}

  async close(): Promise<void> {}

  /** The first record from index `from` on (already written, or to come) that `match` accepts. */
  waitFor(match: (r: AccessRecord) => boolean, from = 0, timeoutMs = 5000): Promise<AccessRecord> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.records.slice(from).find(match);
        if (found === undefined) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no such access-log record within ${timeoutMs} ms; have ${JSON.stringify(this.records.map((r) => [r.termination, r.status, r.error]))}`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }
}

export interface H2cService {
  port: number;
  backends: Backends;
  runtime: WorkerRuntime;
  accessLog: RecordingLog;
  /** The worker's HTTP/2 counters for the service (floods by limit, protocol errors). */
  events(): Http2Events | undefined;
  close(): Promise<void>;
}

/**
 * One worker in this process serving an http virtual service with h2c (`http2: { cleartext:
 * true, ...http2 }`) in front of one real server from backends.ts. `service` adds or overrides
 * fields of the virtual service (`protocol: 'https'` with a `tls` block: h2 by ALPN, no h2c).
 */
export async function startH2cService(http2: Record<string, unknown> = {}, service: Record<string, unknown> = {}): Promise<H2cService> {
  const backends = await startBackends(1);
  const port = await freePort();
  const runtime = new WorkerRuntime();
  const accessLog = new RecordingLog();
  try {
    const text = stringify({
      workers: 1,
      accessLog: 'off',
      virtualServices: [
        {
          name: 'h2c',
          listen: `127.0.0.1:${port}`,
          protocol: 'http',
          http2: { ...(service['protocol'] === 'https' ? {} : { cleartext: true }), ...http2 },
          realServers: backends.servers.map((b) => ({ address: b.address })),
          ...service,
        },
      ],
    });
    const loaded = loadConfigText(text, 'h2c.yaml');
    if (!loaded.ok) throw new Error(`test config invalid:\n${text}\n${JSON.stringify(loaded.problems, null, 2)}`);
    await runtime.apply(loaded.config);
    // With accessLog off the runtime keeps no sink of its own: ours stays across reloads.
    runtime.ctx.accessLog = accessLog;
  } catch (err) {
    await backends.close();
    throw err;
  }
  return {
    port,
    backends,
    runtime,
    accessLog,
    events: () => runtime.ctx.http2Events.get('h2c'),
    close: async () => {
      await runtime.drain(0);
      await backends.close();
    },
  };
}
