// Real-server state (issue 3, "Real-server lifecycle"): disabled takes no traffic, drain takes no
// new requests while the ones in flight finish, a reload back to enabled brings traffic back, and
// `enabled: false` contradicting `state` is a config problem at its line.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'undici';
import { loadConfigText } from '../../src/config/load.ts';
import { ErrorCode } from '../../src/errors.ts';
import { closeAll, expectAllFrom, send, startService, steered, tally, until, type Service, type Steered } from './harness.ts';

describe('real-server state', () => {
  let a: Steered, b: Steered, c: Steered;
  before(async () => {
    [a, b, c] = await Promise.all([steered('a'), steered('b'), steered('c')]);
  });
  after(() => closeAll([a, b, c]));

  for (const scheduler of ['round-robin', 'weighted-round-robin', 'least-connections', 'random-two-choices']) {
    it(`${scheduler}: state disabled and state drain get no new requests`, async () => {
      const service = await startService({
        scheduler,
        realServers: [{ address: a.address }, { address: b.address, state: 'disabled' }, { address: c.address, state: 'drain' }],
      });
      try {
        await expectAllFrom(service.url, 60, 'a');
      } finally {
        await service.close();
      }
    });
  }

  it('a reload from drain to enabled brings traffic back; back to drain takes it away again', async () => {
    const servers = (cState: string) => [{ address: a.address }, { address: c.address, state: cState }];
    const service = await startService({ scheduler: 'round-robin', realServers: servers('drain') });
    try {
      await expectAllFrom(service.url, 20, 'a');
      await service.reload({ scheduler: 'round-robin', realServers: servers('enabled') });
      assert.deepEqual(tally(await send(service.url, 60)), { a: 30, c: 30 });
      await service.reload({ scheduler: 'round-robin', realServers: servers('drain') });
      await expectAllFrom(service.url, 20, 'a');
    } finally {
      await service.close();
    }
  });

  it('enabled: false, then state: enabled (the older key removed) brings the server back', async () => {
    const service = await startService({ realServers: [{ address: a.address }, { address: c.address, enabled: false }] });
    try {
      await expectAllFrom(service.url, 10, 'a');
      await service.reload({ realServers: [{ address: a.address }, { address: c.address, state: 'enabled' }] });
      assert.deepEqual(tally(await send(service.url, 10)), { a: 5, c: 5 });
    } finally {
      await service.close();
    }
  });

  it('a request in flight on a server set to drain by a reload completes; the next one goes elsewhere', async () => {
    const service = await startService({ realServers: [{ address: c.address }, { address: a.address, state: 'disabled' }] });
    const client = new Client(service.url);
    try {
      const before = c.requests;
      const inFlight = client.request({ path: '/hold', method: 'GET' });
      assert.ok(await until(() => c.held === 1), 'the request reached c and is held there');
      await service.reload({ realServers: [{ address: c.address, state: 'drain' }, { address: a.address }] });
      // New clients already avoid c while its request is still in flight.
      await expectAllFrom(service.url, 10, 'a');
      c.release();
      const res = await inFlight;
      assert.equal(res.statusCode, 200);
      assert.equal(await res.body.text(), 'c');
      assert.equal(c.requests, before + 1);
      // The same keep-alive client connection: its next request follows the new config.
      const next = await client.request({ path: '/', method: 'GET' });
      assert.equal(await next.body.text(), 'a');
      const lines = await service.accessLog(12);
      const held = lines.find((l) => l.path === '/hold');
      assert.equal(held?.status, 200);
      assert.equal(held?.realServer, c.address);
    } finally {
      c.release();
      await client.close();
      await service.close();
    }
  });
});

describe('real-server state in the config', () => {
  it('enabled: false with state: drain is a conflict at the line of state', () => {
    const text = [
      'virtualServices:',
      '  - name: web',
      '    listen: 127.0.0.1:8080',
      '    protocol: http',
      '    realServers:',
      '      - address: 127.0.0.1:9001',
      '      - address: 127.0.0.1:9002',
      '        enabled: false',
      '        state: drain',
    ].join('\n');
    const result = loadConfigText(text, 'rs.yaml');
    assert.equal(result.ok, false);
    const problems = result.ok ? [] : result.problems;
    assert.equal(problems.length, 1, JSON.stringify(problems));
    const [p] = problems;
    assert.equal(p?.code, ErrorCode.CONFIG_CONFLICT);
    assert.equal(p?.line, 9);
    assert.equal(p?.path, 'virtualServices[0].realServers[1].state');
    assert.match(p?.message ?? '', /drain.*enabled: false/);
  });

  it('enabled: false with state: disabled agrees and loads', () => {
    const text = [
      'virtualServices:',
      '  - name: web',
      '    listen: 127.0.0.1:8080',
      '    protocol: http',
      '    realServers:',
      '      - address: 127.0.0.1:9001',
      '        enabled: false',
      '        state: disabled',
    ].join('\n');
    const result = loadConfigText(text, 'rs.yaml');
    assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.problems));
  });

  it('an unknown state is a problem at its line that lists the states', () => {
    const text = [
      'virtualServices:',
      '  - name: web',
      '    listen: 127.0.0.1:8080',
      '    protocol: http',
      '    realServers:',
      '      - address: 127.0.0.1:9001',
      '        state: drained',
    ].join('\n');
    const result = loadConfigText(text, 'rs.yaml');
    const problems = result.ok ? [] : result.problems;
    assert.equal(problems.length, 1, JSON.stringify(problems));
    assert.equal(problems[0]?.line, 7);
    assert.match(`${problems[0]?.message} ${problems[0]?.allowed}`, /enabled.*disabled.*drain/);
  });
});
