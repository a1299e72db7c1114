// The body phases of the filter contract (src/exchange/filter.ts, body-phase.ts) with real
// sockets: a Fulcrum virtual service (HTTP/1.1 and h2c on one port) in this process, test-only
// filters installed with setFilters, a real upstream HTTP server. Request and response bodies:
// CONTINUE with bytes replaced (the framing follows: chunked when a filter removed Content-Length),
// STOP and resume with backpressure (the side that feeds the phase is not read meanwhile), BUFFER
// (one call with the whole body) and its limit, response headers that STOP and resume; every
// exchange's log phase sees its termination code.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import http2, { type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Exchange } from '../../src/exchange/exchange.ts';
import { BODY_BUFFER_LIMIT, FilterStatus, type HttpFilter } from '../../src/exchange/filter.ts';
import { Termination } from '../../src/exchange/termination.ts';
import { startRawServer, type RawServer } from '../helpers/backends.ts';
import { startService as startHarnessService, until, type RunningService } from './service-harness.ts';
import { RawClient, sleep } from '../l7/harness.ts';

const MiB = 1024 * 1024;
const ALPHABET = Buffer.from('abcdefghijklmnopqrstuvwxyz');

/** `size` bytes of the lower-case alphabet, repeated. */
function text(size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = ALPHABET[i % 26]!;
  return out;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const upper = (b: Buffer): Buffer => Buffer.from(b.toString('latin1').toUpperCase(), 'latin1');

interface EchoReply {
  bytes: number;
  sha256: string;
  te: string | null;
  cl: string | null;
  head: string;
}

/**
 * The real server. Routes:
 * - /echo: JSON EchoReply of the request body (its size, hash, framing, first 64 bytes);
 * - /text/length/N, /text/chunked/N: N alphabet bytes with Content-Length, or chunked in 1,000
 *   byte pieces a few milliseconds apart (so they reach Fulcrum in several reads);
 * - /big/N: N bytes with Content-Length, written with backpressure; `bigWritten` counts what the
 *   socket took (it stops growing when Fulcrum stops reading).
 */
interface Upstream {
  address: string;
  bigWritten: number;
  close(): Promise<void>;
}

async function startUpstream(): Promise<Upstream> {
  const server = http.createServer();
  server.keepAliveTimeout = 30_000;
  const up: Upstream = {
    address: '',
    bigWritten: 0,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  server.on('request', (req, res) => {
    const url = (req.url ?? '/').split('?')[0]!;
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      if (url === '/echo') {
        const body = Buffer.concat(parts);
        const reply: EchoReply = {
          bytes: body.length,
          sha256: sha(body),
          te: req.headers['transfer-encoding'] ?? null,
          cl: req.headers['content-length'] ?? null,
          head: body.subarray(0, 64).toString('latin1'),
        };
        const json = JSON.stringify(reply);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
        res.end(json);
        return;
      }
      const m = /^\/(text|big)\/(length|chunked)?\/?(\d+)$/.exec(url);
      if (m === null) {
        res.writeHead(404, { 'content-length': 0 });
        res.end();
        return;
      }
      const size = Number(m[3]);
      if (m[1] === 'big') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': size });
        const piece = text(64 * 1024);
        let sent = 0;
        const pump = (): void => {
          while (sent < size) {
            const n = Math.min(piece.length, size - sent);
            sent += n;
            const room = res.write(n === piece.length ? piece : piece.subarray(0, n));
            if (!room) {
              res.once('drain', () => {
                up.bigWritten = sent;
                pump();
              });
              return;
            }
            up.bigWritten = sent;
          }
          res.end();
        };
        pump();
        return;
      }
      const body = text(size);
      if (m[2] === 'length') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': size });
        res.end(body);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      let at = 0;
      const next = (): void => {
        if (at >= size) return void res.end();
        res.write(body.subarray(at, at + 1000));
        at += 1000;
        setTimeout(next, 2);
      };
      next();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  up.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return up;
}

type Running = RunningService;

/** One virtual service, HTTP/1.1 and h2c on one port. */
const startService = (backends: string | readonly string[], extra = ''): Promise<Running> => startHarnessService(backends, `    http2: { cleartext: true }\n${extra}`);

/** The log phase: each exchange's target and termination code, once it ends. */
class LogPhase implements HttpFilter {
  readonly name = 'log-phase';
  readonly seen: Array<[string, string]> = [];
  onLog(ex: Exchange): void {
    this.seen.push([ex.target, ex.termination]);
  }
  async next(target: string): Promise<string> {
    await until(() => this.seen.some(([t]) => t === target), `the log phase of ${target}`);
    return this.seen.find(([t]) => t === target)![1];
  }
}

/** Remove Content-Length at request (or response) headers: a filter that will resize a body says so there. */
const resizingRequests: HttpFilter = {
  name: 'resizing-requests',
  onRequestHeaders(ex) {
    ex.requestHeaders().remove('content-length');
    return FilterStatus.CONTINUE;
  },
};
const resizingResponses: HttpFilter = {
  name: 'resizing-responses',
  onResponseHeaders(ex) {
    ex.responseHeaders().remove('content-length');
    return FilterStatus.CONTINUE;
  },
};

function post(path: string, body: Buffer, framing: 'length' | 'chunked' = 'length'): Buffer {
  const head = `POST ${path} HTTP/1.1\r\nHost: body.test\r\n${framing === 'length' ? `Content-Length: ${body.length}` : 'Transfer-Encoding: chunked'}\r\n\r\n`;
  if (framing === 'length') return Buffer.concat([Buffer.from(head), body]);
  // Three chunks, one with an extension: the filters must see the payload only.
  const third = Math.ceil(body.length / 3);
  const pieces = [body.subarray(0, third), body.subarray(third, 2 * third), body.subarray(2 * third)].filter((p) => p.length > 0);
  const framed: Buffer[] = [Buffer.from(head)];
  pieces.forEach((p, i) => framed.push(Buffer.from(`${p.length.toString(16)}${i === 0 ? ';ext=1' : ''}\r\n`), p, Buffer.from('\r\n')));
  framed.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(framed);
}

const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: body.test\r\n\r\n`;

interface H2Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function h2request(session: ClientHttp2Session, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': body === undefined ? 'GET' : 'POST', ':path': path, ...headers }, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let responseHeaders: IncomingHttpHeaders = {};
    stream.on('response', (h) => (responseHeaders = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => {
      // 'close' follows, with the reset code.
    });
    stream.on('close', () => {
      if (stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) reject(new Error(`stream reset with code ${stream.rstCode}`));
      else resolve({ status: Number(responseHeaders[':status']), headers: responseHeaders, body: Buffer.concat(chunks) });
    });
    if (body !== undefined) {
      // Two DATA frames at least.
      stream.write(body.subarray(0, body.length >> 1));
      stream.end(body.subarray(body.length >> 1));
    }
  });
}

describe('body filters: request and response bodies through the phase filters', { timeout: 60_000 }, () => {
  let upstream: Upstream;
  let service: Running;
  let log: LogPhase;
  let session: ClientHttp2Session;

  before(async () => {
    upstream = await startUpstream();
    service = await startService(upstream.address);
    session = http2.connect(`http://127.0.0.1:${service.port}`);
  });
  after(async () => {
    session.close();
    await service.close();
    await upstream.close();
  });
  beforeEach(() => {
    log = new LogPhase();
  });

  // ---- request bodies ---------------------------------------------------------------------

  it('request CONTINUE: each chunk is payload (framing and chunk extensions gone) and may be replaced; same size keeps Content-Length', async () => {
    const seen: Buffer[] = [];
    let lasts = 0;
    service.frontEnd.setFilters([
      {
        name: 'upper-request',
        onRequestBody(ex, chunk, last) {
          seen.push(Buffer.from(chunk));
          if (last) lasts++;
          ex.replaceBody(upper(chunk));
          return FilterStatus.CONTINUE;
        },
      },
      log,
    ]);
    const body = text(100_000);
    const client = await RawClient.connect(service.port);
    try {
      for (const framing of ['length', 'chunked'] as const) {
        seen.length = 0;
        client.write(post('/echo', body, framing));
        const response = await client.response();
        assert.equal(response.status, 200);
        const echo = JSON.parse(response.body.toString()) as EchoReply;
        assert.equal(echo.sha256, sha(upper(body)), `${framing}: the real server got the replaced bytes`);
        assert.equal(echo.cl, framing === 'length' ? String(body.length) : null);
        assert.equal(echo.te, framing === 'length' ? null : 'chunked');
        assert.equal(Buffer.concat(seen).toString('latin1'), body.toString('latin1'), `${framing}: the filter saw the payload, no framing`);
      }
      assert.equal(lasts, 2, 'last = true once per body');
    } finally {
      client.destroy();
    }
    assert.equal(await log.next('/echo'), 'ok');
  });

  it('request CONTINUE with a size change: Content-Length removed at request headers, the body goes chunked to the real server', async () => {
    service.frontEnd.setFilters([
      resizingRequests,
      {
        name: 'bracket-request',
        onRequestBody(ex, chunk, last) {
          ex.replaceBody(Buffer.concat([chunk, last ? Buffer.from('<end>') : Buffer.alloc(0)]));
          return FilterStatus.CONTINUE;
        },
      },
      log,
    ]);
    const body = text(5000);
    const client = await RawClient.connect(service.port);
    try {
      client.write(post('/echo', body));
      const echo = JSON.parse((await client.response()).body.toString()) as EchoReply;
      assert.equal(echo.cl, null);
      assert.equal(echo.te, 'chunked');
      assert.equal(echo.bytes, body.length + 5);
      assert.equal(echo.sha256, sha(Buffer.concat([body, Buffer.from('<end>')])));
      // Without the headers phase saying so, a resize is refused rather than sent misframed.
      service.frontEnd.setFilters([
        {
          name: 'sneaky-resize',
          onRequestBody(ex, chunk) {
            ex.replaceBody(chunk.subarray(1));
            return FilterStatus.CONTINUE;
          },
        },
        log,
      ]);
      client.write(GET('/first-is-fine'));
      await client.response();
    } finally {
      client.destroy();
    }
    const again = await RawClient.connect(service.port);
    try {
      again.write(post('/echo?sneaky', body));
      const refused = await again.response();
      assert.equal(refused.status, 502);
    } finally {
      again.destroy();
    }
    assert.equal(await log.next('/echo?sneaky'), 'internal-error');
  });

  it('request STOP holds the body (the client is not read: backpressure) until resume(); then the held chunk and the rest go on', async () => {
    let held: Exchange | null = null;
    let calls = 0;
    service.frontEnd.setFilters([
      {
        name: 'hold-request',
        onRequestBody(ex) {
          calls++;
          if (held === null) {
            held = ex;
            return FilterStatus.STOP;
          }
          return FilterStatus.CONTINUE;
        },
      },
      log,
    ]);
    const size = 48 * MiB;
    const body = text(size);
    const client = await RawClient.connect(service.port);
    try {
      client.write(post('/echo', body));
      await until(() => held !== null, 'the request body to stop');
      await sleep(300);
      const callsWhileStopped = calls;
      const unsent = client.socket.writableLength;
      const seenWhileStopped = held!.bodyBytes;
      await sleep(300);
      assert.equal(calls, callsWhileStopped, 'no filter call while stopped');
      assert.equal(held!.bodyBytes, seenWhileStopped, 'Fulcrum reads no more of the body while stopped');
      assert.ok(client.socket.writableLength >= unsent && unsent > 16 * MiB, `the client cannot send: ${unsent} bytes still in its buffer`);
      held!.resume();
      const response = await client.response({ timeoutMs: 30_000 });
      const echo = JSON.parse(response.body.toString()) as EchoReply;
      assert.equal(echo.bytes, size);
      assert.equal(echo.sha256, sha(body), 'the held chunk went on first, then the rest, in order');
    } finally {
      client.destroy();
    }
    assert.equal(await log.next('/echo'), 'ok');
  });

  it('request STOP then resume(bytes): the stopped filter passes its own bytes on', async () => {
    service.frontEnd.setFilters([
      resizingRequests,
      {
        name: 'async-request',
        onRequestBody(ex, chunk, last) {
          if (!last) return FilterStatus.BUFFER;
          const whole = Buffer.from(chunk);
          setTimeout(() => ex.resume(Buffer.from(`async:${whole.length}`)), 20);
          return FilterStatus.STOP;
        },
      },
      log,
    ]);
    const client = await RawClient.connect(service.port);
    try {
      client.write(post('/echo', text(3000), 'chunked'));
      const echo = JSON.parse((await client.response()).body.toString()) as EchoReply;
      assert.equal(echo.head, 'async:3000');
      assert.equal(echo.te, 'chunked');
    } finally {
      client.destroy();
    }
    assert.equal(await log.next('/echo'), 'ok');
  });

  it('request BUFFER: one more call with the whole body and last = true; replacing it replaces the body', async () => {
    const calls: Array<[number, boolean]> = [];
    service.frontEnd.setFilters([
      {
        name: 'buffer-request',
        onRequestBody(ex, chunk, last) {
          calls.push([chunk.length, last]);
          if (!last) return FilterStatus.BUFFER;
          ex.replaceBody(upper(chunk));
          return FilterStatus.CONTINUE;
        },
      },
      log,
    ]);
    const body = text(300_000);
    const client = await RawClient.connect(service.port);
    try {
      // Two writes apart, so the body reaches Fulcrum in more than one read.
      const whole = post('/echo', body);
      client.write(whole.subarray(0, 1000));
      await sleep(50);
      client.write(whole.subarray(1000));
      const echo = JSON.parse((await client.response()).body.toString()) as EchoReply;
      assert.equal(echo.sha256, sha(upper(body)));
      assert.equal(echo.cl, String(body.length));
    } finally {
      client.destroy();
    }
    assert.ok(calls.length >= 2, `buffered over ${calls.length} calls`);
    assert.ok(calls.slice(0, -1).every(([, last]) => !last));
    assert.deepEqual(calls.at(-1), [body.length, true], 'the last call has the whole body');
    assert.equal(await log.next('/echo'), 'ok');
  });

  it('request BUFFER over the limit: 413 request-too-large (1 MiB by default, the rule\'s requestBody.maxBytes when it has one)', async () => {
    service.frontEnd.setFilters([
      {
        name: 'buffer-request',
        onRequestHeaders(ex) {
          if (ex.target === '/echo?rule-limit') ex.maxBodyBytes = 10_000;
          return FilterStatus.CONTINUE;
        },
        onRequestBody(_ex, _chunk, last) {
          return last ? FilterStatus.CONTINUE : FilterStatus.BUFFER;
        },
      },
      log,
    ]);
    for (const [path, size] of [
      ['/echo?default-limit', BODY_BUFFER_LIMIT + 100_000],
      ['/echo?rule-limit', 20_000],
    ] as const) {
      const client = await RawClient.connect(service.port);
      try {
        client.write(post(path, text(size), 'chunked'));
        const response = await client.response();
        assert.equal(response.status, 413, path);
        assert.match(response.body.toString(), /request body too large/);
      } finally {
        client.destroy();
      }
      assert.equal(await log.next(path), 'request-too-large');
    }
    // Under the limit the same filter lets it through.
    const client = await RawClient.connect(service.port);
    try {
      client.write(post('/echo?small', text(9000)));
      assert.equal((await client.response()).status, 200);
    } finally {
      client.destroy();
    }
  });

  it('HTTP/2 request bodies: BUFFER and replace, with and without content-length', async () => {
    service.frontEnd.setFilters([
      {
        name: 'buffer-request',
        onRequestBody(ex, chunk, last) {
          if (!last) return FilterStatus.BUFFER;
          ex.replaceBody(upper(chunk));
          return FilterStatus.CONTINUE;
        },
      },
      log,
    ]);
    const body = text(200_000);
    const sized = await h2request(session, '/echo', body, { 'content-length': String(body.length) });
    const sizedEcho = JSON.parse(sized.body.toString()) as EchoReply;
    assert.equal(sizedEcho.sha256, sha(upper(body)));
    assert.equal(sizedEcho.cl, String(body.length));
    const unsized = await h2request(session, '/echo?unsized', body);
    const unsizedEcho = JSON.parse(unsized.body.toString()) as EchoReply;
    assert.equal(unsizedEcho.sha256, sha(upper(body)));
    assert.equal(unsizedEcho.te, 'chunked');
    assert.equal(await log.next('/echo?unsized'), 'ok');
  });

  it('HTTP/2 request STOP: the stream is not read (no window granted) until resume()', async () => {
    let held: Exchange | null = null;
    service.frontEnd.setFilters([
      {
        name: 'hold-request',
        onRequestBody(ex) {
          if (held === null) {
            held = ex;
            return FilterStatus.STOP;
          }
          return FilterStatus.CONTINUE;
        },
      },
      log,
    ]);
    const size = 8 * MiB;
    const body = text(size);
    const stream = session.request({ ':method': 'POST', ':path': '/echo?h2-stop' });
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    const ended = once(stream, 'end');
    stream.end(body);
    await until(() => held !== null, 'the request body to stop');
    await sleep(200);
    const seen = held!.bodyBytes;
    await sleep(300);
    assert.equal(held!.bodyBytes, seen, 'no more DATA accepted while stopped');
    assert.ok(seen < size / 2, `only the flow-control window came in (${seen} bytes)`);
    held!.resume();
    await ended;
    assert.equal((JSON.parse(Buffer.concat(chunks).toString()) as EchoReply).sha256, sha(body));
    assert.equal(await log.next('/echo?h2-stop'), 'ok');
  });

  // ---- response bodies ----------------------------------------------------------------------

  it('response CONTINUE with a size change: chunked to an HTTP/1.1 client on a kept-alive connection, whatever the server framed', async () => {
    const seen: Buffer[] = [];
    service.frontEnd.setFilters([
      resizingResponses,
      {
        name: 'bracket-response',
        onResponseBody(ex, chunk, last) {
          seen.push(Buffer.from(chunk));
          ex.replaceBody(Buffer.concat([Buffer.from('['), chunk, Buffer.from(']'), last ? Buffer.from('.') : Buffer.alloc(0)]));
          return FilterStatus.CONTINUE;
        },
      },
      log,
    ]);
    const client = await RawClient.connect(service.port);
    try {
      for (const mode of ['length', 'chunked'] as const) {
        seen.length = 0;
        client.write(GET(`/text/${mode}/5000`));
        const response = await client.response();
        assert.equal(response.status, 200);
        assert.equal(response.chunked, true, `${mode}: framed chunked by Fulcrum`);
        assert.equal(response.headers['content-length'], undefined);
        assert.equal(Buffer.concat(seen).toString(), text(5000).toString(), `${mode}: the filter saw the payload`);
        const expected = seen.map((c) => `[${c.toString()}]`).join('') + '.';
        assert.equal(response.body.toString(), expected);
      }
      assert.equal(client.closed, false, 'the connection is kept');
    } finally {
      client.destroy();
    }
    assert.equal(await log.next('/text/chunked/5000'), 'ok');
  });

  it('response CONTINUE with a size change to an HTTP/2 client: DATA without content-length', async () => {
    service.frontEnd.setFilters([
      resizingResponses,
      {
        name: 'double-response',
        onResponseBody(ex, chunk) {
          ex.replaceBody(Buffer.concat([chunk, chunk]));
          return FilterStatus.CONTINUE;
        },
      },
      log,
    ]);
    for (const mode of ['length', 'chunked'] as const) {
      const answer = await h2request(session, `/text/${mode}/7000`);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['content-length'], undefined);
      assert.equal(answer.body.length, 14_000);
    }
    assert.equal(await log.next('/text/length/7000'), 'ok');
  });

  it('response STOP pauses the real server (backpressure: bytes read stop growing) until resume(); then the whole body arrives', async () => {
    let held: Exchange | null = null;
    service.frontEnd.setFilters([
      {
        name: 'hold-response',
        onResponseBody(ex) {
          if (held === null) {
            held = ex;
            return FilterStatus.STOP;
          }
          return FilterStatus.CONTINUE;
        },
      },
      log,
    ]);
    const size = 64 * MiB;
    upstream.bigWritten = 0;
    const received = new Promise<{ bytes: number; digest: string; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: service.port, path: `/big/${size}`, agent: false }, (res) => {
          const hash = createHash('sha256');
          let bytes = 0;
          res.on('data', (c: Buffer) => {
            bytes += c.length;
            hash.update(c);
          });
          res.on('end', () => resolve({ bytes, digest: hash.digest('hex'), headers: res.headers }));
          res.on('error', reject);
        })
        .on('error', reject);
    });
    await until(() => held !== null, 'the response body to stop');
    await sleep(300);
    const written = upstream.bigWritten;
    await sleep(400);
    assert.equal(upstream.bigWritten, written, 'the real server cannot write on: Fulcrum stopped reading it');
    assert.ok(written < size / 2, `only socket buffers' worth went out (${written} bytes)`);
    held!.resume();
    const got = await received;
    assert.equal(got.bytes, size);
    const expected = createHash('sha256');
    const piece = text(64 * 1024);
    for (let i = 0; i < size / piece.length; i++) expected.update(piece);
    assert.equal(got.digest, expected.digest('hex'), 'the held chunk, then the rest, in order');
    assert.equal(got.headers['content-length'], String(size), 'no resize: the length stays');
    assert.equal(await log.next(`/big/${size}`), 'ok');
  });

  it('response BUFFER: one call with the whole body, replaced (uppercase) under the real server\'s Content-Length; resized when it was removed', async () => {
    const calls: Array<[number, boolean]> = [];
    const upperAll: HttpFilter = {
      name: 'upper-response',
      onResponseBody(ex, chunk, last) {
        calls.push([chunk.length, last]);
        if (!last) return FilterStatus.BUFFER;
        ex.replaceBody(ex.target.endsWith('?twice') ? Buffer.concat([upper(chunk), upper(chunk)]) : upper(chunk));
        return FilterStatus.CONTINUE;
      },
    };
    service.frontEnd.setFilters([upperAll, log]);
    const client = await RawClient.connect(service.port);
    try {
      client.write(GET('/text/chunked/50000'));
      const same = await client.response();
      assert.equal(same.body.toString(), upper(text(50_000)).toString());
      assert.ok(calls.length >= 2, `buffered over ${calls.length} calls`);
      assert.deepEqual(calls.at(-1), [50_000, true]);
      assert.ok(calls.slice(0, -1).every(([, last]) => !last));
      calls.length = 0;
      client.write(GET('/text/length/30000'));
      const sized = await client.response();
      assert.equal(sized.headers['content-length'], '30000', 'same size: the length stays');
      assert.equal(sized.body.toString(), upper(text(30_000)).toString());
    } finally {
      client.destroy();
    }
    service.frontEnd.setFilters([resizingResponses, upperAll, log]);
    const h1 = await RawClient.connect(service.port);
    try {
      h1.write(GET('/text/length/30000?twice'));
      const doubled = await h1.response();
      assert.equal(doubled.chunked, true);
      assert.equal(doubled.body.length, 60_000);
    } finally {
      h1.destroy();
    }
    const h2 = await h2request(session, '/text/chunked/20000?twice');
    assert.equal(h2.body.toString(), upper(text(20_000)).toString().repeat(2));
    assert.equal(await log.next('/text/chunked/20000?twice'), 'ok');
  });

  it('a response-header filter that knows the new length sets Content-Length: the client gets that length, not chunks', async () => {
    service.frontEnd.setFilters([
      {
        name: 'fixed-body',
        onResponseHeaders(ex) {
          ex.responseHeaders().set('Content-Length', '6');
          return FilterStatus.CONTINUE;
        },
        onResponseBody(ex, _chunk, last) {
          if (!last) return FilterStatus.BUFFER;
          ex.replaceBody(Buffer.from('fixed\n'));
          return FilterStatus.CONTINUE;
        },
      },
      log,
    ]);
    const client = await RawClient.connect(service.port);
    try {
      for (const mode of ['chunked', 'length'] as const) {
        client.write(GET(`/text/${mode}/4000`));
        const response = await client.response();
        assert.equal(response.chunked, false, mode);
        assert.equal(response.headers['transfer-encoding'], undefined, mode);
        assert.equal(response.headers['content-length'], '6', mode);
        assert.equal(response.body.toString(), 'fixed\n');
      }
    } finally {
      client.destroy();
    }
    const h2 = await h2request(session, '/text/chunked/4000?h2');
    assert.equal(h2.headers['content-length'], '6');
    assert.equal(h2.body.toString(), 'fixed\n');
    assert.equal(await log.next('/text/chunked/4000?h2'), 'ok');
  });

  it('response BUFFER over the limit: the response (its head sent) is cut, response-too-large', async () => {
    service.frontEnd.setFilters([
      resizingResponses,
      {
        name: 'buffer-response',
        onResponseBody(_ex, _chunk, last) {
          return last ? FilterStatus.CONTINUE : FilterStatus.BUFFER;
        },
      },
      log,
    ]);
    const path = `/big/${BODY_BUFFER_LIMIT + 200_000}`;
    const client = await RawClient.connect(service.port);
    try {
      client.write(GET(path));
      await assert.rejects(client.response({ timeoutMs: 10_000 }), /connection closed with an incomplete response/);
    } finally {
      client.destroy();
    }
    assert.equal(await log.next(path), 'response-too-large');
    const h2path = `${path}?h2`;
    await assert.rejects(h2request(session, h2path), new RegExp(`stream reset with code ${http2.constants.NGHTTP2_INTERNAL_ERROR}`));
    assert.equal(await log.next(h2path), 'response-too-large');
  });

  it('a response resized without removing Content-Length is cut, internal-error, rather than misframed', async () => {
    service.frontEnd.setFilters([
      {
        name: 'sneaky-resize',
        onResponseBody(ex, chunk) {
          ex.replaceBody(Buffer.concat([chunk, Buffer.from('+')]));
          return FilterStatus.CONTINUE;
        },
      },
      log,
    ]);
    const client = await RawClient.connect(service.port);
    try {
      client.write(GET('/text/length/100'));
      await assert.rejects(client.response(), /connection closed with an incomplete response/);
    } finally {
      client.destroy();
    }
    assert.equal(await log.next('/text/length/100'), 'internal-error');
  });

  it('response headers STOP + resumeResponse (HTTP/1.1 and HTTP/2): nothing reaches the client meanwhile, edits made on resume do', async () => {
    const held: Exchange[] = [];
    service.frontEnd.setFilters([
      {
        name: 'hold-head',
        onResponseHeaders(ex) {
          held.push(ex);
          // The head is copied out of the worker's scratch: another response read meanwhile must not disturb it.
          setTimeout(() => {
            ex.responseHeaders().set('X-Held', String(ex.status));
            ex.resumeResponse();
          }, 100);
          return FilterStatus.STOP;
        },
      },
      {
        name: 'after-hold',
        onResponseHeaders(ex) {
          ex.responseHeaders().set('X-After', 'ran');
          return FilterStatus.CONTINUE;
        },
      },
      log,
    ]);
    const a = await RawClient.connect(service.port);
    const b = await RawClient.connect(service.port);
    try {
      a.write(GET('/text/length/3000'));
      b.write(GET('/text/chunked/4000'));
      await until(() => held.length === 2, 'both heads to stop');
      await sleep(30);
      assert.equal(a.rest.length + b.rest.length, 0, 'no byte of either response yet');
      const [ra, rb] = await Promise.all([a.response(), b.response()]);
      assert.equal(ra.headers['x-held'], '200');
      assert.equal(ra.headers['x-after'], 'ran', 'the chain went on after the stopped filter');
      assert.equal(ra.body.toString(), text(3000).toString());
      assert.equal(rb.headers['x-held'], '200');
      assert.equal(rb.body.toString(), text(4000).toString());
    } finally {
      a.destroy();
      b.destroy();
    }
    const h2 = await h2request(session, '/text/length/2000?h2');
    assert.equal(h2.headers['x-held'], '200');
    assert.equal(h2.body.length, 2000);
    assert.equal(await log.next('/text/length/3000'), 'ok');
    assert.equal(await log.next('/text/length/2000?h2'), 'ok');
  });

  it('a response-header filter may answer instead of the real server after a STOP', async () => {
    service.frontEnd.setFilters([
      {
        name: 'replace-response',
        onResponseHeaders(ex) {
          setTimeout(() => ex.answer(203, [['X-Replaced', 'yes']], 'ours\n', 'answered-by-rule'), 20);
          return FilterStatus.STOP;
        },
      },
      log,
    ]);
    const client = await RawClient.connect(service.port);
    try {
      client.write(GET('/text/length/100'));
      const response = await client.response();
      assert.equal(response.status, 203);
      assert.equal(response.body.toString(), 'ours\n');
      client.write(GET('/text/length/50'));
      assert.equal((await client.response()).status, 203, 'the connection serves on');
    } finally {
      client.destroy();
    }
    assert.equal(await log.next('/text/length/100'), 'answered-by-rule');
  });

  it('without body filters the relay stays zero-copy: the real server\'s chunk framing (extensions too) reaches the client as sent', async () => {
    const raw: RawServer = await startRawServer({ response: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\n\r\n' });
    const direct = await startService(raw.address);
    /** The raw bytes of one response. */
    const bytes = async (): Promise<string> => {
      const socket = net.connect(direct.port, '127.0.0.1');
      let got = '';
      socket.on('data', (c: Buffer) => (got += c.toString('latin1')));
      socket.write(GET('/z'));
      try {
        await until(() => got.endsWith('0\r\n\r\n'), 'the last chunk');
      } finally {
        socket.destroy();
      }
      return got;
    };
    try {
      direct.frontEnd.setFilters([{ name: 'head-only', onResponseHeaders: () => FilterStatus.CONTINUE }]);
      assert.match(await bytes(), /\r\n\r\n5;x=1\r\nhello\r\n0\r\n\r\n$/, 'passthrough keeps the framing');
      direct.frontEnd.setFilters([{ name: 'body', onResponseBody: () => FilterStatus.CONTINUE }]);
      const framed = await bytes();
      assert.doesNotMatch(framed, /x=1/, 'filtered bodies are framed by Fulcrum');
      assert.match(framed, /\r\n\r\n5\r\nhello\r\n0\r\n\r\n$/);
    } finally {
      await direct.close();
      await raw.close();
    }
  });
});

/** A request-body filter that passes everything on: its presence alone takes the filtered path. */
const passBodies: HttpFilter = { name: 'pass-bodies', onRequestBody: () => FilterStatus.CONTINUE };

describe('body filters: what the plain path did and the filtered path must still do (review of the body phases)', { timeout: 30_000 }, () => {
  const PUT = 'PUT /doc HTTP/1.1\r\nHost: body.test\r\nContent-Length: 5\r\n\r\nhello';
  const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

  it('an idempotent request with a body is replayed once on a fresh connection when its pooled one was closed by the server', async () => {
    // The server answers the first request, then drops that connection when the second arrives
    // on it (the keep-alive race); a fresh connection is answered.
    let connections = 0;
    const server = await startRawServer({
      onConnection: (socket) => {
        const index = connections++;
        let requests = 0;
        socket.on('data', () => {
          if (index === 0 && ++requests === 2) socket.destroy();
          else socket.write(OK);
        });
        return true;
      },
    });
    const svc = await startService(server.address);
    svc.frontEnd.setFilters([passBodies]);
    try {
      for (let i = 0; i < 2; i++) {
        const client = await RawClient.connect(svc.port);
        client.write(PUT);
        assert.equal((await client.response()).status, 200, `request ${i + 1}`);
        client.destroy();
      }
      assert.equal(connections, 2, 'the second request went on a fresh connection');
    } finally {
      await svc.close();
      await server.close();
    }
  });

  it('an idempotent request with a body goes to another server (retries: 1) when the first resets before answering', async () => {
    const resets = await startRawServer({ onConnection: (socket) => (socket.on('data', () => socket.resetAndDestroy()), true) });
    const answers = await startRawServer({ onConnection: (socket) => (socket.on('data', (c: Buffer) => c.includes('hello') && socket.write(OK)), true) });
    const svc = await startService([resets.address, answers.address], '    retries: 1\n');
    svc.frontEnd.setFilters([passBodies]);
    try {
      for (let i = 0; i < 4; i++) {
        const client = await RawClient.connect(svc.port);
        client.write(PUT);
        assert.equal((await client.response()).status, 200, `request ${i + 1} (round robin starts on either server)`);
        client.destroy();
      }
      assert.ok(resets.connections > 0, 'some requests did meet the server that resets');
    } finally {
      await svc.close();
      await resets.close();
      await answers.close();
    }
  });

  it('a local answer to a request whose whole body came with its head keeps the client connection', async () => {
    const upstream = await startUpstream();
    const svc = await startService(upstream.address);
    svc.frontEnd.setFilters([
      {
        name: 'deny-posts',
        onRequestHeaders(ex) {
          if (ex.method !== 'POST') return FilterStatus.CONTINUE;
          ex.answer(403, [], 'no', Termination.DENIED);
          return FilterStatus.STOP;
        },
      },
      passBodies,
    ]);
    const client = await RawClient.connect(svc.port);
    try {
      for (const framing of ['length', 'chunked'] as const) {
        client.write(post('/echo', text(300), framing));
        const denied = await client.response();
        assert.equal(denied.status, 403);
        assert.equal(denied.headers['connection'], 'keep-alive', `${framing}: kept alive`);
        client.write(GET('/text/length/10'));
        const next = await client.response();
        assert.equal(next.status, 200, `${framing}: the next request on the same connection`);
        assert.equal(next.body.toString(), text(10).toString());
      }
    } finally {
      client.destroy();
      await svc.close();
      await upstream.close();
    }
  });

  it('a response-header view taken before a STOP edits the head that is sent (it moves with the copy)', async () => {
    const upstream = await startUpstream();
    const svc = await startService(upstream.address);
    svc.frontEnd.setFilters([
      {
        name: 'async-headers',
        onResponseHeaders(ex) {
          const view = ex.responseHeaders();
          setTimeout(() => {
            view.set('X-Added', '1');
            view.remove('content-type');
            ex.resumeResponse();
          }, 20);
          return FilterStatus.STOP;
        },
      },
    ]);
    const client = await RawClient.connect(svc.port);
    try {
      client.write(GET('/text/length/100'));
      const r = await client.response();
      assert.equal(r.headers['x-added'], '1');
      assert.equal(r.headers['content-type'], undefined);
      assert.equal(r.body.toString(), text(100).toString());
    } finally {
      client.destroy();
      await svc.close();
      await upstream.close();
    }
  });
});
