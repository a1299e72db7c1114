/**
 * How a LimitClient reaches its authority. LocalLink: the authority is in this process (workers:
 * 1), every decision is synchronous and exact. IpcLink: the authority is in the supervisor; the
 * client batches its asks and returns into one message per event-loop turn and hands it to
 * `send` (process.send in a worker); the answers come back through LimitClient.receive.
 */
import type { LimitAuthority } from './authority.ts';
import type { LimitsToAuthority } from './protocol.ts';

export class LocalLink {
  readonly authority: LimitAuthority;
  /** The id the in-process authority knows this worker by. */
  readonly worker: number;

  constructor(authority: LimitAuthority, worker = 0) {
    this.authority = authority;
    this.worker = worker;
  }
}

export class IpcLink {
  readonly send: (message: LimitsToAuthority) => void;
  /**
   * Runs the flush once the current turn's callbacks are done. setImmediate runs after the poll
   * phase, so every request that arrived in one turn shares the message (a microtask would run
   * after each socket callback: one message per request). Tests inject their own.
   */
  readonly schedule: (flush: () => void) => void;

  constructor(send: (message: LimitsToAuthority) => void, schedule: (flush: () => void) => void = setImmediate) {
    this.send = send;
    this.schedule = schedule;
  }
}

export type LimitLink = LocalLink | IpcLink;
