/**
 * For the GSLB end-to-end tests: a real Fulcrum with a `gslb:` section, asked over UDP by a small
 * DNS client (node:dgram and dns-packet, independent of src/dns), with health targets the test
 * starts, stops and makes fail: an HTTP server whose answer can turn 503 and which can stop and
 * listen again on the same port, and a TCP server that accepts and never answers (a check that
 * never completes).
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { decode, encode, type Packet } from 'dns-packet';
import { stringify } from 'yaml';
import { freePort, type Fulcrum, type LogLine } from '../helpers/fulcrum.ts';

export const ZONE = 'example.test';

/** The A (or AAAA) addresses of an answer, in order. */
export interface DnsReply {
  rcode: string;
  /** Authoritative answer bit. */
  aa: boolean;
  addresses: string[];
  /** Types of the authority section's records ("SOA" for NODATA). */
  authority: string[];
  /** The ECS option's scope prefix length in the reply, or null without one. */
  scope: number | null;
  packet: Packet;
}

export interface QueryOptions {
  type?: 'A' | 'AAAA';
  /** EDNS Client Subnet: the client's network, e.g. { ip: '10.1.2.0', source: 24 }. */
  ecs?: { ip: string; source: number };
  timeoutMs?: number;
}

/** One UDP socket; replies are matched to queries by id, so queries may overlap. */
export class DnsClient {
  readonly #socket: dgram.Socket;
  readonly #port: number;
  readonly #pending = new Map<number, (reply: Buffer) => void>();
  #nextId = 1;

  private constructor(socket: dgram.Socket, port: number) {
    this.#socket = socket;
    this.#port = port;
    socket.on('message', (message: Buffer) => {
      if (message.length < 2) return;
      const done = this.#pending.get(message.readUInt16BE(0));
      done?.(message);
    });
  }

  static async open(port: number): Promise<DnsClient> {
    const socket = dgram.createSocket('udp4');
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    return new DnsClient(socket, port);
  }

  async query(name: string, options: QueryOptions = {}): Promise<DnsReply> {
    const id = this.#nextId;
    this.#nextId = this.#nextId === 0xffff ? 1 : this.#nextId + 1;
    const packet: Packet = { type: 'query', id, flags: 0x0100, questions: [{ name, type: options.type ?? 'A', class: 'IN' }] };
    if (options.ecs !== undefined) {
      packet.additionals = [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: 1232,
          flags: 0,
          options: [{ code: 'CLIENT_SUBNET', family: net.isIPv6(options.ecs.ip) ? 2 : 1, sourcePrefixLength: options.ecs.source, scopePrefixLength: 0, ip: options.ecs.ip }],
        } as never,
      ];
    }
    const timeoutMs = options.timeoutMs ?? 2000;
    const raw = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`no DNS reply to ${options.type ?? 'A'} ${name} from 127.0.0.1:${this.#port} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, (reply) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        resolve(reply);
      });
      this.#socket.send(encode(packet), this.#port, '127.0.0.1');
    });
    const reply = decode(raw);
    const opt = (reply.additionals ?? []).find((r) => r.type === 'OPT') as { options?: { code: number | string; scopePrefixLength?: number }[] } | undefined;
    const ecs = opt?.options?.find((o) => o.code === 'CLIENT_SUBNET' || o.code === 8);
    return {
      rcode: (reply as { rcode?: string }).rcode ?? '?',
      aa: ((reply.flags ?? 0) & 0x0400) !== 0,
      addresses: (reply.answers ?? []).flatMap((r) => (r.type === 'A' || r.type === 'AAAA' ? [r.data] : [])),
      authority: (reply.authorities ?? []).map((r) => r.type),
      scope: ecs?.scopePrefixLength ?? null,
      packet: reply,
    };
  }

  /** The addresses of a NOERROR answer, joined with "," ("" for NODATA); anything else throws. */
  async answer(name: string, options: QueryOptions = {}): Promise<string> {
    const reply = await this.query(name, options);
    assert.equal(reply.rcode, 'NOERROR', `${options.type ?? 'A'} ${name}: rcode ${reply.rcode}`);
    return reply.addresses.join(',');
  }

  /** How many of `n` answers were each address list (joined with ","), asked one after another. */
  async tally(name: string, n: number, options: QueryOptions = {}): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const key = await this.answer(name, options);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  }

  close(): void {
    this.#socket.close();
  }
}

export interface FqdnSpec {
  name: string;
  selection?: string;
  ttl?: number;
  siteFailure?: { delay?: string; recovery?: 'automatic' | 'manual' };
  whenAllDown?: string;
  sites: object[];
}

/** A config: one worker, no access log, zone example.test, these FQDNs and client locations. */
export function gslbYaml(dnsPort: number, fqdns: FqdnSpec[], extra: { locations?: object[]; top?: Record<string, unknown> } = {}): string {
  return stringify({
    workers: 1,
    accessLog: 'off',
    ...extra.top,
    gslb: {
      listen: [`127.0.0.1:${dnsPort}`],
      zones: [{ name: ZONE, nameServers: ['ns1.example.net'], hostmaster: `hostmaster@${ZONE}` }],
      fqdns,
      ...(extra.locations !== undefined ? { locations: extra.locations } : {}),
    },
  });
}

/**
 * readyTimeoutMs for these tests' Fulcrum processes: a start is seconds of module loading, and a
 * file may start three at once on a two-core machine, beside other test files.
 */
export const START_TIMEOUT_MS = 30_000;

/** Each suite's limit: a hang (a bug, a lost reply) fails the file instead of stalling the run. */
export const SUITE_TIMEOUT_MS = 90_000;

/** A port that is free for TCP now (and so, in practice, for UDP): the DNS server's. */
export { freePort };

/**
 * An HTTP health target on a fixed port: answers `status` (200 until changed) to every request,
 * notes when each request arrived (performance.now() of this process), and can stop listening and
 * listen again on the same port.
 */
export class HealthTarget extends EventEmitter<{ answered: [number] }> {
  status = 200;
  port = 0;
  /** Arrival times and the status answered, in order. */
  readonly requests: { at: number; status: number }[] = [];
  #server: http.Server | null = null;

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      this.requests.push({ at: performance.now(), status: this.status });
      req.resume();
      const status = this.status;
      res.on('finish', () => this.emit('answered', status));
      res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' }).end(status === 200 ? 'ok\n' : 'unavailable\n');
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  /** Resolves when the next check request has been answered (its response written), with the status. */
  async nextAnswered(timeoutMs = 5000): Promise<number> {
    const [status] = (await once(this, 'answered', { signal: AbortSignal.timeout(timeoutMs) })) as [number];
    return status;
  }

  /** Stop listening and drop every connection: checks get connection refused from now on. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (server === null || !server.listening) return;
    const closed = once(server, 'close');
    server.close();
    server.closeAllConnections();
    await closed;
  }
}

/** A TCP server that accepts and never writes: an HTTP check to it never completes (until its timeout). */
export async function startSilentServer(): Promise<{ address: string; accepted: () => number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    accepted: () => accepted,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      const closed = once(server, 'close');
      server.close();
      await closed;
    },
  };
}

/** A loopback port nothing listens on (a check to it is refused at once). */
export async function closedPort(): Promise<number> {
  return freePort();
}

export interface Switch {
  /** performance.now() of the first query that got `to`. */
  at: number;
  /** Answers seen before it, in order of first appearance. */
  before: string[];
  queries: number;
}

/**
 * Ask `name` every `everyMs` (20 ms: the poll's own share of a measured switch time) until the
 * answer is `to`; fails after `withinMs`. Records the distinct answers seen before.
 */
export async function pollUntil(dns: DnsClient, name: string, to: string, withinMs: number, everyMs = 20): Promise<Switch> {
  const start = performance.now();
  const before: string[] = [];
  let queries = 0;
  for (;;) {
    const asked = performance.now();
    const answer = await dns.answer(name);
    queries++;
    if (answer === to) return { at: asked, before, queries };
    if (!before.includes(answer)) before.push(answer);
    assert.ok(performance.now() - start < withinMs, `${name} still answers ${answer} (not ${to}) after ${Math.round(performance.now() - start)} ms`);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, everyMs - (performance.now() - asked))));
  }
}

/** Ask `name` every `everyMs` for `forMs`; every answer must be `expected`. Returns the number of queries. */
export async function holdsFor(dns: DnsClient, name: string, expected: string, forMs: number, everyMs = 20): Promise<number> {
  const end = performance.now() + forMs;
  let queries = 0;
  while (performance.now() < end) {
    const answer = await dns.answer(name);
    queries++;
    assert.equal(answer, expected, `${name} answered ${answer} after ${queries} queries; expected ${expected} throughout ${forMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return queries;
}

/** The site-state log line (fields fqdn, site, event) of this kind, waiting for it when needed. */
export function siteLog(fulcrum: Fulcrum, fqdn: string, site: string, event: string, opts: { from?: number; timeoutMs?: number } = {}): Promise<LogLine> {
  return fulcrum.waitForLog((l) => l['fqdn'] === fqdn && l['site'] === site && l['event'] === event, opts);
}

/** The `GSLB <fqdn>: <reason>` line that follows a change, with its `answers`. */
export function changeLog(fulcrum: Fulcrum, fqdn: string, opts: { from?: number; timeoutMs?: number; includes?: string } = {}): Promise<LogLine> {
  return fulcrum.waitForLog(
    (l) => l['fqdn'] === fqdn && typeof l.msg === 'string' && l.msg.startsWith(`GSLB ${fqdn}: `) && (opts.includes === undefined || l.msg.includes(opts.includes)),
    opts,
  );
}

/** Shares of a tally, for messages: "192.0.2.1: 150, 192.0.2.2: 50". */
export function describeTally(counts: Map<string, number>): string {
  return [...counts].map(([answer, n]) => `${answer === '' ? '(empty)' : answer}: ${n}`).join(', ');
}
