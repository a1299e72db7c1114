import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';

/** One finished request, as the access log records it. */
export interface AccessRecord {
  client: string;
  virtualService: string;
  server: string;
  method: string;
  path: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  error: string;
}

export interface AccessLogSink {
  log(r: AccessRecord): void;
  close(): Promise<void>;
}

/** Batching caps: a write per event-loop turn, or earlier once 64 KiB of lines are waiting. */
const FLUSH_BYTES = 64 * 1024;
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;
/**
 * When the destination cannot keep up (a stalled stdout pipe, a slow disk), lines waiting in the
 * stream beyond this are dropped and counted rather than growing the worker without bound: the
 * access log must never be what takes the data path down.
 */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/**
 * JSON lines, batched so that a busy worker makes one write per event-loop turn instead of one
 * per request. Strings that a client controls (path, method) go through JSON.stringify.
 */
export class JsonAccessLog implements AccessLogSink {
  readonly #out: Writable;
  readonly #ownsStream: boolean;
  #pending = '';
  #scheduled = false;
  #lastMs = 0;
  #lastIso = '';
  #failed = false;
  /** Lines dropped because the destination was too slow or failed. */
  dropped = 0;

  constructor(path: string) {
    if (path === 'stdout' || path === 'stderr') {
      this.#out = path === 'stdout' ? process.stdout : process.stderr;
      this.#ownsStream = false;
    } else {
      this.#out = createWriteStream(path, { flags: 'a' });
      this.#ownsStream = true;
    }
    this.#out.on('error', (err) => {
      if (!this.#failed) process.emitWarning(`fulcrum: access log ${path} failed (${err.message}); dropping access log lines`);
      this.#failed = true;
    });
  }

  log(r: AccessRecord): void {
    const now = Date.now();
    if (now !== this.#lastMs) {
      this.#lastMs = now;
      this.#lastIso = new Date(now).toISOString();
    }
    // No JSON.stringify for the usual fields: the virtual service name is limited by the schema
    // to [A-Za-z0-9._-], the method to llhttp's method names, and the path to visible ASCII by
    // the parser, so only '"' and '\\' in a path can need escaping.
    const path = NEEDS_ESCAPE.test(r.path) ? JSON.stringify(r.path) : `"${r.path}"`;
    this.#pending +=
      `{"time":"${this.#lastIso}","client":"${r.client}","virtualService":"${r.virtualService}"` +
      `,"realServer":"${r.server}","method":"${r.method}","path":${path},"status":${r.status}` +
      `,"bytesIn":${r.bytesIn},"bytesOut":${r.bytesOut},"durationMs":${Math.round(r.durationMs * 1000) / 1000}` +
      (r.error === '' ? '}\n' : `,"error":${JSON.stringify(r.error)}}\n`);
    if (this.#pending.length >= FLUSH_BYTES) this.#flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushSoon);
    }
  }

  readonly #flushSoon = (): void => {
    this.#scheduled = false;
    this.#flush();
  };

  #flush(): void {
    if (this.#pending === '') return;
    if (this.#failed || this.#out.writableLength > MAX_BUFFERED_BYTES) {
      for (let i = this.#pending.indexOf('\n'); i >= 0; i = this.#pending.indexOf('\n', i + 1)) this.dropped++;
    } else {
      this.#out.write(this.#pending);
    }
    this.#pending = '';
  }

  close(): Promise<void> {
    this.#flush();
    if (!this.#ownsStream) return Promise.resolve();
    return new Promise((resolve) => this.#out.end(resolve));
  }
}
