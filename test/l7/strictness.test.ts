// Strict request parsing: every ambiguous or malformed request is answered with the right status,
// never reaches a real server, and the connection is closed (a request smuggler gets no second go).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRawServer, type RawServer } from '../helpers/backends.ts';
import { parseResponse, rawExchange, RawClient, sleep, startProxy, type Proxy } from './harness.ts';

interface Case {
  name: string;
  request: string;
  status: number;
  /** A fragment of the reason in the body. */
  reason?: RegExp;
}

const H = 'Host: a\r\n';
const CASES: Case[] = [
  // Framing ambiguity: the classic request-smuggling vectors.
  { name: 'Content-Length and Transfer-Encoding together', request: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, status: 400, reason: /both Content-Length and Transfer-Encoding/ },
  { name: 'Transfer-Encoding then Content-Length', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\n`, status: 400 },
  { name: 'two Content-Length fields (same value)', request: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`, status: 400, reason: /several Content-Length/ },
  { name: 'two Content-Length fields (different values)', request: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`, status: 400 },
  { name: 'Content-Length list in one field', request: `POST / HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\nhello`, status: 400 },
  { name: 'negative Content-Length', request: `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`, status: 400, reason: /invalid Content-Length/ },
  { name: 'Content-Length with a plus sign', request: `POST / HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello`, status: 400 },
  { name: 'hexadecimal Content-Length', request: `POST / HTTP/1.1\r\n${H}Content-Length: 0x5\r\n\r\nhello`, status: 400 },
  { name: 'Content-Length with trailing letters', request: `POST / HTTP/1.1\r\n${H}Content-Length: 5a\r\n\r\nhello`, status: 400 },
  { name: 'empty Content-Length', request: `POST / HTTP/1.1\r\n${H}Content-Length: \r\n\r\n`, status: 400 },
  { name: 'Content-Length beyond 2^53', request: `POST / HTTP/1.1\r\n${H}Content-Length: 99999999999999999999\r\n\r\n`, status: 400 },
  { name: 'Transfer-Encoding gzip (not ending in chunked)', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n`, status: 400, reason: /must end with chunked/ },
  { name: 'Transfer-Encoding chunked, gzip', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n`, status: 400 },
  { name: 'Transfer-Encoding chunked twice', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, status: 400 },
  { name: 'Transfer-Encoding xchunked', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n`, status: 400 },
  { name: 'Transfer-Encoding in an HTTP/1.0 request', request: `POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, status: 400 },
  { name: 'malformed chunk size', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`, status: 400, reason: /chunked/ },
  { name: 'chunk without its CRLF', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhelloX0\r\n\r\n`, status: 400 },
  // Line syntax.
  { name: 'obsolete line folding', request: `GET / HTTP/1.1\r\n${H}X-A: one\r\n  two\r\n\r\n`, status: 400, reason: /folding/ },
  { name: 'obs-fold right after the request line', request: 'GET / HTTP/1.1\r\n Host: a\r\n\r\n', status: 400 },
  { name: 'bare CR inside a header value', request: `GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n`, status: 400 },
  { name: 'bare CR ending a header line', request: `GET / HTTP/1.1\r\n${H}X-A: a\r\rX-B: b\r\n\r\n`, status: 400 },
  { name: 'bare LF line endings throughout', request: 'GET / HTTP/1.1\nHost: a\n\n', status: 400, reason: /bare CR or LF/ },
  { name: 'bare LF ending one header line', request: `GET / HTTP/1.1\r\nX-A: a\n${H}\r\n`, status: 400 },
  { name: 'bare LF ending the request line', request: `GET / HTTP/1.1\n${H}\r\n`, status: 400 },
  { name: 'space in a header name', request: `GET / HTTP/1.1\r\n${H}Bad Name: x\r\n\r\n`, status: 400, reason: /invalid header name/ },
  { name: 'space before the colon', request: 'GET / HTTP/1.1\r\nHost : a\r\n\r\n', status: 400 },
  { name: 'parenthesis in a header name', request: `GET / HTTP/1.1\r\n${H}X(A): 1\r\n\r\n`, status: 400 },
  { name: 'empty header name', request: `GET / HTTP/1.1\r\n${H}: x\r\n\r\n`, status: 400 },
  { name: 'header line without a colon', request: `GET / HTTP/1.1\r\n${H}NoColon\r\n\r\n`, status: 400 },
  { name: 'NUL in a header value', request: `GET / HTTP/1.1\r\n${H}X-A: a\x00b\r\n\r\n`, status: 400, reason: /invalid header value/ },
  { name: 'DEL in a header value', request: `GET / HTTP/1.1\r\n${H}X-A: a\x7fb\r\n\r\n`, status: 400 },
  { name: 'control character in a header value', request: `GET / HTTP/1.1\r\n${H}X-A: a\x01b\r\n\r\n`, status: 400 },
  // Request line.
  { name: 'two spaces after the method', request: `GET  / HTTP/1.1\r\n${H}\r\n`, status: 400, reason: /invalid request line/ },
  { name: 'extra token after the version', request: `GET / HTTP/1.1 extra\r\n${H}\r\n`, status: 400 },
  { name: 'tab as a separator', request: `GET\t/ HTTP/1.1\r\n${H}\r\n`, status: 400 },
  { name: 'missing version', request: `GET /\r\n${H}\r\n`, status: 400 },
  { name: 'lower-case version', request: `GET / http/1.1\r\n${H}\r\n`, status: 400 },
  { name: 'target without a leading slash', request: `GET index.html HTTP/1.1\r\n${H}\r\n`, status: 400 },
  { name: 'control character in the target', request: `GET /a\x01b HTTP/1.1\r\n${H}\r\n`, status: 400 },
  // Any token is a method (RFC 9110 §9.1, see "accepts what is valid"); what is not a token is not.
  { name: 'method that is not a token', request: `GE(T / HTTP/1.1\r\n${H}\r\n`, status: 400, reason: /invalid request line/ },
  { name: 'method with obs-text', request: `G\xe9T / HTTP/1.1\r\n${H}\r\n`, status: 400 },
  // HTTP/1.2 and up are HTTP/1.1 (RFC 9110 §2.5); other major versions are another protocol.
  { name: 'HTTP/2.0 request line', request: `GET / HTTP/2.0\r\n${H}\r\n`, status: 505, reason: /HTTP version not supported/ },
  { name: 'HTTP/3.0 request line', request: `GET / HTTP/3.0\r\n${H}\r\n`, status: 505 },
  { name: 'HTTP/0.9 request line', request: `GET / HTTP/0.9\r\n${H}\r\n`, status: 505 },
  { name: 'HTTP/1.x with two digits', request: `GET / HTTP/1.10\r\n${H}\r\n`, status: 400 },
  { name: 'HTTP/1. without a minor version', request: `GET / HTTP/1.\r\n${H}\r\n`, status: 400 },
  { name: 'CONNECT (we are not a forward proxy)', request: 'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n', status: 405 },
  // Host.
  { name: 'HTTP/1.1 request without Host', request: 'GET / HTTP/1.1\r\nX-A: 1\r\n\r\n', status: 400, reason: /missing Host/ },
  { name: 'two Host fields', request: `GET / HTTP/1.1\r\n${H}Host: b\r\n\r\n`, status: 400, reason: /several Host/ },
  // Fault "Host is not validated as a host": rules must match the host the real server uses.
  { name: 'Host with a list of two hosts', request: 'GET / HTTP/1.1\r\nHost: a, b\r\n\r\n', status: 400, reason: /invalid Host header/ },
  { name: 'Host with a comma', request: 'GET / HTTP/1.1\r\nHost: a,b\r\n\r\n', status: 400, reason: /invalid Host header/ },
  { name: 'Host with userinfo', request: 'GET / HTTP/1.1\r\nHost: user@a\r\n\r\n', status: 400, reason: /invalid Host header/ },
  { name: 'Host with a path', request: 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n', status: 400, reason: /invalid Host header/ },
  { name: 'Host of whitespace only', request: 'GET / HTTP/1.1\r\nHost:   \t \r\n\r\n', status: 400, reason: /invalid Host header/ },
  { name: 'empty Host', request: 'GET / HTTP/1.1\r\nHost:\r\n\r\n', status: 400, reason: /invalid Host header/ },
  { name: 'Host with a port over 65535', request: 'GET / HTTP/1.1\r\nHost: a:70000\r\n\r\n', status: 400, reason: /invalid Host header/ },
  { name: 'Host with percent-encoding', request: 'GET / HTTP/1.1\r\nHost: a%2eexample\r\n\r\n', status: 400, reason: /invalid Host header/ },
  { name: 'invalid Host in an HTTP/1.0 request', request: 'GET / HTTP/1.0\r\nHost: a b\r\n\r\n', status: 400, reason: /invalid Host header/ },
  { name: 'invalid Host beside an absolute-form target', request: 'GET http://a/ HTTP/1.1\r\nHost: user@a\r\n\r\n', status: 400, reason: /invalid Host header/ },
  { name: 'absolute-form with a comma in the authority', request: `GET http://a,b/ HTTP/1.1\r\n${H}\r\n`, status: 400, reason: /invalid request target/ },
  { name: 'absolute-form with userinfo', request: `GET http://user@a/ HTTP/1.1\r\n${H}\r\n`, status: 400, reason: /invalid request target/ },
  { name: 'absolute-form without Host in HTTP/1.1', request: 'GET http://a/ HTTP/1.1\r\n\r\n', status: 400, reason: /missing Host/ },
  // Limits (maxHeaders 10, maxHeaderBytes 2048, maxUriBytes 256 in this suite).
  { name: 'too many header fields', request: `GET / HTTP/1.1\r\n${H}${'X-N: 1\r\n'.repeat(10)}\r\n`, status: 431, reason: /too many header fields/ },
  { name: 'header section too large (complete)', request: `GET / HTTP/1.1\r\n${H}X-Big: ${'b'.repeat(3000)}\r\n\r\n`, status: 431, reason: /too large/ },
  { name: 'header section too large (never ending)', request: `GET / HTTP/1.1\r\n${H}X-Big: ${'b'.repeat(5000)}`, status: 431 },
  { name: 'over-long URI (complete head)', request: `GET /${'u'.repeat(300)} HTTP/1.1\r\n${H}\r\n`, status: 414, reason: /URI too long/ },
  { name: 'over-long URI (head still arriving)', request: `GET /${'u'.repeat(1500)}`, status: 414 },
];

describe('strict request parsing', () => {
  let raw: RawServer;
  let proxy: Proxy;
  before(async () => {
    raw = await startRawServer({ response: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' });
    proxy = await startProxy({
      name: 'strict-vs',
      realServers: [raw.address],
      limits: { maxHeaders: 10, maxHeaderBytes: 2048, maxUriBytes: 256 },
      timeouts: { clientHeader: '1s' },
    });
  });
  after(async () => {
    await proxy.close();
    await raw.close();
  });

  for (const c of CASES) {
    it(`${c.name}: ${c.status} and close`, async () => {
      const before = raw.requests.length;
      // A valid request follows on the same connection: it must never be answered (no smuggling).
      const r = await rawExchange(proxy.port, `${c.request}GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n`, { timeoutMs: 2000 });
      const res = parseResponse(r.bytes, 0, false, r.closed);
      assert.ok(res !== null, `no complete response: ${JSON.stringify(r.text)}`);
      assert.equal(res.status, c.status, r.text);
      assert.equal(res.headers['connection'], 'close');
      assert.equal(r.closed, true, 'the connection must be closed after a refused request');
      assert.equal(res.end, r.bytes.length, `nothing may follow the refusal: ${JSON.stringify(r.text)}`);
      assert.match(res.body.toString(), /virtual service "strict-vs"/);
      if (c.reason) assert.match(res.body.toString(), c.reason);
      assert.equal(raw.requests.length, before, 'a refused request must not reach the real server');
    });
  }

  it('the access log records each refusal with its status and reason', async () => {
    const lines = await proxy.accessLog(CASES.length);
    const refused = lines.filter((l) => l.error !== undefined && l.error !== '');
    assert.ok(refused.length >= CASES.length, `only ${refused.length} refusals logged`);
    const cl = refused.find((l) => l.error === 'both Content-Length and Transfer-Encoding');
    assert.ok(cl, JSON.stringify(refused.slice(0, 3)));
    assert.equal(cl.status, 400);
    assert.equal(cl.virtualService, 'strict-vs');
    assert.ok(refused.some((l) => l.status === 505 && l.error === 'HTTP version not supported'));
    assert.ok(refused.some((l) => l.status === 400 && l.error === 'invalid Host header'));
  });

  it('accepts what is valid: leading empty lines, absolute-form target, OPTIONS *, tabs and obs-text in values, any method token, HTTP/1.2, leading zeros', async () => {
    const valid = [
      `\r\nGET / HTTP/1.1\r\n${H}\r\n`,
      'GET http://a/x?y=1 HTTP/1.1\r\nHost: a\r\n\r\n',
      'GET http://a.example?y=1 HTTP/1.1\r\nHost: b.example\r\n\r\n',
      `FROB / HTTP/1.1\r\n${H}\r\n`,
      `get / HTTP/1.1\r\n${H}\r\n`,
      `RPC_IN_DATA /rpc HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`,
      `GET / HTTP/1.2\r\n${H}\r\n`,
      `GET / HTTP/1.9\r\n${H}\r\n`,
      `POST / HTTP/1.1\r\n${H}Content-Length: 0000000000000000\r\n\r\n`,
      'GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a.example.\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: under_score-host:\r\n\r\n',
      `OPTIONS * HTTP/1.1\r\n${H}\r\n`,
      `GET / HTTP/1.1\r\n${H}X-A: a\tb \xe9\r\n\r\n`,
      'GET / HTTP/1.0\r\n\r\n',
      `POST / HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`,
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
    ];
    for (const request of valid) {
      const r = await rawExchange(proxy.port, Buffer.from(`${request.replace(/\r\n\r\n/, '\r\nConnection: close\r\n\r\n')}`, 'latin1'));
      const res = parseResponse(r.bytes, 0, false, r.closed);
      assert.equal(res?.status, 200, `${JSON.stringify(request)} -> ${r.text}`);
    }
  });

  it('cuts a slowloris client (head dribbled) after timeouts.clientHeader with 408', async () => {
    const t0 = Date.now();
    const dribble = ['GET / HTTP/1.1\r\n', ...Array.from({ length: 30 }, () => 'X')];
    const r = await rawExchange(proxy.port, dribble, { gapMs: 100, timeoutMs: 4000 });
    const elapsed = Date.now() - t0;
    assert.equal(r.closed, true, 'slowloris connection still open');
    assert.ok(elapsed >= 900 && elapsed < 2500, `cut after ${elapsed} ms, expected about 1 s`);
    const res = parseResponse(r.bytes, 0, false, true);
    assert.equal(res?.status, 408);
    assert.equal(res?.headers['connection'], 'close');
  });

  it('cuts a slowloris on the second request of a keep-alive connection too', async () => {
    const client = await RawClient.connect(proxy.port);
    try {
      client.write('GET /first HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal((await client.response()).status, 200);
      const t0 = Date.now();
      client.write('GET /second HTTP/1.1\r\n');
      for (let i = 0; i < 25 && !client.closed; i++) {
        await sleep(100);
        client.write('X');
      }
      const res = await client.response({ timeoutMs: 3000 });
      assert.equal(res.status, 408);
      assert.equal(await client.waitClosed(1000), true);
      const elapsed = Date.now() - t0;
      assert.ok(elapsed >= 900 && elapsed < 2500, `cut after ${elapsed} ms, expected about 1 s`);
    } finally {
      client.destroy();
    }
  });

  it('closes a connection that sends nothing within timeouts.clientHeader, without a response', async () => {
    const t0 = Date.now();
    const r = await rawExchange(proxy.port, [], { timeoutMs: 4000 });
    const elapsed = Date.now() - t0;
    assert.equal(r.closed, true);
    assert.ok(elapsed >= 900 && elapsed < 2500, `closed after ${elapsed} ms`);
    assert.equal(r.bytes.length, 0);
  });

  it('still serves after all of that', async () => {
    const r = await rawExchange(proxy.port, 'GET /fine HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(parseResponse(r.bytes, 0, false, true)?.status, 200);
  });
});
