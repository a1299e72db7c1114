import { closeSync, openSync, writeSync } from 'node:fs';

/** One finished HTTP exchange, as the access log records it. */
export interface AccessRecord {
  client: string;
  virtualService: string;
  /** The pool the exchange was routed to ('' when it never got that far). */
  pool: string;
  /** The rule that decided ('' when none matched). */
  rule: string;
  server: string;
  method: string;
  path: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  /** How it ended (src/exchange/termination.ts). */
  termination: string;
  /** The internal detail of a failure (addresses, errno); '' when none. */
  error: string;
}

/** One finished Layer 4 connection (tcp) or session: no method, path or status to pretend. */
export interface ConnectionRecord {
  protocol: 'tcp' | 'udp' | 'ftp';
  client: string;
  virtualService: string;
  pool: string;
  server: string;
  /** Client to real server (ftp: the control connection and its data connections, whichever side opened them). */
  bytesIn: number;
  /** Real server to client. */
  bytesOut: number;
  durationMs: number;
  termination: string;
  error: string;
  /** udp: datagrams from the client (a refusal's line: those refused since the client's last line) and replies to it. */
  datagramsIn?: number;
  datagramsOut?: number;
  /** ftp: data connections the session opened. */
  dataConnections?: number;
}

export interface AccessLogSink {
  log(r: AccessRecord): void;
  logConnection(r: ConnectionRecord): void;
  close(): Promise<void>;
}

/** Batching caps: a write per event-loop turn, or earlier once 64 KiB of lines are waiting. */
const FLUSH_BYTES = 64 * 1024;
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;
/**
 * When stdout cannot keep up (a stalled pipe), lines waiting in the stream beyond this are
 * dropped and counted rather than growing the worker without bound: the access log must never be
 * what takes the data path down.
 */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/** Where the lines go. `write` returns false when the text was dropped. */
interface LineDestination {
  write(text: string): boolean;
  close(): void;
}

/**
 * A file, written synchronously, as nginx writes its access log: a write to the page cache takes
 * microseconds, while an async write costs two thread hand-offs through libuv's pool per flush,
 * which on a worker pinned to one core cut throughput by a third in our benchmark.
 */
class FileDestination implements LineDestination {
  readonly #fd: number;
  readonly #path: string;
  #failed = false;

  constructor(path: string) {
    this.#path = path;
    this.#fd = openSync(path, 'a'); // throws for a path we cannot write: the config apply fails cleanly
  }

  write(text: string): boolean {
    if (this.#failed) return false;
    try {
      writeSync(this.#fd, text);
      return true;
    } catch (err) {
      this.#failed = true;
      process.emitWarning(`fulcrum: access log ${this.#path} failed (${(err as Error).message}); dropping access log lines`);
      return false;
    }
  }

  close(): void {
    closeSync(this.#fd);
  }
}

/** stdout or stderr: Node writes to files and pipes synchronously on Linux, to a TTY as it can. */
class StdioDestination implements LineDestination {
  readonly #stream: NodeJS.WriteStream;

  constructor(stream: NodeJS.WriteStream) {
    this.#stream = stream;
  }

  write(text: string): boolean {
    if (this.#stream.writableLength > MAX_BUFFERED_BYTES) return false;
    this.#stream.write(text);
    return true;
  }

  close(): void {}
}

/**
 * JSON lines, batched so that a busy worker makes one write per event-loop turn instead of one
 * per request.
 */
export class JsonAccessLog implements AccessLogSink {
  readonly #out: LineDestination;
  #pending = '';
  #scheduled = false;
  #lastMs = 0;
  #lastIso = '';
  /** Lines dropped because the destination was too slow or failed. */
  dropped = 0;

  constructor(path: string) {
    this.#out =
      path === 'stdout' ? new StdioDestination(process.stdout) : path === 'stderr' ? new StdioDestination(process.stderr) : new FileDestination(path);
  }

  log(r: AccessRecord): void {
    // No JSON.stringify for the usual fields: the virtual service name is limited by the schema
    // to [A-Za-z0-9._-], the method to llhttp's method names, and the path to visible ASCII by
    // the parser, so only '"' and '\\' in a path can need escaping.
    const path = NEEDS_ESCAPE.test(r.path) ? JSON.stringify(r.path) : `"${r.path}"`;
    // The method is a token (tchar has no '"' or '\\'), pool and rule names are schema-limited.
    this.#pending +=
      `{"time":"${this.#time()}","client":"${r.client}","virtualService":"${r.virtualService}","pool":"${r.pool}"` +
      (r.rule === '' ? '' : `,"rule":"${r.rule}"`) +
      `,"realServer":"${r.server}","method":"${r.method}","path":${path},"status":${r.status}` +
      `,"bytesIn":${r.bytesIn},"bytesOut":${r.bytesOut},"durationMs":${Math.round(r.durationMs * 1000) / 1000}` +
      `,"termination":"${r.termination}"` +
      (r.error === '' ? '}\n' : `,"error":${JSON.stringify(r.error)}}\n`);
    this.#scheduleFlush();
  }

  logConnection(r: ConnectionRecord): void {
    this.#pending +=
      `{"time":"${this.#time()}","protocol":"${r.protocol}","client":"${r.client}","virtualService":"${r.virtualService}","pool":"${r.pool}"` +
      `,"realServer":"${r.server}","bytesIn":${r.bytesIn},"bytesOut":${r.bytesOut}` +
      (r.datagramsIn === undefined ? '' : `,"datagramsIn":${r.datagramsIn},"datagramsOut":${r.datagramsOut ?? 0}`) +
      (r.dataConnections === undefined ? '' : `,"dataConnections":${r.dataConnections}`) +
      `,"durationMs":${Math.round(r.durationMs * 1000) / 1000},"termination":"${r.termination}"` +
      (r.error === '' ? '}\n' : `,"error":${JSON.stringify(r.error)}}\n`);
    this.#scheduleFlush();
  }

  #time(): string {
    const now = Date.now();
    if (now !== this.#lastMs) {
      this.#lastMs = now;
      this.#lastIso = new Date(now).toISOString();
    }
    return this.#lastIso;
  }

  #scheduleFlush(): void {
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
    if (!this.#out.write(this.#pending)) {
      for (let i = this.#pending.indexOf('\n'); i >= 0; i = this.#pending.indexOf('\n', i + 1)) this.dropped++;
    }
    this.#pending = '';
  }

  close(): Promise<void> {
    this.#flush();
    this.#out.close();
    return Promise.resolve();
  }
}
