// One poll of an agent over real sockets: what is sent, what is read, and the words for failures.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { AdaptiveConfig } from '../../src/config/adaptive.ts';
import { describeAgent, pollAgent } from '../../src/agent/probe.ts';
import { freePort } from '../helpers/processes.ts';
import { http, startServer, type TestServer } from '../health/servers.ts';
import { agentCheckServer } from './servers.ts';

const HTTP: AdaptiveConfig = { type: 'http', path: '/load', host: null, port: null, interval: 5000, timeout: 500, minLoad: 5 };
const AGENT: AdaptiveConfig = { type: 'agent', path: null, host: null, port: null, interval: 5000, timeout: 500, minLoad: null };
const local = (port: number) => ({ host: '127.0.0.1', port });

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups) await c();
});
async function server(respond: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const s = await startServer(respond);
  cleanups.push(() => s.close());
  return s;
}

describe('LoadMaster agent poll (type http)', () => {
  it('sends GET path over HTTP/1.1 with Host and reads the body', async () => {
    const s = await server(() => http(200, '42\n'));
    const result = await pollAgent(local(s.port), HTTP);
    assert.deepEqual({ ok: result.ok, reply: result.ok ? result.reply : null }, { ok: true, reply: '42\n' });
    assert.equal(s.requests[0]!.line, 'GET /load HTTP/1.1');
    assert.equal(s.requests[0]!.headers.get('host'), `127.0.0.1:${s.port}`);
    assert.equal(s.requests[0]!.headers.get('connection'), 'close');
  });

  it('goes to port when set, with host as the Host header', async () => {
    const s = await server(() => http(200, '7'));
    const serverPort = await freePort();
    const spec = { ...HTTP, path: '/status/load?x=1', port: s.port, host: 'app.example' };
    const result = await pollAgent(local(serverPort), spec);
    assert.ok(result.ok);
    assert.equal(s.requests[0]!.line, 'GET /status/load?x=1 HTTP/1.1');
    assert.equal(s.requests[0]!.headers.get('host'), 'app.example');
    assert.equal(describeAgent(local(serverPort), spec), `GET /status/load?x=1 HTTP/1.1 to 127.0.0.1:${s.port}, Host: app.example`);
  });

  it('reads chunked and close-delimited bodies', async () => {
    const chunked = await server(() => 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n55\n\r\n0\r\n\r\n');
    const r1 = await pollAgent(local(chunked.port), HTTP);
    assert.equal(r1.ok ? r1.reply : r1.reason, '55\n');
    const closed = await server(() => 'HTTP/1.0 200 OK\r\n\r\n12\n');
    const r2 = await pollAgent(local(closed.port), HTTP);
    assert.equal(r2.ok ? r2.reply : r2.reason, '12\n');
  });

  it('says what went wrong: an HTTP error, not HTTP, no answer, refused', async () => {
    const notFound = await server(() => http(404, 'Not Found'));
    const notHttp = await server(() => 'SSH-2.0-OpenSSH_9.2\r\n');
    const hung = await server(() => null);
    const refused = await freePort();
    const cases: Array<[number, RegExp]> = [
      [notFound.port, /^HTTP 404 to "GET \/load HTTP\/1.1" with Host: 127\.0\.0\.1:\d+ on 127\.0\.0\.1:\d+ \(expected 200 with the load 0-100 on the first line of the body\)$/],
      [notHttp.port, /is not HTTP; it began "SSH-2\.0/],
      [hung.port, /^no answer within 500ms to "GET \/load HTTP\/1.1" on 127\.0\.0\.1:\d+$/],
      [refused, /^connection refused on 127\.0\.0\.1:\d+$/],
    ];
    for (const [port, reason] of cases) {
      const result = await pollAgent(local(port), HTTP);
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.reason, reason);
    }
  });
});

describe('HAProxy agent-check poll (type agent)', () => {
  it('connects, sends nothing, reads one line whether or not the agent closes', async () => {
    const closing = await agentCheckServer('75%,drain\n');
    const open = await agentCheckServer('up 50%\nignored second line\n', false);
    const noNewline = await agentCheckServer('ready');
    cleanups.push(() => closing.close(), () => open.close(), () => noNewline.close());
    for (const [agent, reply] of [
      [closing, '75%,drain\n'],
      [open, 'up 50%\nignored second line\n'],
      [noNewline, 'ready'],
    ] as const) {
      const serverPort = await freePort();
      const result = await pollAgent(local(serverPort), { ...AGENT, port: agent.port });
      assert.equal(result.ok ? result.reply : result.reason, reply);
    }
    assert.equal(describeAgent(local(9001), { ...AGENT, port: 8082 }), 'agent-check (tcp) to 127.0.0.1:8082');
  });

  it('says what went wrong: closed without a reply, silent, refused', async () => {
    const empty = await agentCheckServer('');
    const silent = await agentCheckServer(null);
    cleanups.push(() => empty.close(), () => silent.close());
    const refused = await freePort();
    const cases: Array<[number, RegExp]> = [
      [empty.port, /^the agent on 127\.0\.0\.1:\d+ closed the connection without a reply$/],
      [silent.port, /^no answer within 500ms from 127\.0\.0\.1:\d+$/],
      [refused, /^connection refused on 127\.0\.0\.1:\d+$/],
    ];
    for (const [port, reason] of cases) {
      const result = await pollAgent(local(port), AGENT);
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.reason, reason);
    }
  });

  it('an abort ends a poll in flight at once', async () => {
    const silent = await agentCheckServer(null);
    cleanups.push(() => silent.close());
    const abort = new AbortController();
    const started = performance.now();
    const pending = pollAgent(local(silent.port), { ...AGENT, timeout: 5000 }, abort.signal);
    setTimeout(() => abort.abort(), 20);
    const result = await pending;
    assert.equal(result.ok, false);
    assert.ok(performance.now() - started < 1000);
  });
});
