/**
 * The per-worker counters the data path bumps: one ServiceMeter per virtual service name, one
 * ServerMeter per real server of a pool. They live on the hot path, so each is plain numeric
 * fields and preallocated Float64Arrays (exact integers up to 2^53, where a Uint32Array would
 * wrap after 4.3 billion requests: 12 hours at 100 000 a second), written by index, with nothing
 * allocated and no label built per request; the supervisor names things when it renders.
 *
 * What an HTTP exchange costs (ServiceMeter.exchange): one Map probe for the termination's slot,
 * one bucket walk (buckets.ts: four comparisons for a fast request) for the request duration and
 * one for the upstream time when a response head came, and about a dozen array or field
 * increments, half of them on its real server's meter (cached on the RealServer after its first
 * request). The upstream time needs the exchange's `responseHeadAt` (one performance.now() per
 * response head, set in Exchange.onResponseHead).
 */
import type { Exchange } from '../exchange/exchange.ts';
import type { RealServer } from '../pool/real-server.ts';
import { LATENCY_SLOTS, latencySlot } from './buckets.ts';
import { IS_CONNECT_ERROR, IS_FAILURE, TERMINATION_SLOTS, terminationOfSlot, terminationSlot } from './terminations.ts';
import { STATUS_CLASSES, type HistogramSnapshot, type RealServerMetrics, type ServiceMetrics } from './types.ts';

/** Finds (or makes) the meter of a real server; the recorder implements it. */
export interface ServerMeterSource {
  serverMeter(pool: string, server: RealServer): ServerMeter;
}

/** The status class slot of a status code: 1..5, or 0 for none (0, or out of range). */
function statusSlot(status: number): number {
  return status >= 100 && status < 600 ? (status / 100) | 0 : 0;
}

export class ServerMeter {
  readonly pool: string;
  readonly address: string;
  readonly statusClasses = new Float64Array(STATUS_CLASSES.length);
  sessions = 0;
  requestBytes = 0;
  responseBytes = 0;
  errors = 0;
  connectErrors = 0;
  readonly duration = new Float64Array(LATENCY_SLOTS);
  durationSumMs = 0;

  constructor(pool: string, address: string) {
    this.pool = pool;
    this.address = address;
  }

  snapshot(): RealServerMetrics {
    return {
      pool: this.pool,
      address: this.address,
      statusClasses: Array.from(this.statusClasses),
      sessions: this.sessions,
      requestBytes: this.requestBytes,
      responseBytes: this.responseBytes,
      errors: this.errors,
      connectErrors: this.connectErrors,
      duration: histogram(this.duration, this.durationSumMs),
    };
  }
}

export class ServiceMeter {
  readonly name: string;
  readonly statusClasses = new Float64Array(STATUS_CLASSES.length);
  readonly terminations = new Float64Array(TERMINATION_SLOTS);
  requestBytes = 0;
  responseBytes = 0;
  connections = 0;
  errors = 0;
  tlsHandshakes = 0;
  tlsHandshakeErrors = 0;
  http2Streams = 0;
  readonly duration = new Float64Array(LATENCY_SLOTS);
  durationSumMs = 0;
  readonly upstream = new Float64Array(LATENCY_SLOTS);
  upstreamSumMs = 0;
  readonly #servers: ServerMeterSource;

  constructor(name: string, servers: ServerMeterSource) {
    this.name = name;
    this.#servers = servers;
  }

  /** An HTTP exchange ended (HttpFrontEnd.log), `durationMs` after its head arrived. */
  exchange(ex: Exchange, durationMs: number): void {
    const status = ex.status;
    const cls = statusSlot(status);
    const term = terminationSlot(ex.termination);
    const failed = status >= 500 || IS_FAILURE[term] === 1;
    this.statusClasses[cls]!++;
    this.terminations[term]!++;
    this.requestBytes += ex.bytesIn;
    this.responseBytes += ex.bytesOut;
    if (failed) this.errors++;
    const slot = latencySlot(durationMs);
    this.duration[slot]!++;
    this.durationSumMs += durationMs;
    const headAt = ex.responseHeadAt;
    if (headAt !== 0) {
      const upstreamMs = headAt - ex.startedAt;
      this.upstream[latencySlot(upstreamMs)]!++;
      this.upstreamSumMs += upstreamMs;
    }
    const server = ex.server;
    if (server === null) return;
    const meter = server.meter ?? this.#servers.serverMeter(ex.pool.name, server);
    meter.statusClasses[cls]!++;
    meter.requestBytes += ex.bytesIn;
    meter.responseBytes += ex.bytesOut;
    meter.duration[slot]!++;
    meter.durationSumMs += durationMs;
    if (failed) meter.errors++;
    if (IS_CONNECT_ERROR[term] === 1) meter.connectErrors++;
  }

  /** A request refused before it made an exchange (HttpFrontEnd.logRefusal: a bad head, 408, a connection limit, an HTTP/2 abuse close). Not timed: a 408's duration is the client's stall. */
  refusal(status: number, termination: string, bytesIn: number, bytesOut: number): void {
    const term = terminationSlot(termination);
    this.statusClasses[statusSlot(status)]!++;
    this.terminations[term]!++;
    this.requestBytes += bytesIn;
    this.responseBytes += bytesOut;
    if (status >= 500 || IS_FAILURE[term] === 1) this.errors++;
  }

  /** A TCP, UDP or FTP connection (or session) ended; `server` is the real server it went to, if any, in `pool`. */
  connection(termination: string, bytesIn: number, bytesOut: number, pool: string, server: RealServer | null): void {
    const term = terminationSlot(termination);
    const failed = IS_FAILURE[term] === 1;
    this.terminations[term]!++;
    this.requestBytes += bytesIn;
    this.responseBytes += bytesOut;
    if (failed) this.errors++;
    if (server === null) return;
    const meter = server.meter ?? this.#servers.serverMeter(pool, server);
    meter.sessions++;
    meter.requestBytes += bytesIn;
    meter.responseBytes += bytesOut;
    if (failed) meter.errors++;
    if (IS_CONNECT_ERROR[term] === 1) meter.connectErrors++;
  }

  /** UDP: `datagrams` refused (no session opened) with this code, as one access-log line reports them. */
  refusedDatagrams(termination: string, datagrams: number, bytes: number): void {
    const term = terminationSlot(termination);
    this.terminations[term]! += datagrams;
    this.requestBytes += bytes;
    if (IS_FAILURE[term] === 1) this.errors += datagrams;
  }

  /** A client connection (UDP: a session) was accepted. */
  accepted(): void {
    this.connections++;
  }

  /** A TLS handshake with a client ended: completed, or failed (or timed out). */
  handshake(ok: boolean): void {
    if (ok) this.tlsHandshakes++;
    else this.tlsHandshakeErrors++;
  }

  /** A client opened an HTTP/2 stream. */
  http2Stream(): void {
    this.http2Streams++;
  }

  snapshot(): ServiceMetrics {
    const terminations: Record<string, number> = {};
    for (let i = 0; i < this.terminations.length; i++) {
      const count = this.terminations[i]!;
      if (count > 0) terminations[terminationOfSlot(i)] = count;
    }
    return {
      name: this.name,
      statusClasses: Array.from(this.statusClasses),
      terminations,
      requestBytes: this.requestBytes,
      responseBytes: this.responseBytes,
      connections: this.connections,
      errors: this.errors,
      tlsHandshakes: this.tlsHandshakes,
      tlsHandshakeErrors: this.tlsHandshakeErrors,
      http2Streams: this.http2Streams,
      duration: histogram(this.duration, this.durationSumMs),
      upstream: histogram(this.upstream, this.upstreamSumMs),
    };
  }
}

function histogram(counts: Float64Array, sumMs: number): HistogramSnapshot {
  return { counts: Array.from(counts), sum: sumMs / 1000 };
}
