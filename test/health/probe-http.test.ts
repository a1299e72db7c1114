import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { probeHttp } from '../../src/health/probe-http.ts';
import { checkSpec, closedPort, hostPort, http, startServer, type ReceivedRequest, type TestServer } from './servers.ts';

/** Answers by path: /ok 200 "OK", /status/NNN that status, /hang never, /healthy 200 "all healthy", /down 200 "maintenance". */
function respond(request: ReceivedRequest): string | null {
  const path = request.line.split(' ')[1] ?? '';
  const status = /^\/status\/([0-9]{3})$/.exec(path);
  if (status !== null) return http(Number(status[1]), `status ${status[1]}`);
  switch (path) {
    case '/hang':
      return null;
    case '/healthy':
      return http(200, 'all healthy');
    case '/down':
      return http(200, 'maintenance in progress');
    case '/chunked':
      return 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nall \r\n7\r\nhealthy\r\n0\r\n\r\n';
    case '/close-delimited':
      return 'HTTP/1.0 200 OK\r\n\r\nserver is healthy';
    case '/early-hints':
      return 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK';
    case '/garbage':
      return 'SSH-2.0-OpenSSH_9.2\r\n';
    case '/truncated':
      return 'HTTP/1.1 200 O';
    default:
      return http(200, 'OK');
  }
}

let server: TestServer;
let target: { host: string; port: number };
before(async () => {
  server = await startServer(respond);
  target = hostPort(server.address);
});
after(() => server.close());

async function check(spec: Record<string, unknown>) {
  const before = server.requests.length;
  const result = await probeHttp(target, checkSpec(spec));
  return { result, request: server.requests[before] };
}

describe('http check: what is sent', () => {
  it('sends GET / HTTP/1.1 with Host (the real server address) and Connection: close by default', async () => {
    const { result, request } = await check({});
    assert.equal(result.ok, true, result.reason);
    assert.equal(request?.raw, `GET / HTTP/1.1\r\nHost: ${server.address}\r\nConnection: close\r\n\r\n`);
    assert.match(result.reason, /^HTTP 200 in (<1|[0-9]+) ms$/);
    assert.equal(typeof result.latencyMs, 'number');
  });

  it('sends each method and the path (with its query) as written', async () => {
    for (const method of ['HEAD', 'GET', 'POST', 'OPTIONS']) {
      const { result, request } = await check({ method, path: '/health?full=1' });
      assert.equal(result.ok, true, result.reason);
      assert.equal(request?.line, `${method} /health?full=1 HTTP/1.1`);
    }
  });

  it('HTTP/1.0 sends no Host header at all; 1.1 sends one', async () => {
    const old = await check({ httpVersion: '1.0' });
    assert.equal(old.request?.raw, 'GET / HTTP/1.0\r\nConnection: close\r\n\r\n');
    assert.equal(old.result.detail?.hostHeader, null);
    const current = await check({ httpVersion: '1.1' });
    assert.equal(current.request?.headers.get('host'), server.address);
  });

  it('host overrides the Host header', async () => {
    const { request, result } = await check({ host: 'ntrip.surveyor.lab' });
    assert.equal(request?.headers.get('host'), 'ntrip.surveyor.lab');
    assert.equal(result.detail?.hostHeader, 'ntrip.surveyor.lab');
  });

  it('sends configured headers in order, after Host', async () => {
    const { request } = await check({ headers: { 'User-Agent': 'fulcrum-health', 'X-Check': 42 } });
    assert.deepEqual(request?.headerLines, [`Host: ${server.address}`, 'User-Agent: fulcrum-health', 'X-Check: 42', 'Connection: close']);
  });

  it('sends a POST body with its Content-Length, and Content-Length: 0 for an empty POST', async () => {
    const { request } = await check({ method: 'POST', body: '{"probe":"héllo"}', headers: { 'Content-Type': 'application/json' } });
    assert.equal(request?.body, '{"probe":"héllo"}');
    assert.equal(request?.headers.get('content-length'), String(Buffer.byteLength('{"probe":"héllo"}')));
    const empty = await check({ method: 'POST' });
    assert.equal(empty.request?.headers.get('content-length'), '0');
    const get = await check({ method: 'GET' });
    assert.equal(get.request?.headers.has('content-length'), false);
  });

  it('checks the check port instead of the real server port', async () => {
    const other = await startServer(() => http(200, 'from the check port'));
    try {
      const result = await probeHttp({ host: '127.0.0.1', port: await closedPort() }, checkSpec({ port: other.port, expectBody: 'check port' }));
      assert.equal(result.ok, true, result.reason);
      assert.equal(other.requests.length, 1);
      assert.equal(result.detail?.target, other.address);
    } finally {
      await other.close();
    }
  });
});

describe('http check: judging the answer', () => {
  it('accepts the default set: 2xx, 301, 302, 401; refuses 300, 404, 500', async () => {
    for (const status of [200, 204, 299, 301, 302, 401]) assert.equal((await check({ path: `/status/${status}` })).result.ok, true, String(status));
    for (const status of [300, 303, 404, 500, 503]) {
      const { result } = await check({ path: `/status/${status}` });
      assert.equal(result.ok, false, String(status));
      assert.match(result.reason, new RegExp(`^HTTP ${status} to "GET /status/${status} HTTP/1.1" with Host: 127.0.0.1:[0-9]+ \\(expected 200-299, 301, 302, 401\\)`));
    }
  });

  it('expectStatus takes codes and ranges, as strings or numbers', async () => {
    const spec = { expectStatus: ['404', 500, '502-504'] };
    for (const status of [404, 500, 502, 503, 504]) assert.equal((await check({ ...spec, path: `/status/${status}` })).result.ok, true, String(status));
    for (const status of [200, 501, 505]) {
      const { result } = await check({ ...spec, path: `/status/${status}` });
      assert.equal(result.ok, false, String(status));
      assert.match(result.reason, /\(expected 404, 500, 502-504\)/);
    }
  });

  it('expectBody must match the body of a 2xx answer', async () => {
    const pass = await check({ path: '/healthy', expectBody: 'OK|healthy' });
    assert.equal(pass.result.ok, true, pass.result.reason);
    assert.equal(pass.result.detail?.bodyTested, true);
    const fail = await check({ path: '/down', expectBody: 'OK|healthy' });
    assert.equal(fail.result.ok, false);
    assert.equal(fail.result.reason, 'body did not match /OK|healthy/; it began "maintenance in progress"');
  });

  it('expectBody reads chunked and close-delimited bodies, and skips 1xx interim answers', async () => {
    for (const path of ['/chunked', '/close-delimited']) {
      const { result } = await check({ path, expectBody: 'all healthy|server is healthy' });
      assert.equal(result.ok, true, `${path}: ${result.reason}`);
    }
    const hints = await check({ path: '/early-hints', expectBody: '^OK$' });
    assert.equal(hints.result.ok, true, hints.result.reason);
    assert.equal(hints.result.detail?.status, 200);
  });

  it('expectBody is not tested on non-2xx expected statuses, nor on HEAD (which has no body), and says so for HEAD', async () => {
    const redirect = await check({ path: '/status/302', expectBody: 'never' });
    assert.equal(redirect.result.ok, true, redirect.result.reason);
    assert.equal(redirect.result.detail?.bodyTested, false);
    const head = await check({ method: 'HEAD', expectBody: 'never' });
    assert.equal(head.result.ok, true, head.result.reason);
    assert.match(head.result.reason, /expectBody not tested: a HEAD response has no body/);
  });

  it('a hung server fails after timeout, with the request named', async () => {
    const started = performance.now();
    const { result } = await check({ path: '/hang', timeout: '300ms', interval: '1s' });
    const took = performance.now() - started;
    assert.equal(result.ok, false);
    assert.equal(result.reason, `no answer within 300ms to "GET /hang HTTP/1.1" on ${server.address}`);
    assert.ok(took >= 290 && took < 1000, `took ${took} ms`);
  });

  it('a refused connection names the address', async () => {
    const port = await closedPort();
    const result = await probeHttp({ host: '127.0.0.1', port }, checkSpec({}));
    assert.equal(result.ok, false);
    assert.equal(result.reason, `connection refused on 127.0.0.1:${port}`);
  });

  it('an answer that is not HTTP, or ends early, is described', async () => {
    const garbage = await check({ path: '/garbage' });
    assert.equal(garbage.result.ok, false);
    assert.match(garbage.result.reason, /is not HTTP; it began "SSH-2.0/);
    const truncated = await check({ path: '/truncated' });
    assert.equal(truncated.result.ok, false);
    assert.match(truncated.result.reason, /closed the connection in the middle of its answer to "GET \/truncated HTTP\/1.1" \(14 bytes\)/);
  });

  it('an aborted check settles at once and closes its socket', async () => {
    const controller = new AbortController();
    const pending = probeHttp(target, checkSpec({ path: '/hang', timeout: '5s', interval: '10s' }), controller.signal);
    setTimeout(() => controller.abort(), 50);
    const result = await pending;
    assert.equal(result.ok, false);
    assert.equal(result.reason, 'check stopped');
  });
});
