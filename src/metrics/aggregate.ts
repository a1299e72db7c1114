/**
 * The workers' metrics snapshots summed into one (the supervisor's view): per virtual service by
 * name, per real server by pool and address, every counter added and every histogram added
 * bucket by bucket (all workers share buckets.ts's bounds). A worker that did not answer (or
 * answered without metrics) simply adds nothing.
 */
import { LATENCY_SLOTS } from './buckets.ts';
import { STATUS_CLASSES, type HistogramSnapshot, type MetricsSnapshot, type RealServerMetrics, type ServiceMetrics } from './types.ts';

export function aggregateMetrics(snapshots: ReadonlyArray<MetricsSnapshot | undefined>): MetricsSnapshot {
  const services = new Map<string, ServiceMetrics>();
  const servers = new Map<string, RealServerMetrics>();
  for (const snapshot of snapshots) {
    if (snapshot === undefined) continue;
    for (const s of snapshot.services) {
      const into = services.get(s.name);
      if (into === undefined) services.set(s.name, copyService(s));
      else addService(into, s);
    }
    for (const r of snapshot.realServers) {
      const key = `${r.pool}|${r.address}`;
      const into = servers.get(key);
      if (into === undefined) servers.set(key, copyServer(r));
      else addServer(into, r);
    }
  }
  return { services: [...services.values()], realServers: [...servers.values()] };
}

/** An empty histogram (every bucket 0). */
export function emptyHistogram(): HistogramSnapshot {
  return { counts: new Array<number>(LATENCY_SLOTS).fill(0), sum: 0 };
}

function addArray(into: number[], from: readonly number[]): void {
  for (let i = 0; i < from.length; i++) into[i] = (into[i] ?? 0) + from[i]!;
}

function addHistogram(into: HistogramSnapshot, from: HistogramSnapshot): void {
  addArray(into.counts, from.counts);
  into.sum += from.sum;
}

function copyHistogram(h: HistogramSnapshot): HistogramSnapshot {
  return { counts: [...h.counts], sum: h.sum };
}

function copyService(s: ServiceMetrics): ServiceMetrics {
  return { ...s, statusClasses: [...s.statusClasses], terminations: { ...s.terminations }, duration: copyHistogram(s.duration), upstream: copyHistogram(s.upstream) };
}

function addService(into: ServiceMetrics, s: ServiceMetrics): void {
  addArray(into.statusClasses, s.statusClasses);
  for (const [code, count] of Object.entries(s.terminations)) into.terminations[code] = (into.terminations[code] ?? 0) + count;
  into.requestBytes += s.requestBytes;
  into.responseBytes += s.responseBytes;
  into.connections += s.connections;
  into.errors += s.errors;
  into.tlsHandshakes += s.tlsHandshakes;
  into.tlsHandshakeErrors += s.tlsHandshakeErrors;
  into.http2Streams += s.http2Streams;
  addHistogram(into.duration, s.duration);
  addHistogram(into.upstream, s.upstream);
}

function copyServer(r: RealServerMetrics): RealServerMetrics {
  return { ...r, statusClasses: [...r.statusClasses], duration: copyHistogram(r.duration) };
}

function addServer(into: RealServerMetrics, r: RealServerMetrics): void {
  addArray(into.statusClasses, r.statusClasses);
  into.sessions += r.sessions;
  into.requestBytes += r.requestBytes;
  into.responseBytes += r.responseBytes;
  into.errors += r.errors;
  into.connectErrors += r.connectErrors;
  addHistogram(into.duration, r.duration);
}

/** HTTP requests of a service or real server, whatever their class. */
export function requestsOf(m: { statusClasses: readonly number[] }): number {
  let total = 0;
  for (let i = 0; i < STATUS_CLASSES.length; i++) total += m.statusClasses[i] ?? 0;
  return total;
}
