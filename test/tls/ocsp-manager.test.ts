// The supervisor's OCSP fetcher on an injected clock and an injected HTTP exchange: fetched at
// once, refreshed halfway through the response's validity, the last good response kept while the
// responder fails (with back-off), withdrawn when it expires or the certificate is revoked, and
// at most 8 fetches at a time. No timer runs for real: the clock moves when the test says.
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { before, beforeEach, describe, it } from 'node:test';
import { certIdSource } from '../../src/tls/ocsp-request.ts';
import { MAX_CONCURRENT_FETCHES, OcspManager, type OcspClock } from '../../src/tls/ocsp-manager.ts';
import { BACKOFF_FIRST_MS, BACKOFF_MAX_MS, backoffDelay, MIN_REFRESH_MS, NO_NEXT_UPDATE_REFRESH_MS, refreshAt } from '../../src/tls/ocsp-schedule.ts';
import type { OcspTarget } from '../../src/tls/ocsp-targets.ts';
import { OcspCode, type Staple } from '../../src/tls/ocsp.ts';
import { createPki, type TestPki } from './ocsp-pki.ts';
import { buildResponse, requestedCertId, type ResponseOptions } from './ocsp-responder.ts';

class FakeClock implements OcspClock {
  #now: number;
  #next = 1;
  readonly timers = new Map<number, { at: number; run: () => void }>();
  constructor(start: number) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  setTimeout(run: () => void, ms: number): number {
    const id = this.#next++;
    this.timers.set(id, { at: this.#now + ms, run });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  /** Moves the clock to `at`, running each timer due on the way at its own moment. */
  advanceTo(at: number): void {
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= at).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.timers.delete(due[0]);
      this.#now = Math.max(this.#now, due[1].at);
      due[1].run();
    }
    this.#now = at;
  }
}

type Answer = Partial<ResponseOptions> | 'fail' | 'hold';

interface LogEntry {
  level: 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

describe('OCSP manager', () => {
  let pki: TestPki;
  let target: OcspTarget;
  const T0 = Date.UTC(2026, 11, 6, 10, 0, 0);
  let clock: FakeClock;
  let answers: Answer[];
  let fetches: Array<{ url: string; at: number }>;
  let held: Array<() => void>;
  let staples: Array<{ fingerprint: string; staple: Staple | null }>;
  let logs: LogEntry[];
  let manager: OcspManager;

  before(async () => {
    pki = await createPki();
    const leaf = await pki.leaf('www.ocsp.test', '1001', 'http://responder.test/');
    target = {
      fingerprint: leaf.certificate.fingerprint256,
      certFile: '/certs/www.pem',
      responder: 'http://responder.test/',
      timeoutMs: 5000,
      source: certIdSource(leaf.certificate.raw, pki.ca.certificate.raw),
      issuer: pki.ca.certificate,
      serial: '1001',
    };
  });

  beforeEach(() => {
    clock = new FakeClock(T0);
    answers = [];
    fetches = [];
    held = [];
    staples = [];
    logs = [];
    const log = (level: LogEntry['level']) => (fields: object, message: string) => logs.push({ level, fields: fields as Record<string, unknown>, message });
    manager = new OcspManager({
      log: { info: log('info'), warn: log('warn'), error: log('error') },
      clock,
      onStaple: (fingerprint, staple) => staples.push({ fingerprint, staple }),
      fetch: (url, request) => {
        fetches.push({ url, at: clock.now() });
        const answer = answers.shift() ?? 'fail';
        if (answer === 'fail') return Promise.reject(new Error(`${url}: ECONNREFUSED`));
        if (answer === 'hold') return new Promise((_resolve, reject) => held.push(() => reject(new Error('released'))));
        return Promise.resolve(buildResponse(requestedCertId(request), { signer: pki.ca, thisUpdate: new Date(clock.now() - 60_000), ...answer }));
      },
    });
  });

  /** Lets a fetch's answer be handled (its promise callbacks run within a turn of the event loop). */
  const settle = (): Promise<void> => turn().then(() => undefined);

  it('fetches at once, staples a good response and refreshes it halfway through its validity', async () => {
    answers.push({ thisUpdate: new Date(T0 - 60_000), nextUpdate: new Date(T0 + 2 * 3_600_000 - 60_000) });
    manager.apply([target]);
    assert.equal(fetches.length, 1);
    await settle();
    assert.equal(staples.length, 1);
    assert.equal(staples[0]!.fingerprint, target.fingerprint);
    assert.equal(staples[0]!.staple?.expires, T0 + 2 * 3_600_000 - 60_000);
    const [status] = manager.status();
    assert.equal(status?.state, 'good');
    assert.equal(status?.stapled, true);
    assert.equal(status?.nextFetch, new Date(T0 + 3_600_000 - 60_000).toISOString());
    assert.equal(logs.filter((l) => l.level === 'info').length, 1);

    answers.push({ nextUpdate: new Date(T0 + 4 * 3_600_000) });
    clock.advanceTo(T0 + 3_600_000 - 60_001);
    assert.equal(fetches.length, 1, 'not before halfway');
    clock.advanceTo(T0 + 3_600_000 - 60_000);
    assert.equal(fetches.length, 2);
    await settle();
    assert.equal(staples.length, 2);
    assert.equal(staples[1]!.staple?.expires, T0 + 4 * 3_600_000);
  });

  it('keeps the last good response while the responder fails, retrying after 1, 2, 4 minutes', async () => {
    answers.push({ nextUpdate: new Date(T0 + 3_600_000) });
    manager.apply([target]);
    await settle();
    const refresh = Date.parse(manager.status()[0]!.nextFetch!);
    clock.advanceTo(refresh);
    await settle();
    let status = manager.status()[0]!;
    assert.equal(status.state, 'error');
    assert.equal(status.stapled, true);
    assert.equal(status.failures, 1);
    assert.equal(status.lastError, `http://responder.test/: ECONNREFUSED (${OcspCode.FETCH})`);
    assert.equal(Date.parse(status.nextFetch!), refresh + BACKOFF_FIRST_MS);
    clock.advanceTo(refresh + BACKOFF_FIRST_MS);
    await settle();
    clock.advanceTo(refresh + 3 * BACKOFF_FIRST_MS);
    await settle();
    status = manager.status()[0]!;
    assert.equal(status.failures, 3);
    assert.equal(Date.parse(status.nextFetch!), refresh + 7 * BACKOFF_FIRST_MS);
    assert.deepEqual(
      fetches.map((f) => f.at - T0),
      [0, refresh - T0, refresh - T0 + BACKOFF_FIRST_MS, refresh - T0 + 3 * BACKOFF_FIRST_MS],
    );
    assert.equal(staples.length, 1, 'nothing withdrawn while the response is in date');
    assert.match(logs.at(-1)!.message, /the last good response is stapled until/);
  });

  it('withdraws a response the moment it expires, and staples again when a fetch succeeds', async () => {
    const expires = T0 + 10 * 60_000;
    answers.push({ nextUpdate: new Date(expires) });
    manager.apply([target]);
    await settle();
    for (let at = clock.now(); staples.length < 2 && at < expires + 3_600_000; at += 30_000) {
      clock.advanceTo(at);
      await settle();
    }
    assert.deepEqual(staples[1], { fingerprint: target.fingerprint, staple: null });
    assert.ok(clock.now() - expires < 30_000, `withdrawn at ${clock.now() - expires} ms past expiry`);
    assert.equal(manager.status()[0]!.stapled, false);
    assert.ok(logs.some((l) => l.level === 'warn' && /expired at .* served without a staple/.test(l.message)));
    answers.push({});
    clock.advanceTo(Date.parse(manager.status()[0]!.nextFetch!));
    await settle();
    assert.notEqual(staples.at(-1)!.staple, null);
  });

  it('withdraws the staple of a revoked certificate and logs an error naming it', async () => {
    answers.push({});
    manager.apply([target]);
    await settle();
    answers.push({ status: 'revoked', revokedAt: new Date(T0), reason: 1 });
    clock.advanceTo(Date.parse(manager.status()[0]!.nextFetch!));
    await settle();
    assert.deepEqual(staples.at(-1), { fingerprint: target.fingerprint, staple: null });
    const status = manager.status()[0]!;
    assert.equal(status.state, 'revoked');
    assert.equal(status.stapled, false);
    const error = logs.find((l) => l.level === 'error')!;
    assert.equal(error.fields['code'], OcspCode.REVOKED);
    assert.match(error.message, /\/certs\/www\.pem \(serial 1001\) is revoked since 2026-12-06T10:00:00.000Z \(keyCompromise\)/);
  });

  it('keeps a revocation when a cache then hands out an older good response', async () => {
    answers.push({ status: 'revoked', revokedAt: new Date(T0 - 60_000), reason: 1 });
    manager.apply([target]);
    await settle();
    assert.equal(manager.status()[0]!.state, 'revoked');
    // Older than the revocation: thisUpdate an hour before it.
    answers.push({ thisUpdate: new Date(T0 - 3_600_000) });
    clock.advanceTo(Date.parse(manager.status()[0]!.nextFetch!));
    await settle();
    assert.equal(manager.status()[0]!.state, 'revoked');
    assert.equal(staples.filter((s) => s.staple !== null).length, 0, 'never stapled');
  });

  it('backs off when reading a response fails in a way the parser did not foresee (no refetch loop)', async () => {
    const broken = new OcspManager({
      log: { info: () => {}, warn: () => {}, error: () => {} },
      clock,
      onStaple: () => {},
      fetch: () => {
        fetches.push({ url: 'broken', at: clock.now() });
        // A response whose handling throws past the checks (a fault of ours, in effect).
        return Promise.resolve(null as unknown as Buffer);
      },
    });
    broken.apply([target]);
    for (let i = 0; i < 20; i++) await settle();
    assert.equal(fetches.length, 1, 'one fetch, then the back-off');
    const status = broken.status()[0]!;
    assert.equal(status.failures, 1);
    assert.equal(Date.parse(status.nextFetch!) - T0, BACKOFF_FIRST_MS);
    broken.stop();
  });

  it('takes status unknown as a failure: the last good response stays', async () => {
    answers.push({}, { status: 'unknown' });
    manager.apply([target]);
    await settle();
    clock.advanceTo(Date.parse(manager.status()[0]!.nextFetch!));
    await settle();
    const status = manager.status()[0]!;
    assert.equal(status.stapled, true);
    assert.match(status.lastError ?? '', new RegExp(OcspCode.UNKNOWN));
  });

  it('forgets a certificate that left the config: its staple withdrawn, no fetch again', async () => {
    answers.push({});
    manager.apply([target]);
    await settle();
    manager.apply([]);
    assert.deepEqual(staples.at(-1), { fingerprint: target.fingerprint, staple: null });
    assert.equal(clock.timers.size, 0);
    assert.deepEqual(manager.status(), []);
  });

  it('keeps a certificate across loads without fetching again, and asks a new responder at once', async () => {
    answers.push({}, {});
    manager.apply([target]);
    await settle();
    manager.apply([{ ...target }]);
    assert.equal(fetches.length, 1);
    manager.apply([{ ...target, responder: 'http://cache.test/' }]);
    assert.deepEqual(fetches.at(-1), { url: 'http://cache.test/', at: T0 });
  });

  it(`fetches at most ${MAX_CONCURRENT_FETCHES} at a time`, async () => {
    const many = Array.from({ length: MAX_CONCURRENT_FETCHES + 3 }, (_, i) => ({ ...target, fingerprint: `FP${i}`, certFile: `/certs/${i}.pem` }));
    for (let i = 0; i < many.length; i++) answers.push('hold');
    manager.apply(many);
    assert.equal(fetches.length, MAX_CONCURRENT_FETCHES);
    held.shift()!();
    await settle();
    assert.equal(fetches.length, MAX_CONCURRENT_FETCHES + 1);
    while (held.length > 0) {
      held.shift()!();
      await settle();
    }
    assert.equal(fetches.length, many.length);
  });
});

describe('OCSP schedule', () => {
  const H = 3_600_000;
  it('refreshes halfway through the validity; past halfway (a cached response), halfway through what is left', () => {
    assert.equal(refreshAt(0, 0, 168 * H), 84 * H);
    assert.equal(refreshAt(100 * H, 0, 168 * H), 134 * H);
  });
  it('refreshes a response without nextUpdate hourly, and never sooner than 30 s', () => {
    assert.equal(refreshAt(5, 0, null), 5 + NO_NEXT_UPDATE_REFRESH_MS);
    assert.equal(refreshAt(0, 0, 10_000), MIN_REFRESH_MS);
  });
  it('backs off from a minute, doubling, to an hour', () => {
    assert.deepEqual([1, 2, 3, 6, 7, 100].map(backoffDelay), [BACKOFF_FIRST_MS, 2 * BACKOFF_FIRST_MS, 4 * BACKOFF_FIRST_MS, 32 * BACKOFF_FIRST_MS, BACKOFF_MAX_MS, BACKOFF_MAX_MS]);
  });
});
