// When nothing can serve (issue 3, "Real-server lifecycle"): the sorry server takes the traffic
// when, and only when, every real server is down or disabled; without one, the notAvailable
// answer: the admin's status and body, or a redirect.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RawClient } from '../l7/harness.ts';
import { closeAll, expectAllFrom, send, startService, steered, tally, until, type Steered } from './harness.ts';

describe('notAvailable', () => {
  let a: Steered;
  before(async () => {
    a = await steered('a');
  });
  after(() => closeAll([a]));

  it('a custom status and body, on a connection that stays open', async () => {
    const service = await startService({
      notAvailable: { status: 500, body: 'Down for patching until 06:00' },
      realServers: [{ address: a.address, state: 'disabled' }],
    });
    try {
      const answers = await send(service.url, 2);
      for (const answer of answers) {
        assert.equal(answer.status, 500);
        assert.equal(answer.body, 'Down for patching until 06:00');
        assert.equal(answer.headers['content-type'], 'text/plain; charset=utf-8');
        assert.equal(answer.headers['cache-control'], 'no-store');
      }
      const lines = await service.accessLog(2);
      assert.equal(lines[0]?.status, 500);
      assert.match(lines[0]?.error ?? '', /no real server available/);
      assert.equal(a.requests, 0);
    } finally {
      await service.close();
    }
  });

  it('a custom status without a body: our line naming the service, with that status', async () => {
    const service = await startService({ notAvailable: { status: 502 }, realServers: [{ address: a.address, state: 'disabled' }] });
    try {
      const [answer] = await send(service.url, 1);
      assert.equal(answer?.status, 502);
      assert.match(answer?.body ?? '', /^502 Bad Gateway: no real server available \(virtual service "web"\)/);
    } finally {
      await service.close();
    }
  });

  it('redirect: 302 with Location, no body, and the access log says 302', async () => {
    const service = await startService({
      notAvailable: { status: 503, redirect: 'https://status.example.com/maintenance?from=web' },
      realServers: [{ address: a.address, state: 'drain' }],
    });
    try {
      const [answer] = await send(service.url, 1);
      assert.equal(answer?.status, 302);
      assert.equal(answer?.headers['location'], 'https://status.example.com/maintenance?from=web');
      assert.equal(answer?.body, '');
      const [line] = await service.accessLog(1);
      assert.equal(line?.status, 302);
    } finally {
      await service.close();
    }
  });

  // Open bug (src/l7/client-connection.ts #failExchange writes Fulcrum's own answers with their
  // body whatever the method; RFC 9110 9.3.2 forbids content in a response to HEAD): a keep-alive
  // client reads the body as the start of the next response. Affects 502/503/504 as well.
  it('redirect: a URL with a space or non-ASCII letters goes out percent-encoded (a header is ASCII)', async () => {
    const service = await startService({
      notAvailable: { redirect: 'https://status.example.com/Wartung läuft' },
      realServers: [{ address: a.address, state: 'disabled' }],
    });
    const client = await RawClient.connect(service.port);
    try {
      client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const res = await client.response();
      assert.equal(res.status, 302);
      assert.equal(res.headers['location'], 'https://status.example.com/Wartung%20l%C3%A4uft');
    } finally {
      client.destroy();
      await service.close();
    }
  });

  it('HEAD gets the head of the answer only, and the connection stays in step', async () => {
    const service = await startService({
      notAvailable: { status: 503, body: 'Service temporarily unavailable' },
      realServers: [{ address: a.address, state: 'disabled' }],
    });
    const client = await RawClient.connect(service.port);
    try {
      client.write('HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const head = await client.response({ isHead: true });
      assert.equal(head.status, 503);
      assert.equal(head.body.length, 0);
      const get = await client.response();
      assert.equal(get.status, 503);
      assert.equal(get.body.toString(), 'Service temporarily unavailable');
    } finally {
      client.destroy();
      await service.close();
    }
  });
});

describe('sorryServer', () => {
  let a: Steered, b: Steered, sorry: Steered;
  before(async () => {
    [a, b, sorry] = await Promise.all([steered('a'), steered('b'), steered('sorry')]);
  });
  after(() => closeAll([a, b, sorry]));

  it('takes traffic only while every real server is down, and answers it itself', async () => {
    const service = await startService({ sorryServer: sorry.address, realServers: [a.address, b.address] });
    try {
      const start = sorry.requests;
      assert.deepEqual(tally(await send(service.url, 20)), { a: 10, b: 10 });
      service.runtime.setHealth('web', a.address, false, 'HTTP 500');
      await expectAllFrom(service.url, 10, 'b');
      assert.equal(sorry.requests, start, 'one real server left: the sorry server gets nothing');
      service.runtime.setHealth('web', b.address, false, 'HTTP 500');
      await expectAllFrom(service.url, 10, 'sorry');
      assert.equal(sorry.requests, start + 10);
      const lines = await service.accessLog(40);
      assert.equal(lines.at(-1)?.realServer, sorry.address);
      service.runtime.setHealth('web', b.address, true, 'HTTP 200');
      await expectAllFrom(service.url, 10, 'b');
      assert.equal(sorry.requests, start + 10);
    } finally {
      await service.close();
    }
  });

  it('takes traffic when every real server is disabled or draining (by config and by reload)', async () => {
    const service = await startService({
      sorryServer: sorry.address,
      realServers: [{ address: a.address, state: 'disabled' }, { address: b.address, state: 'drain' }],
    });
    try {
      await expectAllFrom(service.url, 10, 'sorry');
      await service.reload({ sorryServer: sorry.address, realServers: [{ address: a.address, state: 'disabled' }, b.address] });
      await expectAllFrom(service.url, 10, 'b');
      await service.reload({ sorryServer: sorry.address, realServers: [{ address: a.address, state: 'disabled' }, { address: b.address, enabled: false }] });
      await expectAllFrom(service.url, 10, 'sorry');
    } finally {
      await service.close();
    }
  });

  it('a sorry server that answers 5xx is never ejected (nothing is behind it)', async () => {
    const service = await startService({
      sorryServer: sorry.address,
      outlierDetection: { consecutiveFailures: 2, ejectFor: '10s', maxEjectedPercent: 100 },
      realServers: [{ address: a.address, state: 'disabled' }],
    });
    try {
      sorry.statuses.push(503, 503, 503, 503);
      const answers = await send(service.url, 6);
      assert.deepEqual(
        answers.map((x) => x.status),
        [503, 503, 503, 503, 200, 200],
      );
      assert.deepEqual(
        service.events.filter((e) => e.fields['event'] === 'ejected'),
        [],
      );
    } finally {
      sorry.statuses.length = 0;
      await service.close();
    }
  });
});

describe('sorryServer across reloads', () => {
  let a: Steered, sorry: Steered, other: Steered;
  before(async () => {
    [a, sorry, other] = await Promise.all([steered('a'), steered('sorry'), steered('other-sorry')]);
  });
  after(() => closeAll([a, sorry, other]));

  it('a reload keeps the warm connection to the same sorry server and closes the one to a replaced sorry server', async () => {
    const data = (address: string) => ({ sorryServer: address, realServers: [{ address: a.address, state: 'disabled' }] });
    const service = await startService(data(sorry.address));
    try {
      await expectAllFrom(service.url, 3, 'sorry');
      assert.equal(sorry.openConnections, 1);
      for (let i = 0; i < 3; i++) {
        await service.reload(data(sorry.address));
        await expectAllFrom(service.url, 3, 'sorry');
      }
      assert.equal(sorry.openConnections, 1, 'one idle connection, reused after each reload');
      await service.reload(data(other.address));
      await expectAllFrom(service.url, 3, 'other-sorry');
      assert.ok(await until(() => sorry.openConnections === 0, 1000), `the old sorry server's idle connection is closed (${sorry.openConnections} open)`);
    } finally {
      await service.close();
    }
  });
});
