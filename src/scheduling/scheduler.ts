import type { RealServer } from '../pool/real-server.ts';

/** Everything a scheduler may look at to choose a real server for one request. */
export interface PickContext {
  /** The client's IP address as text (source-ip-hash keys on it). */
  clientAddress: string;
  /** Servers already tried for this request (retries); null on the first attempt. */
  exclude: readonly RealServer[] | null;
}

/**
 * One scheduling method over a fixed list of real servers, in the spirit of HAProxy's lb ops:
 * `rebuild` when weights or availability change, `pick` per request. The engine keeps
 * `RealServer.inflight` up to date; schedulers only read it.
 */
export interface Scheduler {
  /** Choose a server for a new request, or null when none is available. Must not allocate per call. */
  pick(ctx: PickContext): RealServer | null;
  /** Recompute internal tables after a change of weight, enabled or up on any server. */
  rebuild(): void;
}

/** One scheduling method's code; its name, description and needs are in registry.ts. */
export interface SchedulerModule {
  readonly name: string;
  create(servers: readonly RealServer[]): Scheduler;
}
