// The worker-side counters: status classes, termination codes, bytes, latency buckets, per real
// server, for HTTP exchanges, refusals and Layer 4 connections; kept by name across a reload.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Exchange } from '../../src/exchange/exchange.ts';
import { Termination } from '../../src/exchange/termination.ts';
import { LATENCY_BOUNDS_MS, LATENCY_SLOTS, latencySlot, quantileMs } from '../../src/metrics/buckets.ts';
import { MetricsRecorder } from '../../src/metrics/recorder.ts';
import { TERMINATION_CODES, terminationOfSlot, terminationSlot } from '../../src/metrics/terminations.ts';
import { RealServer } from '../../src/pool/real-server.ts';

/** The fields of an exchange the meter reads, at its end. */
function exchange(fields: { status: number; termination?: string; bytesIn?: number; bytesOut?: number; server?: RealServer | null; pool?: string; startedAt?: number; responseHeadAt?: number }): Exchange {
  return {
    status: fields.status,
    termination: fields.termination ?? Termination.OK,
    bytesIn: fields.bytesIn ?? 0,
    bytesOut: fields.bytesOut ?? 0,
    server: fields.server ?? null,
    pool: { name: fields.pool ?? 'web' },
    startedAt: fields.startedAt ?? 1000,
    responseHeadAt: fields.responseHeadAt ?? 0,
  } as unknown as Exchange;
}

describe('latency buckets', () => {
  it('puts a duration in the first bucket whose bound it does not exceed, past the last in +Inf', () => {
    assert.equal(latencySlot(0), 0);
    assert.equal(latencySlot(0.5), 0);
    assert.equal(latencySlot(0.51), 1);
    assert.equal(latencySlot(3), 3);
    assert.equal(latencySlot(30_000), LATENCY_BOUNDS_MS.length - 1);
    assert.equal(latencySlot(30_001), LATENCY_SLOTS - 1);
  });

  it('reads a percentile by interpolating inside its bucket, NaN without observations', () => {
    const counts = new Array<number>(LATENCY_SLOTS).fill(0);
    assert.ok(Number.isNaN(quantileMs(counts, 0.5)));
    counts[latencySlot(2)] = 100; // (1, 2.5]
    assert.equal(quantileMs(counts, 0.5), 1.75);
    assert.equal(quantileMs(counts, 1), 2.5);
    counts[LATENCY_SLOTS - 1] = 100; // +Inf: the highest finite bound is all a histogram can say
    assert.equal(quantileMs(counts, 0.99), 30_000);
  });
});

describe('termination slots', () => {
  it('gives every code its own slot and one more for a code it does not know', () => {
    const slots = new Set(TERMINATION_CODES.map(terminationSlot));
    assert.equal(slots.size, TERMINATION_CODES.length);
    for (const code of TERMINATION_CODES) assert.equal(terminationOfSlot(terminationSlot(code)), code);
    assert.equal(terminationOfSlot(terminationSlot('made-up')), 'other');
  });
});

describe('MetricsRecorder', () => {
  it('counts HTTP exchanges by status class and termination, with bytes, latency and errors', () => {
    const recorder = new MetricsRecorder();
    const meter = recorder.service('web');
    meter.exchange(exchange({ status: 200, bytesIn: 100, bytesOut: 1000, responseHeadAt: 1001.5 }), 3);
    meter.exchange(exchange({ status: 204, bytesIn: 50 }), 0.2);
    meter.exchange(exchange({ status: 404, bytesOut: 10 }), 1);
    meter.exchange(exchange({ status: 502, termination: Termination.UPSTREAM_CONNECT_REFUSED }), 20);
    meter.exchange(exchange({ status: 0, termination: Termination.CLIENT_ABORTED }), 40);
    meter.exchange(exchange({ status: 101 }), 2);
    const [web] = recorder.snapshot().services;
    assert.ok(web !== undefined);
    assert.deepEqual(web.statusClasses, [1, 1, 2, 0, 1, 1]);
    assert.deepEqual(web.terminations, { ok: 4, 'upstream-connect-refused': 1, 'client-aborted': 1 });
    assert.equal(web.requestBytes, 150);
    assert.equal(web.responseBytes, 1010);
    // The 502 only: a client's abort is not the service's error.
    assert.equal(web.errors, 1);
    const expected = new Array<number>(LATENCY_SLOTS).fill(0);
    for (const ms of [3, 0.2, 1, 20, 40, 2]) expected[latencySlot(ms)]!++;
    assert.deepEqual(web.duration.counts, expected);
    assert.equal(web.duration.sum, (3 + 0.2 + 1 + 20 + 40 + 2) / 1000);
    // Only the exchange with a response head has an upstream time: 1.5 ms.
    assert.equal(web.upstream.counts[latencySlot(1.5)], 1);
    assert.equal(web.upstream.counts.reduce((a, b) => a + b, 0), 1);
    assert.equal(web.upstream.sum, 0.0015);
  });

  it('counts per real server of its pool, and caches the meter on the RealServer', () => {
    const recorder = new MetricsRecorder();
    const meter = recorder.service('web');
    const a = new RealServer(0, '127.0.0.1', 9001, 1, true);
    const b = new RealServer(1, '::1', 9002, 1, true);
    meter.exchange(exchange({ status: 200, server: a, pool: 'p', bytesIn: 10, bytesOut: 20 }), 1);
    const cached = a.meter;
    assert.ok(cached !== null);
    meter.exchange(exchange({ status: 503, server: a, pool: 'p', termination: Termination.UPSTREAM_CONNECT_TIMEOUT }), 1);
    meter.exchange(exchange({ status: 500, server: b, pool: 'p' }), 1);
    assert.equal(a.meter, cached);
    const byAddress = new Map(recorder.snapshot().realServers.map((r) => [r.address, r]));
    assert.deepEqual(
      { ...byAddress.get('127.0.0.1:9001'), duration: undefined },
      { pool: 'p', address: '127.0.0.1:9001', statusClasses: [0, 0, 1, 0, 0, 1], sessions: 0, requestBytes: 10, responseBytes: 20, errors: 1, connectErrors: 1, duration: undefined },
    );
    assert.deepEqual(byAddress.get('[::1]:9002')?.statusClasses, [0, 0, 0, 0, 0, 1]);
    assert.equal(byAddress.get('[::1]:9002')?.connectErrors, 0);
  });

  it('counts refusals (not timed), Layer 4 connections, UDP refusals, accepts, TLS and HTTP/2', () => {
    const recorder = new MetricsRecorder();
    const meter = recorder.service('edge');
    const server = new RealServer(0, '10.0.0.1', 22, 1, true);
    meter.refusal(400, Termination.CLIENT_BAD_REQUEST, 30, 90);
    meter.refusal(0, Termination.RATE_LIMITED, 0, 0);
    meter.connection(Termination.OK, 500, 700, 'ssh', server);
    meter.connection(Termination.NO_SERVER, 0, 0, 'ssh', null);
    meter.refusedDatagrams(Termination.DENIED, 5, 250);
    meter.accepted();
    meter.accepted();
    meter.handshake(true);
    meter.handshake(false);
    meter.http2Stream();
    const snapshot = recorder.snapshot();
    const [edge] = snapshot.services;
    assert.ok(edge !== undefined);
    assert.deepEqual(edge.statusClasses, [1, 0, 0, 0, 1, 0]);
    assert.deepEqual(edge.terminations, { 'client-bad-request': 1, 'rate-limited': 1, ok: 1, 'no-server-available': 1, denied: 5 });
    assert.equal(edge.requestBytes, 30 + 500 + 250);
    assert.equal(edge.responseBytes, 90 + 700);
    assert.equal(edge.errors, 1);
    assert.deepEqual(edge.duration.counts, new Array<number>(LATENCY_SLOTS).fill(0));
    assert.deepEqual([edge.connections, edge.tlsHandshakes, edge.tlsHandshakeErrors, edge.http2Streams], [2, 1, 1, 1]);
    const [ssh] = snapshot.realServers;
    assert.deepEqual(ssh && [ssh.pool, ssh.address, ssh.sessions, ssh.requestBytes, ssh.responseBytes], ['ssh', '10.0.0.1:22', 1, 500, 700]);
  });

  it('keeps a name\'s counters across a reload: the same meter for the same name and pool', () => {
    const recorder = new MetricsRecorder();
    const before = recorder.service('web');
    before.accepted();
    assert.equal(recorder.service('web'), before);
    assert.notEqual(recorder.service('api'), before);
    // A new RealServer object (the pool rebuilt it) of the same pool and address continues the same counters.
    const first = recorder.serverMeter('p', new RealServer(0, '127.0.0.1', 80, 1, true));
    assert.equal(recorder.serverMeter('p', new RealServer(3, '127.0.0.1', 80, 1, true)), first);
    assert.notEqual(recorder.serverMeter('q', new RealServer(0, '127.0.0.1', 80, 1, true)), first);
  });
});
