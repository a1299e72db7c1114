// A limiter must never take the service down: an authority that does not answer lets the waiting
// requests through after answerTimeoutMs, and everything that would wait goes through at once
// until it answers again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LimitClient } from '../../src/limits/client.ts';
import { IpcLink } from '../../src/limits/links.ts';
import type { LimitsToAuthority } from '../../src/limits/protocol.ts';
import { Verdict } from '../../src/limits/types.ts';
import { asksOf, returnsOf, Tally } from './sim.ts';

function silentAuthority(onCallbackError?: (error: unknown) => void) {
  const sent: LimitsToAuthority[] = [];
  let flushes: (() => void)[] = [];
  const client = new LimitClient(
    new IpcLink(
      (m) => sent.push(structuredClone(m)),
      (f) => flushes.push(f),
    ),
    onCallbackError === undefined ? {} : { onCallbackError },
  );
  client.configure([
    { id: 'r', kind: 'rate', rate: 10, burst: 10, maxKeys: 100 },
    { id: 'c', kind: 'concurrency', max: 1, maxKeys: 100 },
  ]);
  /** setImmediate callbacks run, including those they schedule. */
  const endTurn = () => {
    while (flushes.length > 0) {
      const f = flushes;
      flushes = [];
      for (const flush of f) flush();
    }
  };
  return { client, sent, endTurn };
}

describe('fail open', () => {
  it('lets the waiting requests through when the authority does not answer in 1 s, and counts them', () => {
    const { client, sent, endTurn } = silentAuthority();
    const tally = new Tally();
    for (let i = 0; i < 3; i++) tally.count(client.take('r', 'a', 0, tally.done));
    tally.count(client.acquire('c', 'a', 0, tally.done));
    endTurn();
    assert.equal(sent.length, 1);
    client.tick(999);
    endTurn();
    assert.equal(tally.pending, 4, 'still waiting at 999 ms');
    assert.equal(client.counters.failedOpen, 0);
    client.tick(1000);
    endTurn();
    assert.equal(tally.pending, 0);
    assert.equal(tally.allowed, 4);
    assert.equal(client.counters.failedOpen, 4);
    assert.equal(client.stuck, true);
  });

  it('while stuck, lets through at once what would wait, probes, and recovers on the first answer', () => {
    const { client, sent, endTurn } = silentAuthority();
    const tally = new Tally();
    tally.count(client.take('r', 'a', 0, tally.done));
    tally.count(client.take('r', 'gone', 0, tally.done));
    endTurn();
    client.tick(1000);
    endTurn();
    assert.equal(client.take('r', 'a', 1001, tally.done), Verdict.ALLOW, 'no second wait of a second');
    assert.equal(client.acquire('c', 'b', 1001, tally.done), Verdict.ALLOW);
    assert.equal(client.counters.failedOpen, 4);
    endTurn();
    const probe = sent.at(-1)!;
    assert.ok(probe.batch > sent[0]!.batch, 'the tick sent a probe the authority answers');
    assert.deepEqual(asksOf(probe), []);
    // The supervisor wakes up: its answers arrive, old ones first.
    assert.deepEqual(asksOf(sent[0]!), [
      { limit: 'r', key: 'a', want: 1 },
      { limit: 'r', key: 'gone', want: 1 },
    ]);
    client.receive({ type: 'limits', batch: sent[0]!.batch, granted: [2, 3], retryAfterMs: [0, 0] }, 1500);
    assert.equal(client.stuck, false);
    // Late tokens go back: the requests they were for went through already.
    assert.equal(client.take('r', 'a', 1501, tally.done), Verdict.PENDING, 'back to asking');
    endTurn();
    assert.deepEqual(returnsOf(sent.at(-1)!), [
      { limit: 'r', key: 'a', count: 2 },
      { limit: 'r', key: 'gone', count: 3 },
    ]);
  });

  it('a connection let through without a slot is released without returning one', () => {
    const { client, sent, endTurn } = silentAuthority();
    const tally = new Tally();
    tally.count(client.acquire('c', 'a', 0, tally.done));
    endTurn();
    client.tick(1000);
    endTurn();
    assert.equal(tally.allowed, 1);
    client.release('c', 'a', 1001);
    endTurn();
    const returns = sent.flatMap(returnsOf);
    assert.deepEqual(returns, [], 'it never held a slot');
    assert.equal(client.size('c'), 0);
  });

  it('a late slot backs the connection let through without one, and goes back at its release', () => {
    const { client, sent, endTurn } = silentAuthority();
    const tally = new Tally();
    tally.count(client.acquire('c', 'a', 0, tally.done));
    endTurn();
    client.tick(1000);
    endTurn();
    client.receive({ type: 'limits', batch: sent[0]!.batch, granted: [1], retryAfterMs: [0] }, 1001);
    endTurn();
    assert.deepEqual(sent.flatMap(returnsOf), [], 'the connection is still open: the slot is kept');
    client.release('c', 'a', 1002);
    endTurn();
    assert.deepEqual(returnsOf(sent.at(-1)!), [{ limit: 'c', key: 'a', count: 1 }]);
  });

  it('never calls back from inside take, and answers every waiter exactly once', () => {
    const { client, endTurn } = silentAuthority();
    const calls: number[] = [];
    let inside = false;
    for (let i = 0; i < 5; i++) {
      inside = true;
      client.take('r', 'a', 0, () => {
        assert.equal(inside, false);
        calls.push(i);
      });
      inside = false;
    }
    endTurn();
    client.tick(1000);
    endTurn();
    client.tick(2000);
    endTurn();
    assert.deepEqual(calls, [0, 1, 2, 3, 4]);
  });

  it('keeps answering the others when a callback throws', () => {
    const errors: unknown[] = [];
    const { client, endTurn } = silentAuthority((error) => errors.push(error));
    let answered = 0;
    client.take('r', 'a', 0, () => {
      throw new Error('a broken filter');
    });
    client.take('r', 'a', 0, () => answered++);
    endTurn();
    client.tick(1000);
    endTurn();
    assert.equal(answered, 1);
    assert.equal(errors.length, 1, 'the error is reported, for the worker to log');
  });

  it('does not fail open for an answer that waited on the channel while the worker stalled', () => {
    const { client, sent, endTurn } = silentAuthority();
    const tally = new Tally();
    tally.count(client.take('r', 'a', 0, tally.done));
    endTurn();
    // The worker's loop was blocked for 1.5 s: the timer runs first, then the poll phase reads the answer.
    client.tick(1500);
    client.receive({ type: 'limits', batch: sent[0]!.batch, granted: [0], retryAfterMs: [70] }, 1500);
    endTurn();
    assert.equal(client.counters.failedOpen, 0);
    assert.equal(client.stuck, false);
    assert.equal(tally.denied, 1);
    assert.deepEqual(tally.retryAfters, [70]);
  });
});
