// Health applied to the data path (issue 3, "Real-server lifecycle"): the worker's setHealth, as
// the supervisor's checks report it, takes a server out at once and back in, survives a reload,
// and with every server down the answer names the virtual service and the reason.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { closeAll, expectAllFrom, send, startService, steered, tally, type Steered } from './harness.ts';

describe('health from the supervisor (WorkerRuntime.setHealth)', () => {
  let a: Steered, b: Steered;
  before(async () => {
    [a, b] = await Promise.all([steered('a'), steered('b')]);
  });
  after(() => closeAll([a, b]));

  it('down takes a server out at once, up brings it back', async () => {
    const service = await startService({ realServers: [a.address, b.address] });
    try {
      assert.deepEqual(tally(await send(service.url, 20)), { a: 10, b: 10 });
      service.runtime.setHealth('web', b.address, false, 'HTTP 400 to "HEAD / HTTP/1.0"');
      await expectAllFrom(service.url, 20, 'a');
      service.runtime.setHealth('web', b.address, true, 'HTTP 200');
      assert.deepEqual(tally(await send(service.url, 20)), { a: 10, b: 10 });
    } finally {
      await service.close();
    }
  });

  it('a report for another virtual service or an unknown server changes nothing', async () => {
    const service = await startService({ realServers: [a.address, b.address] });
    try {
      service.runtime.setHealth('other', b.address, false, 'not ours');
      service.runtime.setHealth('web', '127.0.0.1:1', false, 'not listed');
      assert.deepEqual(tally(await send(service.url, 20)), { a: 10, b: 10 });
    } finally {
      await service.close();
    }
  });

  it('a reload that keeps the server keeps it down; marked up again, it takes traffic', async () => {
    const service = await startService({ realServers: [a.address, b.address] });
    try {
      service.runtime.setHealth('web', b.address, false, 'connection refused');
      await expectAllFrom(service.url, 10, 'a');
      // A reload that changes the service around the server (its weight, the scheduler).
      await service.reload({ scheduler: 'weighted-round-robin', realServers: [a.address, { address: b.address, weight: 300 }] });
      await expectAllFrom(service.url, 20, 'a');
      // Moved in the list: a new RealServer, which must still learn the remembered health.
      await service.reload({ realServers: [b.address, a.address] });
      await expectAllFrom(service.url, 20, 'a');
      service.runtime.setHealth('web', b.address, true, 'HTTP 200');
      assert.deepEqual(tally(await send(service.url, 20)), { a: 10, b: 10 });
    } finally {
      await service.close();
    }
  });

  it('all servers down: 503 naming the virtual service and "no real server available", and the access log says why', async () => {
    const service = await startService({ name: 'ntrip-web', realServers: [a.address, b.address] });
    try {
      service.runtime.setHealth('ntrip-web', a.address, false, 'HTTP 400');
      service.runtime.setHealth('ntrip-web', b.address, false, 'HTTP 400');
      const before = a.requests + b.requests;
      const answers = await send(service.url, 3);
      for (const answer of answers) {
        assert.equal(answer.status, 503);
        assert.match(answer.body, /no real server available/);
        assert.match(answer.body, /"ntrip-web"/);
      }
      assert.equal(a.requests + b.requests, before, 'no request reached a down server');
      const lines = await service.accessLog(3);
      assert.equal(lines.length, 3);
      for (const line of lines) {
        assert.equal(line.status, 503);
        assert.equal(line.virtualService, 'ntrip-web');
        assert.equal(line.realServer, '');
        assert.match(line.error ?? '', /no real server available/);
      }
      // One server back: served again on the same kind of request.
      service.runtime.setHealth('ntrip-web', b.address, true, 'HTTP 200');
      await expectAllFrom(service.url, 5, 'b');
    } finally {
      await service.close();
    }
  });
});
