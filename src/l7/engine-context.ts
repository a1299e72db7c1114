import { FieldTable } from '../http/fields.ts';
import { RequestHead } from '../http/request-head.ts';
import { ResponseHead } from '../http/response-head.ts';
import type { AccessLogSink } from '../log/access-log.ts';

/** The most header fields any limit may allow (the schema caps limits.maxHeaders below this). */
export const FIELD_TABLE_CAPACITY = 1024;

/** What every connection of one worker shares: scratch parse state and the access log. */
export class EngineContext {
  /**
   * Scratch for the head being parsed. Safe to share: a head is parsed and rewritten within one
   * synchronous call, and the connection copies out the few values it keeps.
   */
  readonly fields = new FieldTable(FIELD_TABLE_CAPACITY);
  readonly request = new RequestHead();
  readonly response = new ResponseHead();
  accessLog: AccessLogSink | null = null;
  /** Set on SIGTERM: finish what is in flight, answer with Connection: close, accept nothing new. */
  draining = false;
}
