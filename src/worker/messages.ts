import type { Config } from '../config/schema.ts';

/** Supervisor → worker. */
export type ToWorker =
  | { type: 'apply'; generation: number; config: Config }
  | { type: 'drain'; graceMs: number }
  /** Active health check results (the supervisor runs the checks; workers only apply them). */
  | { type: 'health'; virtualService: string; server: string; up: boolean; reason: string };

/** Worker → supervisor. */
export type FromWorker =
  | { type: 'applied'; generation: number }
  | { type: 'apply-failed'; generation: number; error: string; code: string }
  | { type: 'drained'; clean: boolean };
