// Two workers' snapshots summed: counters added, histograms bucket by bucket, names matched.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Termination } from '../../src/exchange/termination.ts';
import { aggregateMetrics } from '../../src/metrics/aggregate.ts';
import { latencySlot } from '../../src/metrics/buckets.ts';
import { MetricsRecorder } from '../../src/metrics/recorder.ts';
import { RealServer } from '../../src/pool/real-server.ts';

describe('aggregateMetrics', () => {
  it('sums two workers per virtual service and real server, histograms bucket by bucket', () => {
    const one = new MetricsRecorder();
    const two = new MetricsRecorder();
    const a1 = new RealServer(0, '127.0.0.1', 9001, 1, true);
    const a2 = new RealServer(0, '127.0.0.1', 9001, 1, true);
    one.service('web').refusal(400, Termination.CLIENT_BAD_REQUEST, 10, 20);
    one.service('web').connection(Termination.OK, 1, 2, 'web', a1);
    one.service('web').accepted();
    one.service('only-in-one').accepted();
    two.service('web').refusal(503, Termination.NO_SERVER, 5, 6);
    two.service('web').connection(Termination.OK, 3, 4, 'web', a2);
    two.service('web').handshake(false);
    const fast = { status: 200, termination: Termination.OK, bytesIn: 0, bytesOut: 0, server: null, pool: { name: 'web' }, startedAt: 0, responseHeadAt: 0 };
    one.service('web').exchange(fast as never, 0.3);
    two.service('web').exchange(fast as never, 0.3);
    two.service('web').exchange(fast as never, 7);

    const sum = aggregateMetrics([one.snapshot(), undefined, two.snapshot()]);
    assert.deepEqual(sum.services.map((s) => s.name), ['web', 'only-in-one']);
    const web = sum.services[0]!;
    assert.deepEqual(web.statusClasses, [0, 0, 3, 0, 1, 1]);
    assert.deepEqual(web.terminations, { 'client-bad-request': 1, ok: 5, 'no-server-available': 1 });
    assert.deepEqual([web.requestBytes, web.responseBytes, web.connections, web.errors, web.tlsHandshakeErrors], [10 + 1 + 5 + 3, 20 + 2 + 6 + 4, 1, 1, 1]);
    assert.equal(web.duration.counts[latencySlot(0.3)], 2);
    assert.equal(web.duration.counts[latencySlot(7)], 1);
    assert.equal(web.duration.counts.reduce((a, b) => a + b, 0), 3);
    assert.equal(Math.round(web.duration.sum * 1e6), 7600);
    assert.equal(sum.realServers.length, 1);
    assert.deepEqual([sum.realServers[0]!.sessions, sum.realServers[0]!.requestBytes, sum.realServers[0]!.responseBytes], [2, 4, 6]);
  });

  it('does not change the snapshots it sums', () => {
    const one = new MetricsRecorder();
    one.service('web').refusal(400, Termination.CLIENT_BAD_REQUEST, 1, 1);
    const snapshot = one.snapshot();
    const copy = structuredClone(snapshot);
    aggregateMetrics([snapshot, snapshot]);
    assert.deepEqual(snapshot, copy);
  });
});
