// Rate and connection limits through the engine (one worker: the authority is in process, so every
// count is exact): perClient with its burst, then 429 with Retry-After in whole seconds; perHeader
// per value; a rule's limits counted apart from the service's; trusted proxies' X-Forwarded-For
// believed from them only, for limits and clientAddress rules alike; connection limits on HTTP
// and TCP, and a TCP service's access list. A refusal is `rate-limited` (or `denied`) in the
// access log and never reaches a real server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openConnection, type ClientConnection } from '../helpers/keep-alive-client.ts';
import type { ParsedResponse } from '../l7/harness.ts';
import { startEngine, type Engine } from './engine.ts';
import { ruleTables, type Expectation, type TableRequest } from './table.ts';
import { startTcpEngine, type TcpEngine } from './tcp-engine.ts';

/** The client went over a rate limit: 429, Retry-After in whole seconds, nothing forwarded. */
function limited(retryAfter: RegExp, extra: Partial<Expectation> = {}): Expectation {
  return { status: 429, termination: 'rate-limited', body: /^429 Too Many Requests: too many requests/, headers: { response: { 'retry-after': retryAfter } }, ...extra };
}

const repeat = (n: number, req: TableRequest): TableRequest[] => Array.from({ length: n }, () => req);
const GET = 'GET / HTTP/1.1\r\nHost: limits.test\r\n\r\n';

ruleTables([
  {
    name: 'perClient: the burst goes through, then 429 with Retry-After; other clients are not affected',
    // 30/m: a token every 2 s, so Retry-After is 2 (rounded up, never early; 1 once a second has passed).
    config: `
pools: [main]
rateLimit: { perClient: { rate: 30/m, burst: 3 } }
`,
    requests: [...repeat(3, { path: '/' }), { path: '/' }, { path: '/other' }, { path: '/', clientAddress: '127.0.0.20' }],
    expect: [
      { pool: 'main' },
      { pool: 'main' },
      { pool: 'main' },
      limited(/^[12]$/, { error: /over vs\/perClient/, client: '127.0.0.1' }),
      limited(/^[12]$/),
      { pool: 'main', client: '127.0.0.20' },
    ],
  },
  {
    name: 'status: the refusal\'s status is configurable, Retry-After comes with it',
    config: `
pools: [main]
rateLimit: { perClient: { rate: 1/m, burst: 1 }, status: 503 }
`,
    requests: [{ path: '/' }, { path: '/' }],
    expect: [{ pool: 'main' }, { status: 503, termination: 'rate-limited', body: /^503 Service Unavailable: too many requests/, headers: { response: { 'retry-after': /^(59|60)$/ } } }],
  },
  {
    name: 'perHeader: counted per value of the header (any case); requests without it are not counted',
    config: `
pools: [main]
rateLimit: { perHeader: { name: X-Api-Key, rate: 1/m, burst: 2 } }
`,
    requests: [
      { path: '/', headers: { 'X-Api-Key': 'alpha' } },
      { path: '/', headers: { 'x-api-key': 'alpha' } },
      { path: '/', headers: { 'X-API-KEY': 'alpha' } },
      { path: '/', headers: { 'X-Api-Key': 'beta' } },
      { path: '/', headers: { 'X-Api-Key': 'Alpha' } },
      ...repeat(3, { path: '/' }),
    ],
    expect: [
      { pool: 'main' },
      { pool: 'main' },
      // 1/m: the next token in 60 s (a few ms less, rounded up).
      limited(/^(59|60)$/, { error: /over vs\/perHeader/ }),
      { pool: 'main' },
      // Values are compared as sent.
      { pool: 'main' },
      { pool: 'main' },
      { pool: 'main' },
      { pool: 'main' },
    ],
  },
  {
    name: 'a rule\'s limit is counted apart from the service\'s; a request must pass both',
    config: `
pools: [main, api]
rateLimit: { perClient: { rate: 1/m, burst: 5 } }
rules:
  - { name: api, match: { path: { prefix: /api } }, pool: api, rateLimit: { perClient: { rate: 1/m, burst: 2 } } }
`,
    requests: [...repeat(3, { path: '/api/x' }), ...repeat(3, { path: '/web' }), { path: '/api/x', clientAddress: '127.0.0.21' }],
    expect: [
      { pool: 'api', rule: 'api' },
      { pool: 'api', rule: 'api' },
      // The rule's bucket (2) is empty; the service's (5) still has 2 after these 3.
      limited(/^(59|60)$/, { rule: 'api', error: /over vs\/rule\/api\/perClient/ }),
      { pool: 'main' },
      { pool: 'main' },
      limited(/^(59|60)$/, { error: /over vs\/perClient$/ }),
      { pool: 'api', rule: 'api' },
    ],
  },
  {
    name: 'trustedProxies: X-Forwarded-For names the client from a trusted peer only, for limits and clientAddress rules',
    config: `
pools: [main, partners]
trustedProxies: [127.0.0.2/32]
rateLimit: { perClient: { rate: 1/m, burst: 2 } }
rules:
  - { name: partners, match: { clientAddress: 198.51.100.0/24 }, pool: partners }
`,
    requests: [
      ...repeat(3, { path: '/', clientAddress: '127.0.0.2', headers: { 'X-Forwarded-For': '198.51.100.7' } }),
      { path: '/', clientAddress: '127.0.0.2', headers: { 'X-Forwarded-For': '198.51.100.8' } },
      { path: '/', clientAddress: '127.0.0.2', headers: { 'X-Forwarded-For': '203.0.113.1, 198.51.100.50' } },
      { path: '/', clientAddress: '127.0.0.3', headers: { 'X-Forwarded-For': '198.51.100.9' } },
      { path: '/', clientAddress: '127.0.0.3', headers: { 'X-Forwarded-For': '203.0.113.2' } },
      { path: '/', clientAddress: '127.0.0.3', headers: { 'X-Forwarded-For': '203.0.113.3' } },
    ],
    expect: [
      { pool: 'partners', rule: 'partners', client: '198.51.100.7' },
      { pool: 'partners', rule: 'partners', client: '198.51.100.7' },
      limited(/^(59|60)$/, { rule: '', client: '198.51.100.7' }),
      // Another client behind the same proxy has its own bucket.
      { pool: 'partners', rule: 'partners', client: '198.51.100.8' },
      // The rightmost address that is not a trusted proxy is the client.
      { pool: 'partners', rule: 'partners', client: '198.51.100.50' },
      // From an untrusted peer the header is ignored: the peer is the client, for rules and limits.
      { pool: 'main', client: '127.0.0.3' },
      { pool: 'main', client: '127.0.0.3' },
      limited(/^(59|60)$/, { client: '127.0.0.3' }),
    ],
  },
]);

describe('perClient refills at its rate', { timeout: 30_000 }, () => {
  let engine: Engine;
  before(async () => {
    engine = await startEngine('{ pools: [main], rateLimit: { perClient: { rate: 4/s, burst: 1 } } }');
  });
  after(() => engine.close());

  it('lets one more through a token later (250 ms at 4/s), and says Retry-After: 1 meanwhile', async () => {
    assert.equal((await get(engine.port)).status, 200);
    const refused = await get(engine.port);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['retry-after'], '1', 'whole seconds, rounded up');
    // 300 ms: the bucket is full again (burst 1), however late the timer fires.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await get(engine.port)).status, 200);
    assert.equal((await get(engine.port)).status, 429);
    assert.equal(engine.forwarded(), 2);
  });
});

/** One GET on a new connection. */
async function get(port: number, localAddress = '127.0.0.1'): Promise<ParsedResponse> {
  const conn = await openConnection(port, localAddress);
  try {
    const answer = await conn.request(GET);
    assert.ok(answer !== 'closed', 'the connection was admitted');
    return answer;
  } finally {
    conn.destroy();
  }
}

/** A connection from `localAddress` that gets a response, retrying refused ones until `ms` have passed. */
async function admittedWithin(port: number, localAddress: string, ms: number): Promise<ClientConnection> {
  const deadline = Date.now() + ms;
  for (;;) {
    const conn = await openConnection(port, localAddress);
    if ((await conn.request(GET)) !== 'closed') return conn;
    assert.ok(Date.now() < deadline, `no connection from ${localAddress} admitted within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('connection limits on http: over the limit, closed at once before any request is read', { timeout: 30_000 }, () => {
  let engine: Engine;
  before(async () => {
    engine = await startEngine('{ pools: [main], rateLimit: { maxConnectionsPerClient: 2 } }');
  });
  after(() => engine.close());

  it('maxConnectionsPerClient: a third connection of one client is closed; another client and a freed slot are served', async () => {
    const first = await openConnection(engine.port, '127.0.0.30');
    const second = await openConnection(engine.port, '127.0.0.30');
    for (const conn of [first, second]) assert.notEqual(await conn.request(GET), 'closed');
    const forwarded = engine.forwarded();
    const third = await openConnection(engine.port, '127.0.0.30');
    const refusedAt = performance.now();
    assert.equal(await third.request(GET), 'closed');
    assert.ok(performance.now() - refusedAt < 1000, 'closed at once, not at a timeout');
    assert.equal(engine.forwarded(), forwarded, 'the refused connection reached no real server');
    const other = await openConnection(engine.port, '127.0.0.31');
    assert.notEqual(await other.request(GET), 'closed');
    // The first two stay open and keep working (keep-alive).
    assert.notEqual(await first.request(GET), 'closed');
    first.destroy();
    // Its slot comes back once Fulcrum has seen it close.
    const fourth = await admittedWithin(engine.port, '127.0.0.30', 2000);
    for (const conn of [second, fourth, other]) conn.destroy();
  });
});

describe('connectionRate on http', { timeout: 30_000 }, () => {
  let engine: Engine;
  before(async () => {
    engine = await startEngine('{ pools: [main], rateLimit: { connectionRate: { rate: 1/m, burst: 2 } } }');
  });
  after(() => engine.close());

  it('closes a client\'s connections past its burst at once; other clients are not affected', async () => {
    const results: Array<number | 'closed'> = [];
    for (let i = 0; i < 4; i++) {
      const conn = await openConnection(engine.port, '127.0.0.32');
      const answer = await conn.request(GET);
      results.push(answer === 'closed' ? answer : answer.status);
      conn.destroy();
    }
    assert.deepEqual(results, [200, 200, 'closed', 'closed']);
    assert.equal(engine.forwarded(), 2);
    assert.equal((await get(engine.port, '127.0.0.33')).status, 200);
  });

  it(
    'leaves an access-log line for each refused connection (termination rate-limited)',
    async () => {
      // Two within the burst, two refused.
      for (let i = 0; i < 4; i++) {
        const conn = await openConnection(engine.port, '127.0.0.34');
        await conn.request(GET);
        conn.destroy();
      }
      const lines = (await engine.accessLog(100, 300)).filter((line) => line.client === '127.0.0.34');
      assert.deepEqual(lines.map((line) => line.termination), ['ok', 'ok', 'rate-limited', 'rate-limited']);
    },
  );
});

describe('connection limits and the access list on tcp', { timeout: 30_000 }, () => {
  let tcp: TcpEngine;
  before(async () => {
    tcp = await startTcpEngine([
      { name: 'max', rateLimit: '{ maxConnectionsPerClient: 2 }' },
      { name: 'rate', rateLimit: '{ connectionRate: { rate: 1/m, burst: 1 } }' },
      { name: 'acl', access: '{ deny: [127.0.0.40/32] }' },
    ]);
  });
  after(() => tcp.close());

  it('maxConnectionsPerClient: the third connection is closed at once and logged rate-limited', async () => {
    const held = [await tcp.relay('max', '127.0.0.41'), await tcp.relay('max', '127.0.0.41')];
    assert.ok(held.every((r) => r.relayed), 'the first two relay');
    const accepted = tcp.backend.accepted;
    const third = await tcp.relay('max', '127.0.0.41');
    assert.equal(third.relayed, false, 'the third is closed');
    assert.equal(tcp.backend.accepted, accepted, 'it never reached the real server');
    const other = await tcp.relay('max', '127.0.0.42');
    assert.ok(other.relayed, 'another client is served');
    const lines = await tcp.lines('max', (all) => all.some((l) => l.termination === 'rate-limited'));
    const refused = lines.filter((l) => l.termination === 'rate-limited');
    assert.equal(refused.length, 1);
    assert.equal(refused[0]!.client, '127.0.0.41');
    assert.equal(refused[0]!.protocol, 'tcp');
    assert.match(refused[0]!.error, /maxConnectionsPerClient/);
    for (const r of [...held, other]) r.socket.destroy();
  });

  it('connectionRate: the second connection within the minute is closed and logged rate-limited', async () => {
    const first = await tcp.relay('rate', '127.0.0.43');
    assert.ok(first.relayed);
    first.socket.destroy();
    const accepted = tcp.backend.accepted;
    const second = await tcp.relay('rate', '127.0.0.43');
    assert.equal(second.relayed, false);
    assert.equal(tcp.backend.accepted, accepted, 'it never reached the real server');
    const lines = await tcp.lines('rate', (all) => all.length >= 2);
    assert.deepEqual(lines.map((l) => [l.client, l.termination]).sort(), [
      ['127.0.0.43', 'ok'],
      ['127.0.0.43', 'rate-limited'],
    ]);
  });

  it('the access list closes a denied client (logged denied) and relays the others', async () => {
    const accepted = tcp.backend.accepted;
    const denied = await tcp.relay('acl', '127.0.0.40');
    assert.equal(denied.relayed, false);
    assert.equal(tcp.backend.accepted, accepted, 'it never reached the real server');
    const allowed = await tcp.relay('acl', '127.0.0.44');
    assert.ok(allowed.relayed);
    allowed.socket.destroy();
    const lines = await tcp.lines('acl', (all) => all.length >= 2);
    const byClient = Object.fromEntries(lines.map((l) => [l.client, l.termination]));
    assert.deepEqual(byClient, { '127.0.0.40': 'denied', '127.0.0.44': 'ok' });
  });
});
