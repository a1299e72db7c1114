/**
 * The statistics history behind the console's charts (GET /api/v1/stats): per virtual service,
 * per real server of a pool, and in total, the requests per second, active connections, bytes in
 * and out per second, latency percentiles and errors per second.
 *
 * The supervisor calls sample() once a second with the workers' metrics summed (aggregate.ts)
 * and the status document of the same moment. Rates are counter deltas over the interval (a
 * counter that went down, a worker restarted, counts as no traffic for that interval, never as
 * negative); percentiles come from the histogram deltas (buckets.ts). 1-second points stay in
 * memory for 10 minutes (history-ring.ts); each minute is summed into one row per series in the
 * state database (history-table.ts), kept 24 hours.
 *
 * What query() answers is columnar, as uPlot takes it: `t` (Unix seconds) and one array per
 * value, aligned, null where there is no value (no sample, or no request to time):
 *   { range: '10m', step: 1, series: 'virtual-service:web', t: [...], requestsPerSecond: [...],
 *     activeConnections, bytesInPerSecond, bytesOutPerSecond, latencyP50Ms, latencyP90Ms,
 *     latencyP99Ms, errorsPerSecond }
 * The console draws `new uPlot(opts, [answer.t, answer.requestsPerSecond, ...])`. The 24-hour
 * range has every minute of the last 24 hours (1440 points, null where Fulcrum did not run);
 * the minute in progress is not in it yet.
 */
import type { DatabaseSync } from 'node:sqlite';
import type { StatusDocument } from '../admin/types.ts';
import { ErrorCode, FulcrumError } from '../errors.ts';
import { quantileMs } from './buckets.ts';
import { emptyHistogram, requestsOf } from './aggregate.ts';
import { SecondsRing } from './history-ring.ts';
import { HISTORY_FIELDS, HistoryTable, type HistoryField, type MinuteRow } from './history-table.ts';
import type { MetricsSnapshot } from './types.ts';

export type HistoryRange = '10m' | '24h';

export interface HistoryQuery {
  range: HistoryRange;
  /** One virtual service; or `pool` and `realServer` for one real server; none of them: the total over every virtual service. */
  virtualService?: string;
  pool?: string;
  realServer?: string;
}

export type HistoryAnswer = { range: HistoryRange; step: number; series: string; t: number[] } & Record<HistoryField, (number | null)[]>;

export interface StatsHistoryOptions {
  /** Now, in milliseconds since the epoch (query's ranges end there); Date.now by default. */
  clock?: () => number;
}

const TEN_MINUTES_S = 600;
const DAY_S = 24 * 3600;

/** The series key of a virtual service, a real server of a pool, and the total (as stored in the table). */
export const serviceSeries = (name: string): string => `virtual-service:${name}`;
export const realServerSeries = (pool: string, address: string): string => `real-server:${JSON.stringify([pool, address])}`;
export const TOTAL_SERIES = 'total';

/** What a series has counted so far (monotonic per worker, summed over the workers). */
interface Counted {
  requests: number;
  bytesIn: number;
  bytesOut: number;
  errors: number;
  histogram: number[];
}

interface Observation {
  counted: Counted;
  connections: number;
}

/** One series' sums over the minute in progress. */
interface MinuteSums {
  seconds: number;
  requests: number;
  bytesIn: number;
  bytesOut: number;
  errors: number;
  histogram: number[];
  connections: number;
  connectionSamples: number;
}

export class StatsHistory {
  readonly #table: HistoryTable;
  readonly #ring = new SecondsRing();
  readonly #clock: () => number;
  #previous = new Map<string, Counted>();
  #previousAt: number | null = null;
  /** The minute in progress (Unix seconds of its start) and its sums per series. */
  #minute: number | null = null;
  #sums = new Map<string, MinuteSums>();

  constructor(db: DatabaseSync, options: StatsHistoryOptions = {}) {
    this.#table = new HistoryTable(db);
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * One sample, `now` in milliseconds since the epoch (about a second after the last). At the
   * first sample of a new minute, the finished minute is written and rows older than 24 hours
   * deleted; a failure to write throws a FulcrumError(STATE_DATABASE) after the sample is taken
   * in memory (that minute's rows are lost, the history goes on).
   */
  sample(now: number, metrics: MetricsSnapshot, status: StatusDocument): void {
    const observed = observe(metrics, status);
    const seconds = this.#previousAt === null ? Number.NaN : (now - this.#previousAt) / 1000;
    const points = new Map<string, number[]>();
    const deltas = new Map<string, Counted | null>();
    for (const [key, { counted, connections }] of observed) {
      const before = this.#previous.get(key);
      const delta = before === undefined || !(seconds > 0) ? null : difference(counted, before);
      deltas.set(key, delta);
      points.set(key, point(delta, seconds, connections));
    }
    this.#ring.push(now / 1000, points);
    this.#previous = new Map([...observed].map(([key, o]) => [key, o.counted]));
    this.#previousAt = now;

    const minute = Math.floor(now / 60_000) * 60;
    let finished: MinuteRow[] = [];
    if (this.#minute !== null && minute !== this.#minute) {
      finished = [...this.#sums].map(([series, sums]) => ({ series, minute: this.#minute!, values: minuteValues(sums) }));
      this.#sums = new Map();
    }
    this.#minute = minute;
    for (const [key, { connections }] of observed) addToMinute(this.#sums, key, deltas.get(key) ?? null, seconds, connections);
    if (finished.length > 0) this.#table.write(finished, minute - DAY_S);
  }

  /** A series over a range, columnar (see the header). Throws FulcrumError(ADMIN_BAD_REQUEST) for a realServer without its pool. */
  query(query: HistoryQuery): HistoryAnswer {
    const series = seriesOf(query);
    const nowS = this.#clock() / 1000;
    if (query.range === '10m') {
      const { t, values } = this.#ring.read(series, nowS - TEN_MINUTES_S);
      return answer(query.range, 1, series, t, values);
    }
    const end = Math.floor(nowS / 60) * 60;
    const from = end - DAY_S;
    const rows = new Map(this.#table.read(series, from, end).map((row) => [row.minute, row.values]));
    const t: number[] = [];
    const values: (number | null)[][] = HISTORY_FIELDS.map(() => []);
    for (let minute = from; minute < end; minute += 60) {
      t.push(minute);
      const row = rows.get(minute);
      HISTORY_FIELDS.forEach((_, f) => values[f]!.push(row?.[f] ?? null));
    }
    return answer(query.range, 60, series, t, values);
  }
}

function seriesOf(query: HistoryQuery): string {
  if (query.virtualService !== undefined) {
    if (query.pool !== undefined || query.realServer !== undefined) throw new FulcrumError(ErrorCode.ADMIN_BAD_REQUEST, 'ask for a virtualService, or for a pool and a realServer, not both');
    return serviceSeries(query.virtualService);
  }
  if (query.realServer !== undefined && query.pool !== undefined) return realServerSeries(query.pool, query.realServer);
  if (query.realServer !== undefined || query.pool !== undefined) throw new FulcrumError(ErrorCode.ADMIN_BAD_REQUEST, 'a real server is named by its pool and its address: give both pool and realServer');
  return TOTAL_SERIES;
}

function answer(range: HistoryRange, step: number, series: string, t: number[], values: (number | null)[][]): HistoryAnswer {
  const out = { range, step, series, t } as HistoryAnswer;
  HISTORY_FIELDS.forEach((field, f) => (out[field] = values[f]!));
  return out;
}

/** Every series of the running config with what it has counted, and the total over the virtual services. */
function observe(metrics: MetricsSnapshot, status: StatusDocument): Map<string, Observation> {
  const observed = new Map<string, Observation>();
  const services = new Map(metrics.services.map((s) => [s.name, s]));
  const total: Observation = { counted: zero(), connections: 0 };
  for (const vs of status.virtualServices) {
    const m = services.get(vs.name);
    const counted: Counted =
      m === undefined
        ? zero()
        : { requests: Object.values(m.terminations).reduce((a, b) => a + b, 0), bytesIn: m.requestBytes, bytesOut: m.responseBytes, errors: m.errors, histogram: m.duration.counts };
    observed.set(serviceSeries(vs.name), { counted, connections: vs.clientConnections });
    add(total.counted, counted);
    total.connections += vs.clientConnections;
  }
  observed.set(TOTAL_SERIES, total);
  const servers = new Map(metrics.realServers.map((r) => [realServerSeries(r.pool, r.address), r]));
  for (const pool of status.pools) {
    for (const rs of pool.realServers) {
      const key = realServerSeries(pool.name, rs.address);
      const m = servers.get(key);
      const counted: Counted =
        m === undefined
          ? zero()
          : { requests: requestsOf(m) + m.sessions, bytesIn: m.requestBytes, bytesOut: m.responseBytes, errors: m.errors, histogram: m.duration.counts };
      observed.set(key, { counted, connections: rs.activeRequests });
    }
  }
  return observed;
}

function zero(): Counted {
  return { requests: 0, bytesIn: 0, bytesOut: 0, errors: 0, histogram: emptyHistogram().counts };
}

function add(into: Counted, from: Counted): void {
  into.requests += from.requests;
  into.bytesIn += from.bytesIn;
  into.bytesOut += from.bytesOut;
  into.errors += from.errors;
  from.histogram.forEach((count, i) => (into.histogram[i] = (into.histogram[i] ?? 0) + count));
}

/** now - before, each counter at least 0 (a restarted worker's counters start again from 0). */
function difference(now: Counted, before: Counted): Counted {
  const d = (a: number, b: number): number => Math.max(0, a - b);
  return {
    requests: d(now.requests, before.requests),
    bytesIn: d(now.bytesIn, before.bytesIn),
    bytesOut: d(now.bytesOut, before.bytesOut),
    errors: d(now.errors, before.errors),
    histogram: now.histogram.map((count, i) => d(count, before.histogram[i] ?? 0)),
  };
}

/** A point's values (HISTORY_FIELDS order) from an interval's deltas over `seconds`. */
function point(delta: Counted | null, seconds: number, connections: number): number[] {
  if (delta === null || !(seconds > 0)) return [Number.NaN, connections, Number.NaN, Number.NaN, Number.NaN, Number.NaN, Number.NaN, Number.NaN];
  return [
    delta.requests / seconds,
    connections,
    delta.bytesIn / seconds,
    delta.bytesOut / seconds,
    quantileMs(delta.histogram, 0.5),
    quantileMs(delta.histogram, 0.9),
    quantileMs(delta.histogram, 0.99),
    delta.errors / seconds,
  ];
}

function addToMinute(sums: Map<string, MinuteSums>, key: string, delta: Counted | null, seconds: number, connections: number): void {
  let s = sums.get(key);
  if (s === undefined) sums.set(key, (s = { seconds: 0, requests: 0, bytesIn: 0, bytesOut: 0, errors: 0, histogram: emptyHistogram().counts, connections: 0, connectionSamples: 0 }));
  s.connections += connections;
  s.connectionSamples++;
  if (delta === null) return;
  s.seconds += seconds;
  s.requests += delta.requests;
  s.bytesIn += delta.bytesIn;
  s.bytesOut += delta.bytesOut;
  s.errors += delta.errors;
  delta.histogram.forEach((count, i) => (s.histogram[i] = (s.histogram[i] ?? 0) + count));
}

/** A minute's row: rates over the seconds it sampled, the mean of its connection counts, percentiles of its histogram. */
function minuteValues(s: MinuteSums): number[] {
  return point(s.seconds > 0 ? s : null, s.seconds, s.connectionSamples > 0 ? s.connections / s.connectionSamples : Number.NaN);
}
