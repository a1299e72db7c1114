// Regression tests for the four wire-level faults users found, one block per fault, at the codec:
// what parseRequestHead makes of the request and what writeUpstreamRequestHead forwards. The
// end-to-end counterparts (a real server behind a real worker) are in test/l7/forwarding.test.ts
// and test/l7/strictness.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHUNKED_ERROR, CHUNKED_NEED_MORE, ChunkedDecoder } from '../../src/http/chunked.ts';
import { FieldTable, parseDecimal } from '../../src/http/fields.ts';
import { internMethod, isIdempotent, isKnownMethod } from '../../src/http/methods.ts';
import { PARSE_ERRORS, ParseError } from '../../src/http/parse-error.ts';
import { BodyKind, RequestHead, findRequestHeadEnd, parseRequestHead } from '../../src/http/request-head.ts';
import { type ForwardingPolicy, writeUpstreamRequestHead } from '../../src/http/rewrite.ts';

const LIMITS = { maxHeaderBytes: 16_384, maxHeaders: 100, maxUriBytes: 8_192 };
const NO_FORWARDING: ForwardingPolicy = { xForwardedFor: 'off', xForwardedProto: false, xForwardedHost: false, forwarded: false, proto: 'http' };

interface Parsed {
  error: ParseError;
  head: RequestHead;
  fields: FieldTable;
  buf: Buffer;
}

function parse(text: string): Parsed {
  const buf = Buffer.from(text, 'latin1');
  const head = new RequestHead();
  const fields = new FieldTable(64);
  const error = parseRequestHead(buf, 0, findRequestHeadEnd(buf, 0), head, fields, LIMITS);
  return { error, head, fields, buf };
}

function accepted(text: string): Parsed {
  const p = parse(text);
  assert.equal(p.error, ParseError.NONE, `${JSON.stringify(text)}: ${PARSE_ERRORS[p.error]?.reason}`);
  return p;
}

/** The head the real server gets. */
function forward(text: string, policy = NO_FORWARDING): string {
  const { head, fields } = accepted(text);
  const { buf, headLength } = writeUpstreamRequestHead(head, fields, '192.0.2.1', policy, 0);
  assert.equal(buf.length, headLength, 'the head fills its buffer exactly');
  return buf.toString('latin1', 0, headLength);
}

function slice(p: Parsed, start: number, end: number): string {
  return p.buf.toString('latin1', start, end);
}

describe('fault: exchange farms cannot be balanced (methods outside Node\'s list got 501)', () => {
  it('RPC_IN_DATA and RPC_OUT_DATA are parsed with their bodies and forwarded with the method intact', () => {
    const p = accepted('RPC_IN_DATA /rpc/rpcproxy.dll?mail.example:6001 HTTP/1.1\r\nHost: mail.example\r\nContent-Length: 1073741824\r\n\r\n');
    assert.equal(p.head.method, 'RPC_IN_DATA');
    assert.equal(p.head.bodyKind, BodyKind.LENGTH);
    assert.equal(p.head.contentLength, 1_073_741_824);
    assert.match(forward('RPC_OUT_DATA /rpc/rpcproxy.dll HTTP/1.1\r\nHost: m\r\nContent-Length: 76\r\n\r\n'), /^RPC_OUT_DATA \/rpc\/rpcproxy\.dll HTTP\/1\.1\r\n/);
  });

  it('every token is a method, case-sensitive: "get" is not GET', () => {
    for (const method of ['get', 'Get', 'FROB', 'PRI', 'BAN', 'M-SEARCH', "!#$%&'*+-.^_`|~", 'X'.repeat(40)]) {
      assert.equal(accepted(`${method} / HTTP/1.1\r\nHost: a\r\n\r\n`).head.method, method);
    }
  });

  it('CONNECT is still refused with 405, and a method that is not a token with 400', () => {
    assert.equal(parse('CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n').error, ParseError.CONNECT_NOT_SUPPORTED);
    assert.equal(PARSE_ERRORS[ParseError.CONNECT_NOT_SUPPORTED]!.status, 405);
    for (const line of ['GE(T / HTTP/1.1', 'G\u00e9T / HTTP/1.1', ' / HTTP/1.1', 'GE,T / HTTP/1.1']) {
      assert.equal(parse(`${line}\r\nHost: a\r\n\r\n`).error, ParseError.BAD_REQUEST_LINE, line);
    }
  });

  it('known methods are interned: the same string instance, no string made', () => {
    for (const method of ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'UNSUBSCRIBE']) {
      const buf = Buffer.from(`xx${method} `, 'latin1');
      const interned = internMethod(buf, 2, method.length);
      assert.equal(interned, method);
      assert.ok(isKnownMethod(interned));
    }
    assert.equal(internMethod(Buffer.from('RPC_IN_DATA'), 0, 11), 'RPC_IN_DATA');
    assert.equal(isKnownMethod('RPC_IN_DATA'), false);
    assert.equal(isKnownMethod('get'), false);
  });

  it('unknown methods are not idempotent: never replayed on a retry', () => {
    for (const method of ['RPC_IN_DATA', 'RPC_OUT_DATA', 'get', 'FROB', 'POST', 'PATCH']) assert.equal(isIdempotent(method), false, method);
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']) assert.equal(isIdempotent(method), true, method);
  });
});

describe('fault: leading zeros (a long Content-Length or chunk size was refused even when small)', () => {
  it('Content-Length is bounded by its value (2^53 - 1), not its digits', () => {
    const decimal = (s: string): number => parseDecimal(Buffer.from(s, 'latin1'), 0, s.length);
    assert.equal(decimal('0000000000000005'), 5);
    assert.equal(decimal(`${'0'.repeat(5000)}42`), 42);
    assert.equal(decimal('0000000000000000'), 0);
    assert.equal(decimal('9007199254740991'), Number.MAX_SAFE_INTEGER);
    assert.equal(decimal('009007199254740991'), Number.MAX_SAFE_INTEGER);
    assert.equal(decimal('9007199254740992'), -1);
    assert.equal(decimal('9007199254740993'), -1);
    assert.equal(decimal('90071992547409910'), -1);
    assert.equal(decimal('99999999999999999999'), -1);
    for (const bad of ['', '+5', '-5', '5 ', '0x5', '5a', '5,5']) assert.equal(decimal(bad), -1, bad);
  });

  it('a request with Content-Length 0000000000000005 has a 5-byte body, forwarded as Content-Length: 5 in place', () => {
    const p = accepted('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0000000000000005\r\nX-After: 1\r\n\r\nhello');
    assert.equal(p.head.bodyKind, BodyKind.LENGTH);
    assert.equal(p.head.contentLength, 5);
    assert.equal(forward('POST / HTTP/1.1\r\nHost: a\r\ncontent-length:  0000000000000005 \r\nX-After: 1\r\n\r\n'), 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nX-After: 1\r\n\r\n');
    assert.equal(forward('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 000\r\n\r\n'), 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n');
  });

  it('a canonical Content-Length goes out as it came, byte for byte', () => {
    assert.equal(forward('POST / HTTP/1.1\r\nHost: a\r\ncontent-length:5\r\n\r\n'), 'POST / HTTP/1.1\r\nHost: a\r\ncontent-length:5\r\n\r\n');
    assert.equal(forward('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n'), 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n');
  });

  it('Content-Length over 2^53 - 1 is still refused', () => {
    assert.equal(parse('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9007199254740992\r\n\r\n').error, ParseError.BAD_CONTENT_LENGTH);
  });

  function feed(body: string, pieces = 1): { result: number; payload: string } {
    const decoder = new ChunkedDecoder();
    let payload = '';
    decoder.reset({ onChunkData: (b, s, e) => (payload += b.toString('latin1', s, e)) });
    const buf = Buffer.from(body, 'latin1');
    const step = Math.ceil(buf.length / pieces);
    let result = CHUNKED_NEED_MORE;
    for (let at = 0; at < buf.length && result === CHUNKED_NEED_MORE; at += step) result = decoder.feed(buf, at, Math.min(buf.length, at + step));
    return { result, payload };
  }

  it('a chunk size is bounded by its value (2^52 - 1), not its digits, whole or fed byte by byte', () => {
    const body = '00000000000000005\r\nhello\r\n000000000000000000000000000000\r\n\r\n';
    for (const pieces of [1, 3, body.length]) {
      assert.deepEqual(feed(body, pieces), { result: body.length, payload: 'hello' }, `${pieces} pieces`);
    }
    assert.deepEqual(feed(`${'0'.repeat(10_000)}1\r\nx\r\n0\r\n\r\n`).payload, 'x');
    assert.equal(feed('fffffffffffff\r\nabc').result, CHUNKED_NEED_MORE); // 2^52 - 1
    assert.equal(feed('0000fffffffffffff\r\nabc').result, CHUNKED_NEED_MORE);
    assert.equal(feed('10000000000000\r\nabc').result, CHUNKED_ERROR); // 2^52
    assert.equal(feed('1000000000000000a\r\nabc').result, CHUNKED_ERROR); // wraps to 10 in 64 bits
  });
});

describe('fault: Host is not validated as a host', () => {
  const refusedHosts = ['a, b', 'a,b', 'user@a', 'a/b', ' ', '\t', '', 'a:99999', 'a..b', '%61'];
  for (const host of refusedHosts) {
    it(`Host ${JSON.stringify(host)} is refused: 400 invalid Host header`, () => {
      const { error } = parse(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      assert.equal(error, ParseError.BAD_HOST);
      assert.deepEqual(PARSE_ERRORS[error], { status: 400, reason: 'invalid Host header' });
    });
  }

  it('an invalid Host is refused in HTTP/1.0 and beside an absolute-form target too', () => {
    assert.equal(parse('GET / HTTP/1.0\r\nHost: a/b\r\n\r\n').error, ParseError.BAD_HOST);
    assert.equal(parse('GET http://a/ HTTP/1.1\r\nHost: a,b\r\n\r\n').error, ParseError.BAD_HOST);
  });

  it('an HTTP/1.1 request still needs a Host, absolute-form or not; HTTP/1.0 does not', () => {
    assert.equal(parse('GET / HTTP/1.1\r\n\r\n').error, ParseError.MISSING_HOST);
    assert.equal(parse('GET http://a/ HTTP/1.1\r\n\r\n').error, ParseError.MISSING_HOST);
    const p = accepted('GET / HTTP/1.0\r\n\r\n');
    assert.deepEqual([p.head.hostStart, p.head.hostNameEnd, p.head.hostEnd, p.head.hostName], [-1, -1, -1, '']);
  });

  it('an absolute-form authority follows the same grammar (400 invalid request target)', () => {
    for (const target of ['http://a,b/', 'http://user@a/', 'http:///x', 'http://a:99999/', 'http://%61/', 'http://a..b/', 'http://[::1/']) {
      assert.equal(parse(`GET ${target} HTTP/1.1\r\nHost: a\r\n\r\n`).error, ParseError.BAD_TARGET, target);
    }
  });

  it('origin-form: the effective host is the Host value; hostNameEnd leaves out the port and an FQDN\'s dot', () => {
    const p = accepted('GET /x HTTP/1.1\r\nHost:  Shop.Example.:8080 \r\n\r\n');
    assert.equal(p.head.absoluteForm, false);
    assert.equal(slice(p, p.head.hostStart, p.head.hostEnd), 'Shop.Example.:8080');
    assert.equal(slice(p, p.head.hostStart, p.head.hostNameEnd), 'Shop.Example');
    assert.equal(p.head.hostName, 'Shop.Example');
    assert.equal(p.head.originStart, p.head.targetStart);
    assert.equal(p.head.originForm, '/x');
  });

  it('absolute-form: the effective host is the authority, whatever the Host field says', () => {
    const p = accepted('GET http://a.example:81/x?y=1 HTTP/1.1\r\nHost: b.example\r\n\r\n');
    assert.equal(p.head.absoluteForm, true);
    assert.equal(slice(p, p.head.hostStart, p.head.hostEnd), 'a.example:81');
    assert.equal(p.head.hostName, 'a.example');
    assert.equal(slice(p, p.head.originStart, p.head.targetEnd), '/x?y=1');
    assert.equal(p.head.target, 'http://a.example:81/x?y=1');
    const ipv6 = accepted('GET https://[::1]:8443 HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(ipv6.head.hostName, '[::1]');
    assert.equal(ipv6.head.originForm, '/');
  });

  it('the rewriter forwards origin-form with Host: <authority> first, and drops the client\'s Host', () => {
    assert.equal(
      forward('GET http://a.example/x?y HTTP/1.1\r\nX-Before: 1\r\nHost: b.example\r\nX-After: 2\r\n\r\n'),
      'GET /x?y HTTP/1.1\r\nHost: a.example\r\nX-Before: 1\r\nX-After: 2\r\n\r\n',
    );
    assert.equal(forward('GET http://a.example HTTP/1.1\r\nHost: b\r\n\r\n'), 'GET / HTTP/1.1\r\nHost: a.example\r\n\r\n');
    assert.equal(forward('GET HTTP://a.example:8080?q=1 HTTP/1.1\r\nHost: b\r\n\r\n'), 'GET /?q=1 HTTP/1.1\r\nHost: a.example:8080\r\n\r\n');
    // RFC 9112 §3.2.4: OPTIONS to an authority with neither path nor query is OPTIONS *.
    assert.equal(forward('OPTIONS http://a.example:8080 HTTP/1.1\r\nHost: b\r\n\r\n'), 'OPTIONS * HTTP/1.1\r\nHost: a.example:8080\r\n\r\n');
    assert.equal(forward('OPTIONS http://a.example?q HTTP/1.1\r\nHost: b\r\n\r\n'), 'OPTIONS /?q HTTP/1.1\r\nHost: a.example\r\n\r\n');
    // HTTP/1.0 without a Host field: the authority gives it one, and so it can go out as 1.1.
    assert.equal(forward('GET http://a/x HTTP/1.0\r\n\r\n'), 'GET /x HTTP/1.1\r\nHost: a\r\n\r\n');
  });

  it('X-Forwarded-Host and Forwarded carry the effective host', () => {
    const policy: ForwardingPolicy = { xForwardedFor: 'off', xForwardedProto: false, xForwardedHost: true, forwarded: true, proto: 'http' };
    const out = forward('GET http://a.example/ HTTP/1.1\r\nHost: evil.example\r\n\r\n', policy);
    assert.match(out, /\r\nX-Forwarded-Host: a\.example\r\n/);
    assert.match(out, /\r\nForwarded: for=192\.0\.2\.1;host=a\.example;proto=http\r\n/);
    assert.doesNotMatch(out, /evil/);
  });

  it('origin-form requests go out with the Host and request line exactly as received', () => {
    const text = 'GET /a?b HTTP/1.1\r\nhost: Shop.Example.TEST:8080\r\n\r\n';
    assert.equal(forward(text), text);
  });
});

describe('fault: HTTP/1.2 got 505', () => {
  it('HTTP/1.2 to HTTP/1.9 are handled as HTTP/1.1 and forwarded as HTTP/1.1', () => {
    for (const minor of [2, 5, 9]) {
      const p = accepted(`GET / HTTP/1.${minor}\r\nHost: a\r\n\r\n`);
      assert.equal(p.head.minorVersion, minor);
      assert.equal(p.head.http10, false);
      assert.equal(p.head.keepAlive, true);
      assert.equal(forward(`GET /x HTTP/1.${minor}\r\nHost: a\r\n\r\n`), 'GET /x HTTP/1.1\r\nHost: a\r\n\r\n');
    }
  });

  it('HTTP/1.2 is HTTP/1.1 in every way: Host required, chunked allowed', () => {
    assert.equal(parse('GET / HTTP/1.2\r\n\r\n').error, ParseError.MISSING_HOST);
    assert.equal(accepted('POST / HTTP/1.2\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n').head.bodyKind, BodyKind.CHUNKED);
  });

  it('other major versions are still 505, malformed versions 400', () => {
    for (const version of ['HTTP/2.0', 'HTTP/3.0', 'HTTP/0.9']) {
      assert.equal(parse(`GET / ${version}\r\nHost: a\r\n\r\n`).error, ParseError.UNSUPPORTED_VERSION, version);
    }
    for (const version of ['HTTP/1.a', 'http/1.1', 'HTTP/1.10', 'HTTP/11', 'HTTP/1']) {
      assert.equal(PARSE_ERRORS[parse(`GET / ${version}\r\nHost: a\r\n\r\n`).error]!.status, 400, version);
    }
  });

  it('HTTP/1.0 keeps its version without a host and goes out as 1.1 with one (unchanged)', () => {
    assert.equal(forward('GET / HTTP/1.0\r\n\r\n'), 'GET / HTTP/1.0\r\n\r\n');
    assert.equal(forward('GET / HTTP/1.0\r\nHost: a\r\n\r\n'), 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  });
});
