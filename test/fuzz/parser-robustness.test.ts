// The parsers run inside a worker that serves every connection: whatever bytes arrive, they must
// return a code, never throw. Arbitrary bytes (fc.uint8Array) find the crashes nobody thought of;
// mutated requests and responses get past the first byte and into the deep states. When a parse
// succeeds, the offsets it hands the rewriter must lie inside the head.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CHUNKED_ERROR, CHUNKED_NEED_MORE, ChunkedDecoder } from '../../src/http/chunked.ts';
import { FieldTable } from '../../src/http/fields.ts';
import { HeaderKind } from '../../src/http/header-kind.ts';
import { PARSE_ERRORS, ParseError } from '../../src/http/parse-error.ts';
import { BodyKind, RequestHead, type RequestLimits, findRequestHeadEnd, parseRequestHead } from '../../src/http/request-head.ts';
import { ResponseHead, parseResponseHead } from '../../src/http/response-head.ts';
import { DEFAULT_LIMITS } from './fulcrum-framing.ts';
import { mutated, mutatedStream, requestStream } from './request-arbitraries.ts';
import { RUNS, SEED } from './settings.ts';

const CRLFCRLF = Buffer.from('\r\n\r\n');
const TIGHT_LIMITS: RequestLimits = { maxHeaderBytes: 64, maxHeaders: 2, maxUriBytes: 4 };

/** Bytes from nowhere, bytes from a request, and bytes from a request that went wrong. */
const anyBytes: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  // Random bytes around a CRLFCRLF, so that there is a head to parse.
  fc.tuple(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 50 })).map(([a, b]) => Buffer.concat([a, CRLFCRLF, b])),
  requestStream.map((t) => Buffer.from(t, 'latin1')),
  mutatedStream,
);

function isCode(e: number): boolean {
  return Number.isInteger(e) && e >= 0 && e < PARSE_ERRORS.length;
}

/** What a successful parse promises its callers (the rewriter slices the head by these). */
function checkRequestInvariants(head: RequestHead, fields: FieldTable, from: number, headEnd: number): void {
  assert.ok(head.start >= from && head.start < head.targetStart, 'request line start');
  assert.ok(head.targetStart < head.targetEnd && head.targetEnd < head.requestLineEnd, 'target');
  assert.ok(head.requestLineEnd <= headEnd, 'request line ends inside the head');
  assert.equal(head.end, headEnd + 2);
  let previous = head.requestLineEnd + 2;
  for (let i = 0; i < fields.count; i++) {
    const [ls, ne, vs, ve, le] = [fields.lineStart[i]!, fields.nameEnd[i]!, fields.valueStart[i]!, fields.valueEnd[i]!, fields.lineEnd[i]!];
    assert.ok(ls === previous && ls < ne && ne < vs + 1 && vs <= ve && ve <= le && le + 2 <= headEnd, `field ${i} offsets`);
    previous = le + 2;
  }
  assert.equal(previous, headEnd, 'fields end at the final CRLF');
  if (head.bodyKind === BodyKind.LENGTH) assert.ok(head.contentLength > 0 && Number.isSafeInteger(head.contentLength));
  // The new offsets the engine and the rewriter read: origin-form inside the target, the host
  // inside the target (absolute-form) or inside the Host value, its name inside it.
  assert.ok(head.originStart >= head.targetStart && head.originStart <= head.targetEnd, 'originStart');
  assert.ok(head.minorVersion >= 0 && head.minorVersion <= 9 && head.http10 === (head.minorVersion === 0), 'version');
  if (head.hostStart < 0) {
    assert.ok(head.http10 && head.hostField < 0 && !head.absoluteForm && head.hostEnd < 0 && head.hostNameEnd < 0, 'no host');
  } else {
    assert.ok(head.hostStart < head.hostNameEnd && head.hostNameEnd <= head.hostEnd, 'host name inside the host');
    if (head.absoluteForm) assert.ok(head.hostStart > head.targetStart && head.hostEnd === head.originStart, 'authority');
    else assert.ok(head.hostStart === fields.valueStart[head.hostField] && head.hostEnd === fields.valueEnd[head.hostField], 'Host value');
  }
  if (head.contentLengthField >= 0) assert.equal(fields.kind[head.contentLengthField], HeaderKind.CONTENT_LENGTH);
  assert.ok(head.bodyKind === BodyKind.NONE || head.bodyKind === BodyKind.LENGTH || head.bodyKind === BodyKind.CHUNKED);
}

describe('parsers never throw', () => {
  it('parseRequestHead: any bytes, head end found as the engine finds it', () => {
    const head = new RequestHead();
    const fields = new FieldTable(1024);
    fc.assert(
      fc.property(anyBytes, (buf) => {
        for (const headEnd of [buf.indexOf(CRLFCRLF) + 2, findRequestHeadEnd(buf, 0)]) {
          if (headEnd < 2) continue;
          const e = parseRequestHead(buf, 0, headEnd, head, fields, DEFAULT_LIMITS);
          assert.ok(isCode(e), `code ${e}`);
          if (e === ParseError.NONE) checkRequestInvariants(head, fields, 0, headEnd);
        }
      }),
      { seed: SEED, numRuns: RUNS * 3 },
    );
  });

  it('parseRequestHead: any bytes, any head end, tight limits and a small field table', () => {
    const head = new RequestHead();
    const small = new FieldTable(3);
    fc.assert(
      fc.property(anyBytes, fc.nat(), fc.nat(), (buf, from, end) => {
        const start = from % (buf.length + 1);
        const headEnd = start + (end % (buf.length + 3 - start));
        for (const limits of [DEFAULT_LIMITS, TIGHT_LIMITS]) {
          assert.ok(isCode(parseRequestHead(buf, start, headEnd, head, small, limits)));
        }
      }),
      { seed: SEED + 2, numRuns: RUNS * 3 },
    );
  });

  it('findRequestHeadEnd: -1 or the index of the final CRLF of a CRLFCRLF, wherever the bytes were cut', () => {
    fc.assert(
      fc.property(anyBytes, fc.nat(), (buf, cut) => {
        const i = findRequestHeadEnd(buf, 0);
        assert.ok(i === -1 || (i >= 2 && buf.toString('latin1', i - 2, i + 2) === '\r\n\r\n'), `index ${i}`);
        // The head arrived in two reads and the first had no end: resuming the search finds the same end.
        const k = cut % (buf.length + 1);
        if (findRequestHeadEnd(buf.subarray(0, k), 0) === -1) assert.equal(findRequestHeadEnd(buf, 0, k), i);
      }),
      { seed: SEED + 3, numRuns: RUNS },
    );
  });

  it('ChunkedDecoder.feed: any bytes, fed whole or in pieces, gives the same verdict', () => {
    const whole = new ChunkedDecoder();
    const pieces = new ChunkedDecoder();
    // Chunked bodies from the request generators (everything after the first head), and noise.
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
      fc.oneof(requestStream.map((t) => Buffer.from(t, 'latin1')), mutatedStream).map((b) => {
        const i = b.indexOf(CRLFCRLF);
        return i < 0 ? b : b.subarray(i + 4);
      }),
    );
    fc.assert(
      fc.property(body, fc.array(fc.nat(), { maxLength: 8 }), (buf, cuts) => {
        const decoded: Buffer[] = [];
        whole.reset({ onChunkData: (b, s, e) => decoded.push(Buffer.from(b.subarray(s, e))) });
        const r = whole.feed(buf, 0, buf.length);
        assert.ok(r === CHUNKED_NEED_MORE || r === CHUNKED_ERROR || (Number.isInteger(r) && r > 0 && r <= buf.length), `result ${r}`);

        // The same bytes as a socket might deliver them: the verdict must not depend on the cuts.
        const decodedInPieces: Buffer[] = [];
        pieces.reset({ onChunkData: (b, s, e) => decodedInPieces.push(Buffer.from(b.subarray(s, e))) });
        const bounds = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
        let start = 0;
        let rp = CHUNKED_NEED_MORE;
        for (const end of [...bounds, buf.length]) {
          if (end < start) continue;
          rp = pieces.feed(buf, start, end);
          if (rp !== CHUNKED_NEED_MORE) break;
          start = end;
        }
        assert.equal(rp, r, 'same end of body');
        assert.deepEqual(Buffer.concat(decodedInPieces), Buffer.concat(decoded), 'same payload');
      }),
      { seed: SEED + 4, numRuns: RUNS * 3 },
    );
  });

  it('parseResponseHead: any bytes and mutated responses', () => {
    const res = new ResponseHead();
    const fields = new FieldTable(1024);
    const response = fc
      .tuple(
        fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 '),
        fc.constantFrom('200', '204', '304', '101', '100', '404', '999', '20', '2000'),
        fc.constantFrom(' OK', '', ' ', ' \u00e9t\u00e9', ' a\tb'),
        fc.array(fc.constantFrom('Content-Length: 5', 'Content-Length: 5, 5', 'Content-Length: 1, 2', 'Transfer-Encoding: gzip, chunked', 'Transfer-Encoding: chunked', 'Connection: close', 'Connection: keep-alive, x', 'Keep-Alive: 5', 'Upgrade: h2c', 'X: y'), { maxLength: 4 }),
      )
      .map(([v, code, reason, headers]) => `${v} ${code}${reason}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\nbody`);
    const bytes = fc.oneof(anyBytes, mutated(response), response.map((t) => Buffer.from(t, 'latin1')));
    fc.assert(
      fc.property(bytes, fc.boolean(), (buf, isHead) => {
        const i = buf.indexOf(CRLFCRLF);
        if (i < 0) return;
        const e = parseResponseHead(buf, 0, i + 2, res, fields, 100, isHead);
        assert.ok(isCode(e), `code ${e}`);
        if (e === ParseError.NONE) {
          assert.ok(Number.isInteger(res.status) && res.status >= 100 && res.status <= 599, `status ${res.status}`);
          assert.ok(res.statusLineEnd <= i && res.end === i + 4);
          assert.ok(res.contentLength >= 0 && Number.isSafeInteger(res.contentLength));
        }
      }),
      { seed: SEED + 5, numRuns: RUNS * 3 },
    );
  });
});
