// workers: 1 — the LimitClient on a LocalLink asks the in-process authority per request: every
// answer is synchronous and the count is exact.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LimitAuthority } from '../../src/limits/authority.ts';
import { LimitClient } from '../../src/limits/client.ts';
import { LocalLink } from '../../src/limits/links.ts';
import { Verdict, type LimitSpec } from '../../src/limits/types.ts';

const neverCalled = () => assert.fail('a LocalLink never answers late');

function localClient(specs: LimitSpec[]): { client: LimitClient; authority: LimitAuthority } {
  const authority = new LimitAuthority();
  const client = new LimitClient(new LocalLink(authority));
  client.configure(specs);
  return { client, authority };
}

describe('local mode (workers: 1)', () => {
  it('lets exactly burst + rate × time through a 10 s flood at 50/s, burst 100', () => {
    const { client } = localClient([{ id: 'web/perClient', kind: 'rate', rate: 50, burst: 100, maxKeys: 100 }]);
    let allowed = 0;
    let denied = 0;
    // 20 requests every ms from t = 0 to t = 10 s inclusive: 200,020 requests.
    for (let now = 0; now <= 10_000; now++) {
      for (let i = 0; i < 20; i++) {
        const verdict = client.take('web/perClient', '192.0.2.1', now, neverCalled);
        assert.notEqual(verdict, Verdict.PENDING);
        if (verdict === Verdict.ALLOW) allowed++;
        else {
          denied++;
          assert.ok(client.retryAfterMs >= 1 && client.retryAfterMs <= 20, `retryAfterMs ${client.retryAfterMs}`);
        }
      }
    }
    assert.equal(allowed, 100 + 500);
    assert.equal(denied, 200_020 - 600);
  });

  it('reports the wait after a refusal', () => {
    const { client } = localClient([{ id: 'r', kind: 'rate', rate: 2, burst: 1, maxKeys: 10 }]);
    assert.equal(client.take('r', 'a', 0, neverCalled), Verdict.ALLOW);
    assert.equal(client.take('r', 'a', 100, neverCalled), Verdict.DENY);
    assert.equal(client.retryAfterMs, 400);
    assert.equal(client.take('r', 'b', 100, neverCalled), Verdict.ALLOW, 'another client has its own bucket');
    assert.equal(client.take('r', 'a', 500, neverCalled), Verdict.ALLOW);
  });

  it('counts connections per client: max, refusal, release', () => {
    const { client, authority } = localClient([{ id: 'c', kind: 'concurrency', max: 3, maxKeys: 10 }]);
    for (let i = 0; i < 3; i++) assert.equal(client.acquire('c', 'a', 0, neverCalled), Verdict.ALLOW);
    assert.equal(client.acquire('c', 'a', 0, neverCalled), Verdict.DENY);
    assert.equal(client.retryAfterMs, 0);
    assert.equal(client.acquire('c', 'b', 0, neverCalled), Verdict.ALLOW);
    client.release('c', 'a', 1);
    assert.equal(client.acquire('c', 'a', 1, neverCalled), Verdict.ALLOW);
    assert.equal(authority.level('c', 'a', 1), 3);
    for (let i = 0; i < 3; i++) client.release('c', 'a', 2);
    client.release('c', 'a', 2);
    assert.equal(authority.level('c', 'a', 2), 0, 'an extra release cannot push the count below 0');
    assert.equal(authority.size('c'), 1, 'a key at 0 is forgotten; only b is left');
  });

  it('allows a limit id it does not know', () => {
    const { client } = localClient([]);
    assert.equal(client.take('nothing', 'a', 0, neverCalled), Verdict.ALLOW);
    assert.equal(client.acquire('nothing', 'a', 0, neverCalled), Verdict.ALLOW);
    client.release('nothing', 'a', 0);
  });

  it('hashes a long key (a header value) to a short one, so a client cannot make the table hold megabytes', () => {
    const { client, authority } = localClient([{ id: 'h', kind: 'rate', rate: 1, burst: 1, maxKeys: 10 }]);
    const long = 'k'.repeat(16_384);
    assert.equal(client.take('h', long, 0, neverCalled), Verdict.ALLOW);
    assert.equal(client.take('h', long, 0, neverCalled), Verdict.DENY, 'the same long value shares one bucket');
    assert.equal(client.take('h', `${long}x`, 0, neverCalled), Verdict.ALLOW);
    assert.equal(authority.size('h'), 2);
  });
});
