import { FieldTable } from '../http/fields.ts';
import { RequestHead } from '../http/request-head.ts';
import { ResponseHead } from '../http/response-head.ts';
import type { AccessLogSink } from '../log/access-log.ts';

/**
 * Every socket read hands us a freshly allocated buffer of up to 64 KiB, and V8 frees those only
 * when it collects the small JS objects that hold them. On its own it does that after 64 MiB of
 * external memory has piled up (V8's kExternalAllocationSoftLimit), so a bulk transfer alone
 * grows the worker by ~65 MiB of dead read buffers. A young-generation collection after every
 * 8 MiB read keeps that under ~10 MiB; it takes well under a millisecond, since almost nothing on
 * the data path survives it, so at 1 GB/s it costs a few percent and at small requests nothing.
 */
const COLLECT_EVERY_BYTES = 8 * 1024 * 1024;

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
  /** Runs a young-generation GC; set by a worker started with --expose-gc (see COLLECT_EVERY_BYTES). */
  collect: (() => void) | null = null;
  #readSinceCollect = 0;

  /** Count bytes read from a socket; collect the dead read buffers every COLLECT_EVERY_BYTES. */
  noteRead(bytes: number): void {
    this.#readSinceCollect += bytes;
    if (this.#readSinceCollect >= COLLECT_EVERY_BYTES) {
      this.#readSinceCollect = 0;
      this.collect?.();
    }
  }
}
