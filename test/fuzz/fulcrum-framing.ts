/**
 * What Fulcrum makes of a byte stream from a client: the same steps as ClientConnection's
 * #readHead and #forwardBody (src/l7/client-connection.ts), without sockets. The head ends at the
 * first CRLFCRLF; the parser gets headEnd = that index + 2; the body is framed by Content-Length
 * or by the ChunkedDecoder from head.end; the next request starts where the body ends, at offset 0
 * of what is left. The engine stops reading after a request that does not keep the connection and
 * after an upgrade (it tunnels from there).
 *
 * `search` picks how the end of the head is found: 'engine' is what ClientConnection does today
 * (the first CRLFCRLF from offset 0); 'skip-empty-lines' is findRequestHeadEnd, which also skips
 * the empty lines a client may send before the request line. Both must pass the property.
 */
export type HeadSearch = 'engine' | 'skip-empty-lines';
import { CHUNKED_ERROR, CHUNKED_NEED_MORE, ChunkedDecoder } from '../../src/http/chunked.ts';
import { FieldTable } from '../../src/http/fields.ts';
import { ParseError } from '../../src/http/parse-error.ts';
import { BodyKind, RequestHead, type RequestLimits, findRequestHeadEnd, parseRequestHead } from '../../src/http/request-head.ts';

/** The schema defaults (src/config/schema.ts) and the engine's table size. */
export const DEFAULT_LIMITS: RequestLimits = { maxHeaderBytes: 16_384, maxHeaders: 100, maxUriBytes: 8_192 };
const FIELD_TABLE_CAPACITY = 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n');

export interface FulcrumMessage {
  method: string;
  target: string;
  /** As handled: HTTP/1.2-1.9 are 1.1 (RFC 9110 §2.5). */
  version: '1.0' | '1.1';
  /** The minor version digit as received, and its offset in the input. */
  minorVersion: number;
  minorVersionAt: number;
  /** Offsets in the input of the method token. */
  methodStart: number;
  methodEnd: number;
  /** What the rewriter forwards: the origin-form of the target, and the effective host ('' when none). */
  originForm: string;
  host: string;
  /** [name, value] as the field table holds them (value without surrounding OWS). */
  headers: Array<[string, string]>;
  bodyKind: BodyKind;
  /** The payload: Content-Length bytes, or the decoded chunks. */
  body: Buffer;
  /** [name, value] of the chunked trailer section. */
  trailers: Array<[string, string]>;
  /** The body ended inside the input (false: the engine waits for more bytes). */
  complete: boolean;
  /** Offset in the input just past this message; the next request starts here. */
  end: number;
  keepAlive: boolean;
  upgrade: boolean;
}

export type FulcrumStop =
  | { kind: 'end' } // every byte belongs to a complete message
  | { kind: 'incomplete' } // waiting for more bytes of a head or a body
  | { kind: 'refused'; error: ParseError } // a head the engine answers with 4xx/5xx
  | { kind: 'bad-chunk' } // the chunked framing of the last message is invalid
  | { kind: 'close' } // the last message does not keep the connection
  | { kind: 'upgrade' }; // the last message switches protocols

export interface FulcrumVerdict {
  messages: FulcrumMessage[];
  stop: FulcrumStop;
}

const head = new RequestHead();
const fields = new FieldTable(FIELD_TABLE_CAPACITY);
const decoder = new ChunkedDecoder();

export function fulcrumFrame(input: Buffer, search: HeadSearch = 'engine', limits: RequestLimits = DEFAULT_LIMITS): FulcrumVerdict {
  const messages: FulcrumMessage[] = [];
  let offset = 0;
  for (;;) {
    const data = input.subarray(offset);
    if (data.length === 0) return { messages, stop: { kind: 'end' } };
    // Index of the CRLFCRLF, as ClientConnection#readHead has it.
    const headEnd = search === 'engine' ? data.indexOf(CRLFCRLF) : findRequestHeadEnd(data, 0) - 2;
    if (headEnd < 0) {
      if (data.length > limits.maxHeaderBytes) return { messages, stop: { kind: 'refused', error: ParseError.HEADERS_TOO_LARGE } };
      return { messages, stop: { kind: 'incomplete' } };
    }
    if (headEnd + 4 > limits.maxHeaderBytes) return { messages, stop: { kind: 'refused', error: ParseError.HEADERS_TOO_LARGE } };
    const error = parseRequestHead(data, 0, headEnd + 2, head, fields, limits);
    if (error !== ParseError.NONE) return { messages, stop: { kind: 'refused', error } };

    const headers: Array<[string, string]> = [];
    for (let i = 0; i < fields.count; i++) {
      headers.push([
        data.toString('latin1', fields.lineStart[i]!, fields.nameEnd[i]!),
        data.toString('latin1', fields.valueStart[i]!, fields.valueEnd[i]!),
      ]);
    }
    const msg: FulcrumMessage = {
      method: head.method,
      target: head.target,
      version: head.http10 ? '1.0' : '1.1',
      minorVersion: head.minorVersion,
      minorVersionAt: offset + head.requestLineEnd - 1,
      methodStart: offset + head.start,
      methodEnd: offset + head.start + head.method.length,
      originForm: head.originForm,
      host: head.hostStart < 0 ? '' : data.toString('latin1', head.hostStart, head.hostEnd),
      headers,
      bodyKind: head.bodyKind,
      body: Buffer.alloc(0),
      trailers: [],
      complete: false,
      end: -1,
      keepAlive: head.keepAlive,
      upgrade: head.isUpgrade,
    };
    messages.push(msg);
    if (msg.upgrade) return { messages, stop: { kind: 'upgrade' } };

    const bodyStart = head.end;
    let bodyEnd: number;
    if (head.bodyKind === BodyKind.LENGTH) {
      bodyEnd = bodyStart + head.contentLength;
      if (bodyEnd > data.length) {
        msg.body = Buffer.from(data.subarray(bodyStart));
        return { messages, stop: { kind: 'incomplete' } };
      }
      msg.body = Buffer.from(data.subarray(bodyStart, bodyEnd));
    } else if (head.bodyKind === BodyKind.CHUNKED) {
      const chunks: Buffer[] = [];
      let lastDataEnd = -1;
      decoder.reset({
        onChunkData(buf, start, end) {
          chunks.push(Buffer.from(buf.subarray(start, end)));
          lastDataEnd = end;
        },
      });
      const r = decoder.feed(data, bodyStart, data.length);
      msg.body = Buffer.concat(chunks);
      if (r === CHUNKED_ERROR) return { messages, stop: { kind: 'bad-chunk' } };
      if (r === CHUNKED_NEED_MORE) return { messages, stop: { kind: 'incomplete' } };
      bodyEnd = r;
      // The trailer section runs from the line after the last-chunk line to the final CRLF. A
      // chunk extension cannot hold an LF, so the first LF after the last data ends that line.
      const lastChunkLine = lastDataEnd < 0 ? bodyStart : lastDataEnd + 2;
      const trailerStart = data.indexOf(0x0a, lastChunkLine) + 1;
      msg.trailers = splitFieldLines(data.toString('latin1', trailerStart, bodyEnd - 2));
    } else {
      bodyEnd = bodyStart;
    }
    msg.complete = true;
    msg.end = offset + bodyEnd;
    offset += bodyEnd;
    if (!msg.keepAlive) return { messages, stop: { kind: 'close' } };
  }
}

function splitFieldLines(section: string): Array<[string, string]> {
  if (section === '') return [];
  return section
    .split('\r\n')
    .filter((line) => line !== '')
    .map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon), line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '')];
    });
}
