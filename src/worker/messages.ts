import type { Http2Events } from './engine-context.ts';
import type { AgentVerdict } from '../agent/types.ts';
import type { Config } from '../config/schema.ts';
import type { DnsCounters } from '../dns/answerer.ts';
import type { SiteReport } from '../gslb/types.ts';
import type { LimitsToAuthority, LimitsToWorker } from '../limits/protocol.ts';
import type { MetricsSnapshot } from '../metrics/types.ts';

/** Supervisor → worker. */
export type ToWorker =
  /** `dnsSerial`: the SOA serial of every zone under this config (the supervisor raises it when the gslb section changes). */
  | { type: 'apply'; generation: number; config: Config; dnsSerial: number; workers: number }
  /** The limits authority's answer to a worker's asks (src/limits/protocol.ts). */
  | LimitsToWorker
  | { type: 'drain'; graceMs: number }
  /** Active health check results, per pool (the supervisor runs the checks; workers only apply them). */
  | { type: 'health'; pool: string; server: string; up: boolean; reason: string }
  /** Adaptive scheduling: what a real server's agent says now (the supervisor polls; workers turn it into weights). */
  | { type: 'agent'; pool: string; server: string; verdict: AgentVerdict }
  /** GSLB: an FQDN's sites as the supervisor's site checks see them (sent on every change, and in full to a new worker). */
  | { type: 'gslb'; fqdn: string; sites: SiteReport[] }
  /** The admin API asks for this worker's counters; answered with a `stats` message of the same id. */
  | { type: 'stats'; id: number }
  /**
   * OCSP stapling: the response to staple for the certificate of this SHA-256 fingerprint
   * (X509Certificate.fingerprint256), until `expires` (epoch ms); null: staple none. The
   * supervisor fetches (src/tls/ocsp-manager.ts); sent on every change, and in full to a new worker.
   */
  | { type: 'ocsp'; fingerprint: string; response: Buffer | null; expires: number };

/** Worker → supervisor. */
export type FromWorker =
  | { type: 'applied'; generation: number }
  | { type: 'apply-failed'; generation: number; error: string; code: string }
  | { type: 'drained'; clean: boolean }
  | { type: 'stats'; id: number; data: WorkerStats }
  /** A worker's asks and returns of rate and connection limits (src/limits/protocol.ts). */
  | LimitsToAuthority;

/** One worker's live counters (WorkerRuntime.stats); the supervisor sums them over workers for the admin API. */
export interface WorkerStats {
  virtualServices: WorkerServiceStats[];
  pools: WorkerPoolStats[];
  /** The DNS server's counters; null without a gslb section. */
  dns: DnsCounters | null;
  /** Requests, connections, bytes and latency histograms per virtual service and real server (src/metrics); the supervisor sums them (aggregateMetrics). */
  metrics?: MetricsSnapshot;
}

export interface WorkerServiceStats {
  name: string;
  /** Client connections open on this service's listener(s). */
  clientConnections: number;
  /** How often each rule decided, by rule name (since this worker built the rule). */
  ruleHits: Record<string, number>;
  /** HTTP/2 connections closed for floods (by limit) and protocol errors, since the worker started. */
  http2?: Http2Events;
}

export interface WorkerPoolStats {
  name: string;
  /** Entries in this worker's persistence tables; null when persistence is off. */
  persistenceEntries: number | null;
  /** Requests or connections waiting in the pool's queue now. */
  queued: number;
  realServers: WorkerRealServerStats[];
}

export interface WorkerRealServerStats {
  /** The real server's id ("127.0.0.1:9001", "[::1]:80"). */
  id: string;
  /** The weight new clients see in this worker: 0 while disabled, draining, down or ejected; below the configured weight during slow start. */
  effectiveWeight: number;
  /** Ejected by outlier detection in this worker. */
  ejected: boolean;
  /** Requests dispatched to it and not finished. */
  inflight: number;
  /** Requests sent to it since this worker created it. */
  requests: number;
  /** Idle keep-alive connections in its pool. */
  idle: number;
}
