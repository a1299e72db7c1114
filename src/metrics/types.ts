/**
 * Types only: the counters one worker reports in its stats answer (WorkerStats.metrics), and the
 * same shape summed over the workers (aggregate.ts). Plain numbers and arrays, cheap to copy over
 * IPC; every name in them comes from the config (virtual services, pools, real servers), never
 * from a client.
 *
 * Counters are monotonic for the life of a worker; a restarted worker starts again from zero,
 * which Prometheus reads as a counter reset.
 */

/** Status classes, in slot order: no response, then 1xx to 5xx. */
export const STATUS_CLASSES = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

/** A latency histogram: observations per bucket (not cumulative; buckets.ts gives the bounds, the last is +Inf) and their sum. */
export interface HistogramSnapshot {
  counts: number[];
  /** Sum of the observations, in seconds. */
  sum: number;
}

/** One virtual service's counters. */
export interface ServiceMetrics {
  name: string;
  /** HTTP requests by status class of the answer (STATUS_CLASSES order; `none`: no response reached the client). */
  statusClasses: number[];
  /** HTTP requests, and TCP, UDP and FTP connections or sessions, that ended, by termination code (codes with a count only). */
  terminations: Record<string, number>;
  /** Bytes received from clients (HTTP: the request as read; Layer 4: relayed towards the real server). */
  requestBytes: number;
  /** Bytes sent to clients. */
  responseBytes: number;
  /** Client connections (UDP: sessions) accepted. */
  connections: number;
  /** 5xx answers and failures (upstream, no server, queue, internal errors: terminations.ts). */
  errors: number;
  tlsHandshakes: number;
  tlsHandshakeErrors: number;
  /** HTTP/2 streams (requests) opened by clients. */
  http2Streams: number;
  /** HTTP: from the request head's arrival to the exchange's end. */
  duration: HistogramSnapshot;
  /** HTTP: from the request head's arrival to the real server's response head (filters, queue, connect and the server's time). */
  upstream: HistogramSnapshot;
}

/** One real server of one pool: the exchanges and connections it served. */
export interface RealServerMetrics {
  pool: string;
  /** Its id, as the config and the status document write it ("127.0.0.1:9001", "[::1]:80"). */
  address: string;
  /** HTTP requests it answered (or that failed on it), by status class. */
  statusClasses: number[];
  /** TCP, UDP and FTP connections or sessions it served that ended. */
  sessions: number;
  /** Bytes of the clients' requests sent to it (as read from the client). */
  requestBytes: number;
  /** Bytes of its responses sent to the clients. */
  responseBytes: number;
  errors: number;
  /** Exchanges and connections that ended because it could not be reached (refused, timeout, unreachable, TLS). */
  connectErrors: number;
  /** HTTP: the whole exchange, for requests it served. */
  duration: HistogramSnapshot;
}

/** One worker's (or, summed, every worker's) counters. */
export interface MetricsSnapshot {
  services: ServiceMetrics[];
  realServers: RealServerMetrics[];
}
