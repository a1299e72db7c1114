// The statistics history with an injected clock: 1-second points for 10 minutes, one row per
// minute in SQLite, rows older than 24 hours deleted, counter resets read as no traffic.
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import type { StatusDocument } from '../../src/admin/types.ts';
import { ErrorCode } from '../../src/errors.ts';
import { emptyHistogram } from '../../src/metrics/aggregate.ts';
import { latencySlot } from '../../src/metrics/buckets.ts';
import { StatsHistory, TOTAL_SERIES, realServerSeries, serviceSeries } from '../../src/metrics/history.ts';
import type { MetricsSnapshot } from '../../src/metrics/types.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const T0_S = T0 / 1000;

/** What the workers have counted after `n` requests to web (2 ms each, 100 bytes in, 1000 out), every tenth a 5xx on 127.0.0.1:9001. */
function counted(n: number): MetricsSnapshot {
  const duration = emptyHistogram();
  duration.counts[latencySlot(2)] = n;
  duration.sum = n * 0.002;
  const errors = Math.floor(n / 10);
  return {
    services: [
      {
        name: 'web',
        statusClasses: [0, 0, n - errors, 0, 0, errors],
        terminations: { ok: n },
        requestBytes: 100 * n,
        responseBytes: 1000 * n,
        connections: n,
        errors,
        tlsHandshakes: 0,
        tlsHandshakeErrors: 0,
        http2Streams: 0,
        duration,
        upstream: emptyHistogram(),
      },
    ],
    realServers: [{ pool: 'web', address: '127.0.0.1:9001', statusClasses: [0, 0, n - errors, 0, 0, errors], sessions: 0, requestBytes: 100 * n, responseBytes: 1000 * n, errors, connectErrors: 0, duration }],
  };
}

const STATUS = {
  virtualServices: [{ name: 'web', clientConnections: 3 }],
  pools: [{ name: 'web', realServers: [{ address: '127.0.0.1:9001', activeRequests: 1 }] }],
  workers: [1, 2],
  workersNotAnswering: [],
  generation: 1,
} as unknown as StatusDocument;

function setup(): { history: StatsHistory; db: DatabaseSync; clock: { now: number } } {
  const db = new DatabaseSync(':memory:');
  const clock = { now: T0 };
  return { history: new StatsHistory(db, { clock: () => clock.now }), db, clock };
}

/** Samples every second from `from` to `to` (ms, inclusive), 10 requests a second since T0. */
function run(history: StatsHistory, clock: { now: number }, from: number, to: number): void {
  for (let t = from; t <= to; t += 1000) {
    clock.now = t;
    history.sample(t, counted(((t - T0) / 1000) * 10), STATUS);
  }
}

describe('StatsHistory', () => {
  it('keeps 1-second points: rates from counter deltas, connections, percentiles, columnar for uPlot', () => {
    const { history, clock } = setup();
    run(history, clock, T0, T0 + 59_000);
    const answer = history.query({ range: '10m', virtualService: 'web' });
    assert.equal(answer.range, '10m');
    assert.equal(answer.step, 1);
    assert.equal(answer.series, serviceSeries('web'));
    assert.equal(answer.t.length, 60);
    assert.equal(answer.t[0], T0_S);
    assert.equal(answer.t[59], T0_S + 59);
    // The first sample has nothing to compare with.
    assert.equal(answer.requestsPerSecond[0], null);
    assert.deepEqual(new Set(answer.requestsPerSecond.slice(1)), new Set([10]));
    assert.deepEqual(new Set(answer.activeConnections), new Set([3]));
    assert.equal(answer.bytesInPerSecond[30], 1000);
    assert.equal(answer.bytesOutPerSecond[30], 10_000);
    // Every request in (1, 2.5] ms: the median interpolates to 1.75 ms.
    assert.equal(answer.latencyP50Ms[30], 1.75);
    assert.ok(answer.latencyP99Ms[30]! > 2.4 && answer.latencyP99Ms[30]! <= 2.5);
    assert.equal(answer.errorsPerSecond[30], 1);
    const rs = history.query({ range: '10m', pool: 'web', realServer: '127.0.0.1:9001' });
    assert.equal(rs.series, realServerSeries('web', '127.0.0.1:9001'));
    assert.equal(rs.requestsPerSecond[30], 10);
    assert.equal(rs.activeConnections[30], 1);
    const total = history.query({ range: '10m' });
    assert.equal(total.series, TOTAL_SERIES);
    assert.equal(total.requestsPerSecond[30], 10);
  });

  it('answers only the last 10 minutes of 1-second points', () => {
    const { history, clock } = setup();
    run(history, clock, T0, T0 + 700_000);
    const answer = history.query({ range: '10m', virtualService: 'web' });
    assert.equal(answer.t.length, 600);
    assert.equal(answer.t[0], T0_S + 101);
    assert.equal(answer.t.at(-1), T0_S + 700);
  });

  it('writes one row per minute and series, and answers the last 24 hours minute by minute', () => {
    const { history, clock, db } = setup();
    run(history, clock, T0, T0 + 60_000);
    clock.now = T0 + 61_000;
    const answer = history.query({ range: '24h', virtualService: 'web' });
    assert.equal(answer.step, 60);
    assert.equal(answer.t.length, 1440);
    assert.equal(answer.t.at(-1), T0_S);
    assert.equal(answer.t[0], T0_S + 60 - 86_400);
    // The minute from T0: 59 intervals of 10 requests (the 60th, ending at T0 + 60 s, belongs to the next minute).
    assert.equal(answer.requestsPerSecond.at(-1), 10);
    assert.equal(answer.activeConnections.at(-1), 3);
    assert.equal(answer.latencyP50Ms.at(-1), 1.75);
    assert.equal(answer.errorsPerSecond.at(-1), 1);
    assert.equal(answer.requestsPerSecond.at(-2), null);
    const rows = db.prepare('SELECT series, minute FROM stats_history_minutes ORDER BY series').all();
    assert.deepEqual(
      rows.map((r) => [r['series'], r['minute']]),
      [
        [realServerSeries('web', '127.0.0.1:9001'), T0_S],
        [TOTAL_SERIES, T0_S],
        [serviceSeries('web'), T0_S],
      ],
    );
  });

  it('deletes rows older than 24 hours at each minute', () => {
    const { history, clock, db } = setup();
    run(history, clock, T0, T0 + 120_000);
    const minutes = (): number[] => db.prepare(`SELECT minute FROM stats_history_minutes WHERE series = 'total' ORDER BY minute`).all().map((r) => Number(r['minute']));
    assert.deepEqual(minutes(), [T0_S, T0_S + 60]);
    // A day later (Fulcrum was down meanwhile): the minute ending now keeps everything from 24 hours back.
    run(history, clock, T0 + 86_400_000 + 60_000, T0 + 86_400_000 + 60_000);
    assert.deepEqual(minutes(), [T0_S + 60, T0_S + 120]);
    run(history, clock, T0 + 86_400_000 + 120_000, T0 + 86_400_000 + 120_000);
    assert.deepEqual(minutes(), [T0_S + 120, T0_S + 86_460]);
  });

  it('reads a counter that went down (a worker restarted) as no traffic, not a negative rate', () => {
    const { history, clock } = setup();
    clock.now = T0;
    history.sample(T0, counted(100), STATUS);
    clock.now = T0 + 1000;
    history.sample(T0 + 1000, counted(40), STATUS);
    const answer = history.query({ range: '10m', virtualService: 'web' });
    assert.equal(answer.requestsPerSecond[1], 0);
    assert.equal(answer.latencyP50Ms[1], null);
  });

  it('refuses a real server without its pool, and a virtual service with one', () => {
    const { history } = setup();
    assert.throws(() => history.query({ range: '10m', realServer: '127.0.0.1:9001' }), { code: ErrorCode.ADMIN_BAD_REQUEST });
    assert.throws(() => history.query({ range: '10m', virtualService: 'web', pool: 'web' }), { code: ErrorCode.ADMIN_BAD_REQUEST });
  });
});
