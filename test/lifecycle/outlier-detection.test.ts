// Passive health (issue 3, "Passive health"): consecutive 5xx or connect failures on live traffic
// eject a real server for `ejectFor`, never more than `maxEjectedPercent` of the pool; a success
// ends the streak; the worker tells its operator.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { refusedAddress } from '../l7/harness.ts';
import { closeAll, expectAllFrom, send, startService, steered, tally, until, type RecordedEvent, type Service, type Steered } from './harness.ts';

const EJECT_FOR_MS = 500;
const detection = (consecutiveFailures: number, maxEjectedPercent = 50) => ({
  consecutiveFailures,
  ejectFor: `${EJECT_FOR_MS}ms`,
  maxEjectedPercent,
});

function ejections(service: Service, kind: 'ejected' | 'unejected' = 'ejected'): RecordedEvent[] {
  return service.events.filter((e) => e.fields['event'] === kind);
}

describe('outlier detection', () => {
  let a: Steered, b: Steered, c: Steered;
  before(async () => {
    [a, b, c] = await Promise.all([steered('a'), steered('b'), steered('c')]);
  });
  after(() => closeAll([a, b, c]));

  it('consecutive 500s eject a server: its traffic goes to the others, the operator is told, it returns after ejectFor', async () => {
    const service = await startService({ outlierDetection: detection(3), realServers: [a.address, b.address] });
    try {
      b.status = 500;
      // Round robin: a, b, a, b, a, b: b's third 500 ejects it.
      assert.deepEqual(tally(await send(service.url, 6)), { a: 3, '500 b': 3 });
      const [ejected, ...more] = ejections(service);
      assert.deepEqual(more, []);
      assert.equal(ejected?.level, 'warn');
      assert.equal(ejected?.fields['realServer'], b.address);
      assert.equal(ejected?.fields['pool'], 'web');
      assert.match(ejected?.message ?? '', /EJECTED.*3 consecutive failures.*HTTP 500/);
      const bBefore = b.requests;
      await expectAllFrom(service.url, 20, 'a');
      assert.equal(b.requests, bBefore, 'an ejected server gets no request');

      b.status = 200;
      assert.ok(await until(() => ejections(service, 'unejected').length === 1, 3000), 'back from ejection');
      const back = ejections(service, 'unejected')[0]!;
      assert.equal(back.fields['realServer'], b.address);
      const ejectedFor = back.at - ejected!.at;
      // The worker's 100 ms tick ends it: at ejectFor, at most a tick or two later.
      assert.ok(ejectedFor >= EJECT_FOR_MS && ejectedFor < EJECT_FOR_MS + 400, `ejected for ${ejectedFor} ms`);
      assert.deepEqual(tally(await send(service.url, 20)), { a: 10, b: 10 });
    } finally {
      b.status = 200;
      await service.close();
    }
  });

  it('refused connections eject a server (retries: 0 shows each failure as a 502)', async () => {
    const refused = await refusedAddress();
    const service = await startService({ retries: 0, outlierDetection: detection(2), realServers: [a.address, refused] });
    try {
      const answers = await send(service.url, 4);
      assert.deepEqual(
        answers.map((x) => x.status),
        [200, 502, 200, 502],
      );
      const [ejected] = ejections(service);
      assert.equal(ejected?.fields['realServer'], refused);
      assert.match(ejected?.message ?? '', /2 consecutive failures.*(refused|ECONNREFUSED)/i);
      await expectAllFrom(service.url, 20, 'a');
    } finally {
      await service.close();
    }
  });

  it('refused connections with retries: clients never notice, and the dead server stops being tried', async () => {
    const refused = await refusedAddress();
    const service = await startService({ retries: 1, outlierDetection: detection(2), realServers: [a.address, refused] });
    try {
      await expectAllFrom(service.url, 10, 'a');
      assert.equal(ejections(service).length, 1);
      const lines = await service.accessLog(10);
      assert.ok(lines.every((l) => l.status === 200 && l.realServer === a.address));
    } finally {
      await service.close();
    }
  });

  it('a success resets the streak', async () => {
    const service = await startService({ outlierDetection: detection(3), realServers: [a.address, b.address] });
    try {
      // b sees (every other request): 500, 500, 200, 500, 500, then 500s.
      b.statuses.push(500, 500, 200, 500, 500);
      b.status = 500;
      assert.deepEqual(tally(await send(service.url, 10)), { a: 5, b: 1, '500 b': 4 });
      assert.deepEqual(ejections(service), [], 'two failures, a success, two failures: no ejection');
      await send(service.url, 2);
      assert.equal(ejections(service).length, 1, 'the third 500 in a row ejects');
      await expectAllFrom(service.url, 10, 'a');
    } finally {
      b.statuses.length = 0;
      b.status = 200;
      await service.close();
    }
  });

  it('4xx is not a failure', async () => {
    const service = await startService({ outlierDetection: detection(2), realServers: [a.address, b.address] });
    try {
      b.status = 404;
      await send(service.url, 10);
      assert.deepEqual(ejections(service), []);
      assert.deepEqual(tally(await send(service.url, 4)), { a: 2, '404 b': 2 });
    } finally {
      b.status = 200;
      await service.close();
    }
  });

  it('maxEjectedPercent 50: of two failing servers only one is ejected, the other keeps serving', async () => {
    const service = await startService({ outlierDetection: detection(2, 50), realServers: [a.address, b.address] });
    try {
      a.status = 500;
      b.status = 500;
      const answers = await send(service.url, 20);
      assert.ok(answers.every((x) => x.status === 500), 'every request still reaches a real server (no 503)');
      assert.equal(ejections(service).length, 1);
      const ejected = ejections(service)[0]!.fields['realServer'];
      const kept = ejected === a.address ? 'b' : 'a';
      assert.deepEqual(tally(await send(service.url, 10)), { [`500 ${kept}`]: 10 });
    } finally {
      a.status = 200;
      b.status = 200;
      await service.close();
    }
  });

  it('maxEjectedPercent counts the servers in rotation: disabled servers do not make room for ejecting every live one', async () => {
    const service = await startService({
      outlierDetection: detection(2, 50),
      realServers: [a.address, b.address, { address: c.address, state: 'disabled' }, { address: (await refusedAddress()), state: 'disabled' }],
    });
    try {
      a.status = 500;
      b.status = 500;
      const answers = await send(service.url, 20);
      assert.ok(answers.every((x) => x.status === 500), `every request still reaches a real server: ${JSON.stringify(tally(answers))}`);
      assert.equal(ejections(service).length, 1);
    } finally {
      a.status = 200;
      b.status = 200;
      await service.close();
    }
  });

  it('maxEjectedPercent 100 may eject everyone: then the notAvailable answer', async () => {
    const service = await startService({ outlierDetection: detection(1, 100), realServers: [a.address, b.address] });
    try {
      a.status = 500;
      b.status = 500;
      assert.deepEqual(tally(await send(service.url, 3)), { '500 a': 1, '500 b': 1, '503 503 Service Unavailable: no real server available (virtual service "web")': 1 });
      assert.equal(ejections(service).length, 2);
    } finally {
      a.status = 200;
      b.status = 200;
      await service.close();
    }
  });

  it('off (the default) never ejects', async () => {
    const service = await startService({ realServers: [a.address, b.address] });
    try {
      b.status = 500;
      assert.deepEqual(tally(await send(service.url, 20)), { a: 10, '500 b': 10 });
      assert.deepEqual(ejections(service), []);
    } finally {
      b.status = 200;
      await service.close();
    }
  });

  it('with slowStart, a server back from ejection ramps up rather than taking its full share at once', async () => {
    const service = await startService({
      scheduler: 'weighted-round-robin',
      slowStart: '2s',
      outlierDetection: detection(2),
      realServers: [a.address, b.address],
    });
    try {
      b.status = 500;
      await send(service.url, 4);
      assert.equal(ejections(service).length, 1);
      b.status = 200;
      assert.ok(await until(() => ejections(service, 'unejected').length === 1, 3000), 'back from ejection');
      const t = tally(await send(service.url, 100));
      assert.ok((t['b'] ?? 0) > 0 && (t['b'] ?? 0) < 25, `b's share just after its return: ${JSON.stringify(t)}`);
    } finally {
      b.status = 200;
      await service.close();
    }
  });

  it('an ejection survives a reload that keeps the server', async () => {
    const service = await startService({ outlierDetection: { ...detection(2), ejectFor: '10s' }, realServers: [a.address, b.address] });
    try {
      b.status = 500;
      await send(service.url, 4);
      assert.equal(ejections(service).length, 1);
      b.status = 200;
      await service.reload({ retries: 2, outlierDetection: { ...detection(2), ejectFor: '10s' }, realServers: [a.address, b.address] });
      await expectAllFrom(service.url, 10, 'a');
    } finally {
      b.status = 200;
      await service.close();
    }
  });
});
