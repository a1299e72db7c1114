import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeChunked, ResponseReader, type ResponseOutcome } from '../../src/health/response.ts';

function read(bytes: string, options = { head: false, wantBody: (_status: number) => true }, split = 1): ResponseOutcome {
  const reader = new ResponseReader(options);
  // Deliver in pieces of `split` bytes: every boundary must work.
  for (let i = 0; i < bytes.length; i += split) {
    const outcome = reader.push(Buffer.from(bytes.slice(i, i + split), 'latin1'));
    if (outcome !== null) return outcome;
  }
  return reader.end();
}

function bodyOf(outcome: ResponseOutcome): string | null {
  assert.equal(outcome.kind, 'response');
  return outcome.kind === 'response' && outcome.body !== null ? outcome.body.toString('latin1') : null;
}

describe('response reader', () => {
  it('reads status and a Content-Length body, byte by byte', () => {
    const outcome = read('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello, and more');
    assert.deepEqual([outcome.kind === 'response' && outcome.status, bodyOf(outcome)], [200, 'hello']);
  });

  it('stops at the status when the body is not wanted, and for HEAD, 204 and 304', () => {
    const notWanted = read('HTTP/1.1 500 Oops\r\nContent-Length: 100\r\n\r\n', { head: false, wantBody: () => false });
    assert.deepEqual(notWanted, { kind: 'response', status: 500, body: null });
    assert.deepEqual(read('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n', { head: true, wantBody: () => true }), { kind: 'response', status: 200, body: null });
    assert.deepEqual(read('HTTP/1.1 204 No Content\r\n\r\n'), { kind: 'response', status: 204, body: null });
  });

  it('decodes a chunked body, in any split', () => {
    const text = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';
    for (const split of [1, 3, 7, text.length]) assert.equal(bodyOf(read(text, undefined, split)), 'hello world', `split ${split}`);
    assert.deepEqual(decodeChunked(Buffer.from('3\r\nabc\r\n2\r\nd')), { body: Buffer.from('abcd'), complete: false });
  });

  it('reads a close-delimited body to the end, and at most 4 KiB of any body', () => {
    assert.equal(bodyOf(read('HTTP/1.0 200 OK\r\n\r\nuntil close')), 'until close');
    const big = 'x'.repeat(10_000);
    assert.equal(bodyOf(read(`HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n${big}`, undefined, 1000))?.length, 4096);
    assert.equal(bodyOf(read(`HTTP/1.0 200 OK\r\n\r\n${big}`, undefined, 1000))?.length, 4096);
  });

  it('accepts bare LF line ends and skips 1xx interim responses', () => {
    assert.equal(bodyOf(read('HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\nContent-Length: 2\n\nok')), 'ok');
  });

  it('tells not-HTTP, a head that is too large, and an early close apart', () => {
    assert.equal(read('\x15\x03\x01\x00\x02\x02\x46').kind, 'not-http');
    assert.equal(read('SSH-2.0-OpenSSH\r\n').kind, 'not-http');
    assert.equal(read('HTTP/1.1 20x OK\r\n\r\n').kind, 'not-http');
    assert.equal(read(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`, undefined, 4096).kind, 'head-too-large');
    assert.deepEqual(read('HTTP/1.1 200'), { kind: 'incomplete', received: 12 });
    assert.deepEqual(read(''), { kind: 'incomplete', received: 0 });
  });
});
