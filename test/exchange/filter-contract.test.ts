// The filter contract (src/exchange/filter.ts) with real exchanges: filters built here and
// installed with setFilters on a running virtual service, real client and server sockets. A filter
// that STOPs holds the exchange (nothing forwarded, pipelined requests not even parsed) until it
// resumes; a client that leaves meanwhile ends it as client-aborted, and the late resume does
// nothing; a filter that answers ends it; response-header filters see the real server's status
// and may stop it too; log filters run once per exchange however it ends; no filters, an empty
// chain. The body phases have their own file (body-filters.test.ts).
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Exchange } from '../../src/exchange/exchange.ts';
import { FilterChain, FilterStatus, type HttpFilter } from '../../src/exchange/filter.ts';
import { Termination } from '../../src/exchange/termination.ts';
import { startBackends, type Backends } from '../helpers/backends.ts';
import { startService, until, type RunningService } from './service-harness.ts';
import { RawClient, sleep } from '../l7/harness.ts';

const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: filters.test\r\n\r\n`;

type Running = RunningService;

/** Stops every exchange at request headers and resumes it when the test says. */
class HoldingFilter implements HttpFilter {
  readonly name = 'hold';
  readonly held: Exchange[] = [];
  onRequestHeaders(ex: Exchange): FilterStatus {
    this.held.push(ex);
    return FilterStatus.STOP;
  }
}

/** Counts what the log phase sees: one call per exchange, with its termination. */
class LogCounter implements HttpFilter {
  readonly name = 'log-counter';
  readonly seen: Array<{ ex: Exchange; termination: string }> = [];
  onLog(ex: Exchange): void {
    this.seen.push({ ex, termination: ex.termination });
  }
}

describe('the filter contract, with real exchanges', { timeout: 30_000 }, () => {
  let backends: Backends;
  let service: Running;
  before(async () => {
    backends = await startBackends(1);
    service = await startService(backends.servers[0]!.address);
  });
  after(async () => {
    await service.close();
    await backends.close();
  });
  beforeEach(() => {
    service.frontEnd.setFilters([]);
  });

  it('a virtual service without filters has an empty chain; setFilters([]) empties it again', async () => {
    assert.equal(service.frontEnd.chain, FilterChain.NONE);
    assert.equal(service.frontEnd.chain.empty, true);
    service.frontEnd.setFilters([new LogCounter()]);
    assert.equal(service.frontEnd.chain.empty, false);
    assert.equal(service.frontEnd.chain.log.length, 1);
    assert.equal(service.frontEnd.chain.requestHeaders.length, 0, 'a filter sits only in the phases it implements');
    service.frontEnd.setFilters([]);
    assert.equal(service.frontEnd.chain.empty, true);
    // Built from config: only connection limits (no request filter) leave the chain empty; rules do not.
    const limitsOnly = await startService(backends.servers[0]!.address, '    rateLimit: { maxConnectionsPerClient: 5 }\n');
    const withRules = await startService(backends.servers[0]!.address, '    rules: [ { name: r, match: { path: /x }, deny: true } ]\n');
    try {
      assert.equal(limitsOnly.frontEnd.chain.empty, true);
      assert.deepEqual(withRules.frontEnd.chain.requestHeaders.map((f) => f.name), ['rules']);
    } finally {
      await limitsOnly.close();
      await withRules.close();
    }
  });

  it('STOP holds the exchange: nothing is forwarded and pipelined requests wait until resume()', async () => {
    const hold = new HoldingFilter();
    service.frontEnd.setFilters([hold]);
    const before = backends.servers[0]!.requests;
    const client = await RawClient.connect(service.port);
    try {
      client.write(GET('/first') + GET('/second'));
      await until(() => hold.held.length === 1, 'the first exchange to stop');
      await sleep(100);
      assert.equal(hold.held.length, 1, 'the pipelined request is not parsed while the first is stopped');
      assert.equal(backends.servers[0]!.requests, before, 'nothing reached the real server');
      assert.equal(client.rest.length, 0, 'no response yet');
      hold.held[0]!.resume();
      const first = await client.response();
      assert.equal(first.status, 200);
      // The second is parsed once the first ends, and stops in its turn.
      await until(() => hold.held.length === 2, 'the second exchange to stop');
      assert.equal(hold.held[1]!.target, '/second');
      assert.equal(backends.servers[0]!.requests, before + 1);
      hold.held[1]!.resume();
      assert.equal((await client.response()).status, 200);
      assert.equal(backends.servers[0]!.requests, before + 2);
    } finally {
      client.destroy();
    }
  });

  it('a route filter may STOP too: the pool is chosen, the server not yet', async () => {
    const routed: Exchange[] = [];
    const route: HttpFilter = {
      name: 'route-hold',
      onRoute(ex) {
        routed.push(ex);
        setTimeout(() => ex.resume(), 50);
        return FilterStatus.STOP;
      },
    };
    service.frontEnd.setFilters([route]);
    const client = await RawClient.connect(service.port);
    try {
      client.write(GET('/routed'));
      await until(() => routed.length === 1, 'the route phase');
      assert.equal(routed[0]!.pool.name, service.frontEnd.pool.name);
      assert.equal(routed[0]!.server, null, 'no real server picked while stopped');
      assert.equal((await client.response()).status, 200);
      assert.ok(routed[0]!.server !== null);
    } finally {
      client.destroy();
    }
  });

  it('a client that resets while its exchange is stopped: client-aborted, no server reached, the late resume does nothing', async () => {
    const hold = new HoldingFilter();
    const logs = new LogCounter();
    service.frontEnd.setFilters([hold, logs]);
    const before = backends.servers[0]!.requests;
    const records = service.records.length;
    const client = await RawClient.connect(service.port);
    client.write(GET('/gone'));
    await until(() => hold.held.length === 1, 'the exchange to stop');
    client.socket.resetAndDestroy();
    await until(() => hold.held[0]!.ended, 'the exchange to end');
    assert.equal(hold.held[0]!.termination, Termination.CLIENT_ABORTED);
    hold.held[0]!.resume();
    await sleep(100);
    assert.equal(backends.servers[0]!.requests, before, 'nothing reached the real server');
    assert.deepEqual(
      service.records.slice(records).map((r) => [r.path, r.termination, r.server]),
      [['/gone', 'client-aborted', '']],
    );
    assert.equal(logs.seen.length, 1, 'logged once, not again on resume');
  });

  it('a client that half-closes while stopped is still answered (it ended its requests, not its interest)', async () => {
    const hold = new HoldingFilter();
    service.frontEnd.setFilters([hold]);
    const client = await RawClient.connect(service.port);
    try {
      client.write(GET('/half'));
      await until(() => hold.held.length === 1, 'the exchange to stop');
      client.socket.end();
      await sleep(50);
      assert.equal(hold.held[0]!.ended, false);
      hold.held[0]!.resume();
      const response = await client.response();
      assert.equal(response.status, 200);
      assert.equal(await client.waitClosed(), true, 'then the connection closes');
    } finally {
      client.destroy();
    }
  });

  it('a filter that answers ends the exchange: later filters and the server are skipped; the connection serves on', async () => {
    let later = 0;
    const answering: HttpFilter = {
      name: 'teapot',
      onRequestHeaders(ex) {
        if (ex.target === '/async') {
          setTimeout(() => ex.answer(503, [['Retry-After', '5']], 'later\n', Termination.ANSWERED), 30);
          return FilterStatus.STOP;
        }
        ex.answer(418, [['X-Filter', 'teapot']], 'short and stout\n', Termination.ANSWERED);
        return FilterStatus.STOP;
      },
    };
    const next: HttpFilter = {
      name: 'after',
      onRequestHeaders() {
        later++;
        return FilterStatus.CONTINUE;
      },
      onResponseHeaders() {
        later++;
        return FilterStatus.CONTINUE;
      },
    };
    service.frontEnd.setFilters([answering, next]);
    const before = backends.servers[0]!.requests;
    const records = service.records.length;
    const client = await RawClient.connect(service.port);
    try {
      client.write(GET('/sync'));
      const sync = await client.response();
      assert.equal(sync.status, 418);
      assert.equal(sync.headers['x-filter'], 'teapot');
      assert.equal(sync.body.toString(), 'short and stout\n');
      client.write(GET('/async'));
      const late = await client.response();
      assert.equal(late.status, 503);
      assert.equal(late.headers['retry-after'], '5');
      assert.equal(client.closed, false, 'keep-alive after our own answers');
    } finally {
      client.destroy();
    }
    assert.equal(later, 0, 'no filter after the one that answered ran, in any phase');
    assert.equal(backends.servers[0]!.requests, before);
    assert.deepEqual(
      service.records.slice(records).map((r) => [r.path, r.status, r.termination]),
      [
        ['/sync', 418, 'answered-by-rule'],
        ['/async', 503, 'answered-by-rule'],
      ],
    );
  });

  it('a response-header filter sees the real server\'s status, and its edits reach the client', async () => {
    const statuses: Array<[string, number]> = [];
    service.frontEnd.setFilters([
      {
        name: 'status-watch',
        onResponseHeaders(ex) {
          statuses.push([ex.target, ex.status]);
          const seen = String(ex.status);
          ex.responseEdits = { apply: (headers) => headers.set('X-Seen-Status', seen) };
          return FilterStatus.CONTINUE;
        },
      },
    ]);
    const client = await RawClient.connect(service.port);
    try {
      client.write(GET('/status/404'));
      const notFound = await client.response();
      assert.equal(notFound.status, 404);
      assert.equal(notFound.headers['x-seen-status'], '404');
      client.write(GET('/ok'));
      const ok = await client.response();
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['x-seen-status'], '200');
    } finally {
      client.destroy();
    }
    assert.deepEqual(statuses, [
      ['/status/404', 404],
      ['/ok', 200],
    ]);
  });

  it('a response-header filter that STOPs holds the head (nothing reaches the client) until resumeResponse; edits made after the stop reach the client', async () => {
    const held: Exchange[] = [];
    service.frontEnd.setFilters([
      {
        name: 'stops-late',
        onResponseHeaders(ex) {
          held.push(ex);
          return FilterStatus.STOP;
        },
      },
    ]);
    const records = service.records.length;
    const client = await RawClient.connect(service.port);
    try {
      client.write(GET('/late-stop'));
      await until(() => held.length === 1, 'the response head to stop');
      await sleep(50);
      assert.equal(client.rest.length, 0, 'no response byte while the head is held');
      held[0]!.responseHeaders().set('X-After-Stop', 'yes');
      held[0]!.resumeResponse();
      const response = await client.response();
      assert.equal(response.status, 200);
      assert.equal(response.headers['x-after-stop'], 'yes');
      assert.equal(response.body.toString(), 'backend-1\n');
    } finally {
      client.destroy();
    }
    assert.deepEqual(
      service.records.slice(records).map((r) => [r.path, r.status, r.termination]),
      [['/late-stop', 200, 'ok']],
    );
  });

  it('log filters run once per exchange however it ends: forwarded, answered, aborted, failed', async () => {
    const logs = new LogCounter();
    let held: Exchange | null = null;
    const gate: HttpFilter = {
      name: 'gate',
      onRequestHeaders(ex) {
        if (ex.target === '/answer') {
          ex.answer(204, [], '', Termination.ANSWERED);
          return FilterStatus.STOP;
        }
        if (ex.target === '/fail') {
          ex.fail(Termination.INTERNAL_ERROR, 'test failure');
          return FilterStatus.STOP;
        }
        if (ex.target === '/hold') {
          held = ex;
          return FilterStatus.STOP;
        }
        return FilterStatus.CONTINUE;
      },
    };
    service.frontEnd.setFilters([gate, logs]);
    const records = service.records.length;
    const client = await RawClient.connect(service.port);
    for (const path of ['/forward', '/answer', '/fail']) {
      client.write(GET(path));
      await client.response();
    }
    client.destroy();
    const aborted = await RawClient.connect(service.port);
    aborted.write(GET('/hold'));
    await until(() => held !== null, 'the held exchange');
    aborted.socket.resetAndDestroy();
    await until(() => logs.seen.length === 4, 'the fourth log call');
    await sleep(50);
    assert.deepEqual(
      logs.seen.map(({ ex, termination }) => [ex.target, termination]),
      [
        ['/forward', 'ok'],
        ['/answer', 'answered-by-rule'],
        ['/fail', 'internal-error'],
        ['/hold', 'client-aborted'],
      ],
    );
    assert.equal(new Set(logs.seen.map((s) => s.ex)).size, 4, 'four exchanges, each logged once');
    assert.equal(service.records.length - records, 4, 'and one access log line each');
  });
});
