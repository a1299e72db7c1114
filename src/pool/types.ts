/**
 * Types only: what every engine (HTTP, TCP, UDP, FTP) hands a pool to get a real server, and
 * what the pool answers (HAProxy's -t.h split).
 */
import type { ClientKeys, RequestKeys } from '../persistence/types.ts';
import type { RealServer } from './real-server.ts';
import type { Pool } from './pool.ts';

/** Every real server that could take it is at its maxConnections: wait in the pool's queue, or refuse. */
export const FULL = 'full';
export type PickResult = RealServer | null | typeof FULL;

/** One choice of a real server: for a request (HTTP) or a connection or session (Layer 4). */
export interface PickRequest {
  /** The client's address, IPv4-mapped IPv6 already normalised (src/ip/client-address.ts). */
  clientAddress: string;
  /** Servers this request or connection already tried (retries); null on the first attempt. */
  exclude: readonly RealServer[] | null;
  /** The client's persistence keys (per connection); needed only when the pool has persistence. */
  clientKeys: ClientKeys | null;
  /** This request's persistence keys, read by `Pool.readKeys` (HTTP) or from the connection (Layer 4). */
  keys: RequestKeys | null;
}

/** Something waiting in a pool's queue for a real server below its maxConnections. */
export interface PoolWaiter {
  /** In the queue now (a waiter that left, e.g. timed out, stays in the array until it reaches the head). */
  inQueue: boolean;
  /** When its wait ends (ms since epoch). */
  queueDeadline: number;
  /**
   * A server slot may be free: pick again from `pool` (after a reload, the new pool of the same
   * name, which took the queue over). false: still full (the waiter keeps its place at the head).
   */
  onPoolSlot(pool: Pool): boolean;
  /** Waited `queue.timeout` in vain. */
  onQueueTimeout(): void;
}

/** What a pool tells its operator about real servers (the worker's logger implements it). */
export type PoolEventSink = (level: 'info' | 'warn', message: string, fields: Record<string, unknown>) => void;
