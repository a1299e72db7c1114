import type { RealServerState } from '../config/schema.ts';
import type { ConnectionPool } from '../upstream/connection-pool.ts';
import type { UpstreamTls } from '../upstream/upstream-tls.ts';
import type { ServerMeter } from '../metrics/meters.ts';

/**
 * A real server (RS) as the data path sees it: its address, its weight and state, and the live
 * counters the schedulers read. One instance per real server per pool per worker.
 */
export class RealServer {
  readonly id: string;
  /** TLS to this server (re-encryption), set at each config apply; null: clear text. */
  tls: UpstreamTls | null = null;
  /** The last TLS session it gave, offered on the next connection (abbreviated handshake). */
  tlsSession: Buffer | null = null;
  readonly host: string;
  readonly port: number;
  /** Position in the pool's realServers list (stable across scheduler rebuilds); -1 for the sorry server. */
  readonly index: number;
  /**
   * The weight schedulers use: the configured weight, scaled down while the server is in its
   * slow-start ramp (see Pool.tick).
   */
  weight: number;
  /** The weight from the config. */
  configuredWeight: number;
  /** What the admin asked for: enabled, disabled (no traffic) or drain (no new clients). */
  state: RealServerState;
  /**
   * Health: the active health checks' verdict (through the supervisor; true without checks), unless
   * the server's agent reports it down (adaptive scheduling). Setting it sets the checks' verdict.
   */
  get up(): boolean {
    return this.healthUp && !this.agentDown;
  }

  set up(value: boolean) {
    this.healthUp = value;
  }

  /** The active health checks' verdict alone (see `up`). */
  healthUp = true;
  /** Why the server is down (or what the last check said), in words for the status view. */
  healthReason = '';
  /** Passive health (outlier detection): ejected until this time (ms since epoch); 0 when not. */
  ejectedUntil = 0;
  /** Consecutive failed requests seen on live traffic (outlier detection counts these). */
  consecutiveFailures = 0;
  /** When the server last became available (slow start ramps from here); 0 at first start. */
  availableSince = 0;
  /** Requests (http), connections (tcp, ftp) or sessions (udp) on this server now: least-connections reads it, maxConnections bounds it. */
  inflight = 0;
  /** The most in flight at once (maxConnections, per worker); 0: no limit. */
  maxConnections = 0;
  /** Requests sent in total (for distribution tests and metrics). */
  requests = 0;
  /** Idle HTTP keep-alive connections to it (made by the first HTTP exchange that needs one). */
  connections: ConnectionPool | null = null;
  /** Its worker's metrics counters (src/metrics), attached at its first exchange or connection. */
  meter: ServerMeter | null = null;

  // ---- adaptive scheduling: what the server's agent reports (src/scheduling/adaptive.ts) --------
  /** The agent reports the server down (LoadMaster 101; HAProxy down, fail, stopped or maint): no traffic, persisted clients move. */
  agentDown = false;
  /**
   * The share of configuredWeight the adaptive scheduler gives it, moved smoothly towards what the
   * agent reports; 0 when the agent drains it (no new clients, persisted ones stay); 1 without one.
   */
  adaptiveFactor = 1;

  constructor(index: number, host: string, port: number, weight: number, enabled: boolean | RealServerState) {
    this.index = index;
    this.host = host;
    this.port = port;
    this.weight = weight;
    this.configuredWeight = weight;
    this.state = typeof enabled === 'string' ? enabled : enabled ? 'enabled' : 'disabled';
    this.id = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }

  /** The short form of state: false is `disabled`. */
  get enabled(): boolean {
    return this.state !== 'disabled';
  }

  set enabled(value: boolean) {
    this.state = value ? 'enabled' : 'disabled';
  }

  /**
   * May this server take new clients? Weight 0, disabled, draining, down (health or agent),
   * ejected or drained by its agent (adaptiveFactor 0) means no.
   * Clients persisted to a draining server still reach it through persistence, not through here.
   */
  get available(): boolean {
    return this.state === 'enabled' && this.up && this.ejectedUntil === 0 && this.weight > 0 && this.adaptiveFactor > 0;
  }
}
