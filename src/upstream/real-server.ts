import type { ConnectionPool } from './pool.ts';

/**
 * A real server (RS) as the data path sees it: its address, its weight and state, and the live
 * counters the schedulers read. One instance per real server per virtual service per worker.
 */
export class RealServer {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  /** Position in the virtual service's realServers list (stable across scheduler rebuilds). */
  readonly index: number;
  weight: number;
  enabled: boolean;
  /** Health state; always true until health checking exists (issue 3). */
  up = true;
  /** Requests dispatched to this server and not yet finished (least-connections reads this). */
  inflight = 0;
  /** Requests sent in total (for distribution tests and metrics). */
  requests = 0;
  pool: ConnectionPool | null = null;

  constructor(index: number, host: string, port: number, weight: number, enabled: boolean) {
    this.index = index;
    this.host = host;
    this.port = port;
    this.weight = weight;
    this.enabled = enabled;
    this.id = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }

  /** May this server take new traffic? Weight 0, disabled or down means no. */
  get available(): boolean {
    return this.enabled && this.up && this.weight > 0;
  }
}
