/**
 * Harness for the L7 engine tests: a WorkerRuntime in this process in front of real servers,
 * raw-socket clients for bytes that no well-behaved client would send, and a small response
 * reader that frames raw responses independently of the engine under test.
 */
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadConfigText } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { WorkerRuntime } from '../../src/worker/runtime.ts';
import { freePort } from '../helpers/processes.ts';

export type RealServerSpec = string | { address: string; weight?: number; enabled?: boolean };

export interface ServiceSpec {
  name?: string;
  realServers: RealServerSpec[];
  scheduler?: string;
  retries?: number;
  timeouts?: Record<string, string>;
  limits?: Record<string, number>;
  forwardedHeaders?: Record<string, unknown>;
  rules?: Record<string, unknown>[];
  /** The http2 section (e.g. { cleartext: true } for h2c on the same port). */
  http2?: Record<string, unknown>;
  rateLimit?: Record<string, unknown>;
  persistence?: Record<string, unknown>;
}

export interface AccessLine {
  time: string;
  client: string;
  virtualService: string;
  realServer: string;
  method: string;
  path: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  pool: string;
  rule?: string;
  termination: string;
  error?: string;
}

export interface Proxy {
  port: number;
  url: string;
  name: string;
  runtime: WorkerRuntime;
  /** Apply a changed spec to the running runtime (what a SIGHUP does in a worker). */
  reapply(spec: ServiceSpec): Promise<void>;
  /** Access log lines written so far (waits until at least `atLeast` are there, up to 2 s). */
  accessLog(atLeast?: number): Promise<AccessLine[]>;
  close(): Promise<void>;
}

/** The YAML a user would write for `spec` on `port`; `accessLogPath` null means off. */
export function configText(spec: ServiceSpec, port: number, accessLogPath: string | null): string {
  const vs: Record<string, unknown> = {
    name: spec.name ?? 'web',
    listen: `127.0.0.1:${port}`,
    protocol: 'http',
    scheduler: spec.scheduler ?? 'round-robin',
  };
  if (spec.forwardedHeaders !== undefined) vs['forwardedHeaders'] = spec.forwardedHeaders;
  if (spec.timeouts !== undefined) vs['timeouts'] = spec.timeouts;
  if (spec.limits !== undefined) vs['limits'] = spec.limits;
  if (spec.retries !== undefined) vs['retries'] = spec.retries;
  if (spec.rules !== undefined) vs['rules'] = spec.rules;
  if (spec.http2 !== undefined) vs['http2'] = spec.http2;
  if (spec.rateLimit !== undefined) vs['rateLimit'] = spec.rateLimit;
  if (spec.persistence !== undefined) vs['persistence'] = spec.persistence;
  vs['realServers'] = spec.realServers.map((rs) => (typeof rs === 'string' ? { address: rs } : rs));
  return stringify({
    workers: 1,
    accessLog: accessLogPath === null ? 'off' : { path: accessLogPath, format: 'json' },
    virtualServices: [vs],
  });
}

export function parseConfig(text: string): Config {
  const loaded = loadConfigText(text, 'test.yaml');
  if (!loaded.ok) throw new Error(`test config invalid:\n${text}\n${JSON.stringify(loaded.problems, null, 2)}`);
  return loaded.config;
}

/** Start a runtime with one virtual service; the access log goes to a temp file. */
export async function startProxy(spec: ServiceSpec): Promise<Proxy> {
  const dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-l7-'));
  const logPath = path.join(dir, 'access.log');
  const port = await freePort();
  const runtime = new WorkerRuntime();
  await runtime.apply(parseConfig(configText(spec, port, logPath)));
  const readLog = async (): Promise<AccessLine[]> => {
    let text = '';
    try {
      text = await readFile(logPath, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as AccessLine);
  };
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    name: spec.name ?? 'web',
    runtime,
    reapply: (next) => runtime.apply(parseConfig(configText(next, port, logPath))),
    accessLog: async (atLeast = 0) => {
      const deadline = Date.now() + 2000;
      for (;;) {
        const lines = await readLog();
        if (lines.length >= atLeast || Date.now() > deadline) return lines;
        // The log is flushed once per event-loop turn by a write stream: poll briefly.
        await sleep(10);
      }
    },
    close: async () => {
      await runtime.drain(0);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- raw clients ---------------------------------------------------------------------------

export interface RawResult {
  /** Every byte the proxy sent, as latin1 text. */
  text: string;
  bytes: Buffer;
  /** The proxy ended or reset the connection (rather than our timeout). */
  closed: boolean;
  /** The connection ended with a reset (ECONNRESET) rather than a FIN. */
  reset: boolean;
}

/**
 * Connect, write each part of `parts` (pausing `gapMs` between parts), and collect everything the
 * proxy sends until it closes the connection or `timeoutMs` passes.
 */
export async function rawExchange(
  port: number,
  parts: string | Buffer | Array<string | Buffer>,
  opts: { timeoutMs?: number; gapMs?: number } = {},
): Promise<RawResult> {
  const { timeoutMs = 3000, gapMs = 0 } = opts;
  const socket = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  let reset = false;
  socket.on('data', (c: Buffer) => chunks.push(c));
  const closed = new Promise<boolean>((resolve) => {
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') reset = true;
    });
    socket.on('close', () => resolve(true));
    setTimeout(() => resolve(false), timeoutMs).unref();
  });
  await once(socket, 'connect');
  const list = Array.isArray(parts) ? parts : [parts];
  for (let i = 0; i < list.length; i++) {
    if (i > 0 && gapMs > 0) await sleep(gapMs);
    if (socket.destroyed) break;
    socket.write(list[i]!);
  }
  const didClose = await closed;
  socket.destroy();
  const bytes = Buffer.concat(chunks);
  return { text: bytes.toString('latin1'), bytes, closed: didClose, reset };
}

/** A raw keep-alive client: write bytes, read framed responses one at a time. */
export class RawClient {
  readonly socket: net.Socket;
  #buf = Buffer.alloc(0);
  #closed = false;
  #waiters: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, c]);
      this.#wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  get closed(): boolean {
    return this.#closed;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** The next complete response (`isHead`: the request was HEAD, so no body). */
  async response(opts: { isHead?: boolean; timeoutMs?: number } = {}): Promise<ParsedResponse> {
    const deadline = Date.now() + (opts.timeoutMs ?? 5000);
    for (;;) {
      const parsed = parseResponse(this.#buf, 0, opts.isHead ?? false, this.#closed);
      if (parsed !== null) {
        this.#buf = this.#buf.subarray(parsed.end);
        return parsed;
      }
      if (this.#closed) throw new Error(`connection closed with an incomplete response: ${JSON.stringify(this.#buf.toString('latin1'))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no complete response within the timeout; have ${JSON.stringify(this.#buf.toString('latin1').slice(0, 500))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Resolves true when the proxy closes the connection within `timeoutMs`. */
  async waitClosed(timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, deadline - Date.now());
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.#closed;
  }

  /** Bytes received and not yet consumed as a response. */
  get rest(): Buffer {
    return this.#buf;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface ParsedResponse {
  status: number;
  statusLine: string;
  /** Header names lower-cased; repeated names joined with ", ". */
  headers: Record<string, string>;
  /** Raw header lines as received. */
  rawHeaders: string[];
  /** Body payload (de-chunked when the response was chunked). */
  body: Buffer;
  /** Trailer fields of a chunked body. */
  trailers: Record<string, string>;
  chunked: boolean;
  /** Offset just past the response in the buffer it was parsed from. */
  end: number;
}

/**
 * Frame one response at buf[from]: Content-Length, chunked (with trailers) or, when `closed`,
 * until close. Returns null when more bytes are needed. Independent of src/http on purpose.
 */
export function parseResponse(buf: Buffer, from: number, isHead: boolean, closed: boolean): ParsedResponse | null {
  const headEnd = buf.indexOf('\r\n\r\n', from);
  if (headEnd < 0) return null;
  const lines = buf.toString('latin1', from, headEnd).split('\r\n');
  const statusLine = lines[0] ?? '';
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!m) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
  const status = Number(m[1]);
  const headers: Record<string, string> = {};
  const rawHeaders = lines.slice(1);
  for (const line of rawHeaders) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  let pos = headEnd + 4;
  const noBody = isHead || status < 200 || status === 204 || status === 304;
  const te = headers['transfer-encoding'];
  const trailers: Record<string, string> = {};
  if (noBody) return { status, statusLine, headers, rawHeaders, body: Buffer.alloc(0), trailers, chunked: false, end: pos };
  if (te !== undefined && /chunked$/i.test(te)) {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', pos);
      if (lineEnd < 0) return null;
      const size = parseInt(buf.toString('latin1', pos, lineEnd).split(';')[0]!, 16);
      if (Number.isNaN(size)) throw new Error(`bad chunk size line at ${pos}`);
      pos = lineEnd + 2;
      if (size === 0) {
        for (;;) {
          const tEnd = buf.indexOf('\r\n', pos);
          if (tEnd < 0) return null;
          if (tEnd === pos) {
            pos += 2;
            return { status, statusLine, headers, rawHeaders, body: Buffer.concat(parts), trailers, chunked: true, end: pos };
          }
          const line = buf.toString('latin1', pos, tEnd);
          const colon = line.indexOf(':');
          trailers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
          pos = tEnd + 2;
        }
      }
      if (buf.length < pos + size + 2) return null;
      parts.push(buf.subarray(pos, pos + size));
      pos += size + 2;
    }
  }
  const cl = headers['content-length'];
  if (cl !== undefined) {
    const n = Number(cl);
    if (buf.length < pos + n) return null;
    return { status, statusLine, headers, rawHeaders, body: Buffer.from(buf.subarray(pos, pos + n)), trailers, chunked: false, end: pos + n };
  }
  if (!closed) return null;
  return { status, statusLine, headers, rawHeaders, body: Buffer.from(buf.subarray(pos)), trailers, chunked: false, end: buf.length };
}

/** All responses in a raw byte stream (the connection is closed). */
export function parseAll(buf: Buffer, isHead: (index: number) => boolean = () => false): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const r = parseResponse(buf, pos, isHead(out.length), true);
    if (r === null) throw new Error(`incomplete response at ${pos}: ${JSON.stringify(buf.toString('latin1', pos, pos + 300))}`);
    out.push(r);
    pos = r.end;
  }
  return out;
}

/** A Node http/net server listening on 127.0.0.1 port 0; returns "127.0.0.1:PORT". */
export async function listenLocal(server: net.Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as net.AddressInfo;
  return `127.0.0.1:${address.port}`;
}

/** A port with nothing listening on it (connections are refused). */
export async function refusedAddress(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}

/** Count of open file descriptors of a process, from /proc. */
export async function fdCount(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length;
}
