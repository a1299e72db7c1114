/**
 * Harness for the FTP listener tests: an FtpListener built straight from YAML in this process
 * (ticked every 50 ms, its limits configured as the worker runtime does, its access log kept in
 * memory), a raw-socket FTP client that frames replies itself (multi-line included), and
 * data-connection helpers.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import net, { type Socket } from 'node:net';
import { loadConfigText } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { FtpListener } from '../../src/ftp/ftp-listener.ts';
import { configLimitSpecs } from '../../src/limits/index.ts';
import type { ConnectionRecord } from '../../src/log/access-log.ts';
import { EngineContext } from '../../src/worker/engine-context.ts';
import { serviceOf } from '../helpers/service.ts';
import type { WorkerIdentity } from '../../src/worker/service-listener.ts';
import { freePort } from '../helpers/processes.ts';

export interface LoggedEvent {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

export interface FtpProxy {
  listener: FtpListener;
  port: number;
  events: LoggedEvent[];
  /** The access log's lines, in order: one per control session, refused ones included. */
  access: ConnectionRecord[];
  /** Apply another body on the same address, as a reload does (the service is rebuilt on the running one). */
  reload(body: string): void;
  close(): Promise<void>;
}

/** The virtual service's config: `body` is its YAML after the name, listen and protocol lines, indented by 4. */
function serviceConfig(port: number, body: string): Config {
  const text = `accessLog: off\nvirtualServices:\n  - name: ftp\n    listen: 127.0.0.1:${port}\n    protocol: ftp\n${body}`;
  const result = loadConfigText(text, 'ftp.yaml');
  if (!result.ok) throw new Error(`config rejected: ${JSON.stringify(result.problems, null, 1)}\n${text}`);
  return result.config;
}

export async function startFtpProxy(body: string, worker: WorkerIdentity = { index: 0, count: 1 }): Promise<FtpProxy> {
  const port = await freePort();
  const events: LoggedEvent[] = [];
  const sink = (level: string, message: string, fields: Record<string, unknown>): void => {
    events.push({ level, message, fields });
  };
  const access: ConnectionRecord[] = [];
  const ctx = new EngineContext();
  ctx.accessLog = { log: () => {}, logConnection: (r) => void access.push(r), close: async () => {} };
  const config = serviceConfig(port, body);
  ctx.limits.configure(configLimitSpecs(config));
  const listener = new FtpListener(serviceOf(config, null, sink, undefined, ctx), { ctx, events: sink, worker });
  await listener.listen();
  const timer = setInterval(() => {
    const now = Date.now();
    listener.service.pool.tick(now);
    listener.tick(now);
  }, 50);
  return {
    listener,
    port,
    events,
    access,
    reload(next: string) {
      const config = serviceConfig(port, next);
      ctx.limits.configure(configLimitSpecs(config));
      listener.update(serviceOf(config, listener.service, sink, undefined, ctx));
    },
    async close() {
      clearInterval(timer);
      listener.destroyAll();
      await listener.close();
    },
  };
}

export interface Reply {
  code: number;
  /** Every line of the reply, without line ends. */
  lines: string[];
  /** The lines joined with \n. */
  text: string;
}

/** A raw FTP client: replies are framed here, independently of the code under test. */
export class FtpClient {
  readonly socket: Socket;
  #buffer = '';
  #current: string[] = [];
  readonly #replies: Reply[] = [];
  readonly #waiters: Array<(r: Reply) => void> = [];
  #closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => this.#onData(text));
    socket.on('close', () => {
      this.#closed = true;
      for (const w of this.#waiters.splice(0)) w({ code: 0, lines: [], text: '<closed>' });
    });
    socket.on('error', () => {});
  }

  static async connect(port: number, options: { host?: string; localAddress?: string } = {}): Promise<FtpClient> {
    const socket = net.connect({ host: options.host ?? '127.0.0.1', port, localAddress: options.localAddress });
    await once(socket, 'connect');
    return new FtpClient(socket);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The next reply (already received, or the next to arrive); code 0 when the connection closed first. */
  reply(): Promise<Reply> {
    const ready = this.#replies.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.#closed) return Promise.resolve({ code: 0, lines: [], text: '<closed>' });
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Send one command and wait for its (first) reply. */
  async send(line: string): Promise<Reply> {
    this.socket.write(`${line}\r\n`, 'latin1');
    return this.reply();
  }

  async expect(line: string, code: number): Promise<Reply> {
    const r = await this.send(line);
    if (r.code !== code) throw new Error(`${line}: expected ${code}, got ${r.text}`);
    return r;
  }

  async login(): Promise<void> {
    const greeting = await this.reply();
    if (greeting.code !== 220) throw new Error(`greeting: ${greeting.text}`);
    await this.expect('USER anonymous', 331);
    await this.expect('PASS test@', 230);
    await this.expect('TYPE I', 200);
  }

  /** PASV: the address and port the 227 names. */
  async pasv(): Promise<{ host: string; port: number; reply: Reply }> {
    const r = await this.expect('PASV', 227);
    const m = /(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/.exec(r.text);
    if (m === null) throw new Error(`no address in ${r.text}`);
    return { host: m.slice(1, 5).join('.'), port: Number(m[5]) * 256 + Number(m[6]), reply: r };
  }

  async epsv(): Promise<number> {
    const r = await this.expect('EPSV', 229);
    const m = /\(\|\|\|(\d+)\|\)/.exec(r.text);
    if (m === null) throw new Error(`no port in ${r.text}`);
    return Number(m[1]);
  }

  async quit(): Promise<void> {
    if (!this.#closed) await this.send('QUIT');
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  #onData(text: string): void {
    this.#buffer += text;
    let lf: number;
    while ((lf = this.#buffer.indexOf('\n')) !== -1) {
      const line = this.#buffer.slice(0, lf).replace(/\r$/, '');
      this.#buffer = this.#buffer.slice(lf + 1);
      this.#current.push(line);
      const first = this.#current[0]!;
      const code = first.slice(0, 3);
      const multi = first[3] === '-';
      if (multi && !(this.#current.length > 1 && line.startsWith(`${code} `))) continue;
      const reply: Reply = { code: Number(code), lines: this.#current, text: this.#current.join('\n') };
      this.#current = [];
      const waiter = this.#waiters.shift();
      if (waiter !== undefined) waiter(reply);
      else this.#replies.push(reply);
    }
  }
}

/** Open a data connection (passive mode) and collect everything the other side sends until it closes. */
export async function download(host: string, port: number, localAddress?: string): Promise<Buffer> {
  const socket = net.connect({ host, port, localAddress });
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await once(socket, 'end');
  socket.destroy();
  return Buffer.concat(chunks);
}

/** Open a data connection and send `data`, then close. */
export async function upload(host: string, port: number, data: Buffer): Promise<void> {
  const socket = net.connect({ host, port });
  await once(socket, 'connect');
  socket.end(data);
  await once(socket, 'close');
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Deterministic pseudo-random bytes (xorshift), so a failing test can be replayed. */
export function testBytes(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, Math.min(i, size - 4));
  }
  return out;
}

/**
 * The first port of a block of 10 for a passive range: above the kernel's ephemeral ports
 * (32768-60999 on Linux), so that no outgoing connection of this machine holds one by chance,
 * and random, so that a test run left behind by another does not collide with this one.
 */
export function passiveRangeBase(): number {
  return 61_000 + Math.floor(Math.random() * 450) * 10;
}

/** Resolve when `check` holds (polled every 10 ms), or throw after `ms`. For state with no event to await. */
export async function until(check: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
