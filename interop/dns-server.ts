/**
 * unbound as a DNS real server for the Layer 4 interop tests: authoritative for one local zone
 * from its own config file in a temp dir, on 127.0.0.1:PORT over UDP and TCP, in the foreground,
 * as the invoking user, never touching /etc/unbound. It does not recurse: every name outside the
 * zone is REFUSED at once (a sandbox has no route to the root servers, and a test must not wait
 * for one).
 */
import dgram from 'node:dgram';
import { EventEmitter, once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startProcess, type Exit, type ManagedProcess } from '../test/helpers/processes.ts';
import { peer } from './peers.ts';

export interface DnsRecord {
  /** Relative to the zone ("www"), "@" for the apex, or absolute with a final dot ("www.example.test."). */
  name: string;
  /** "A", "AAAA", "TXT", "SRV", ... */
  type: string;
  /** The record's data in zone-file syntax: "192.0.2.10", "\"hello world\"", "10 5 5060 sip.example.test." */
  data: string;
  /** Default 60. */
  ttl?: number;
}

export interface DnsZone {
  /** "example.test" (a final dot is optional). */
  name: string;
  /** Without an SOA record, one is added so that NXDOMAIN answers carry it. */
  records: DnsRecord[];
}

export interface DnsServerOptions {
  /** UDP and TCP port (default: a free TCP port, taken for UDP too). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  zone: DnsZone;
}

export interface DnsServer {
  host: string;
  port: number;
  /** "HOST:PORT" */
  address: string;
  configFile: string;
  proc: ManagedProcess;
  /** Queries received so far for `name` (absolute, e.g. "www.example.test."), or all of them; from unbound's query log. */
  queryCount(name?: string): number;
  /**
   * Resolves once `queryCount(name)` reaches `count`. unbound logs a query before it answers, but
   * the log reaches this process through a pipe, possibly after the client's answer: await this
   * rather than reading `queryCount` right after a query.
   */
  waitForQueries(count: number, name?: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<Exit>;
}

/**
 * A port free on 127.0.0.1 for both UDP and TCP a moment ago, for a DNS server that needs both.
 * freePort() checks TCP only, and UDP ports are busier: every resolver and client query takes a
 * random one for its answers.
 */
export async function freeDnsPort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = dgram.createSocket('udp4');
    udp.bind(0, host);
    await once(udp, 'listening');
    const port = udp.address().port;
    const tcp = net.createServer();
    const free = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen({ host, port, exclusive: true }, () => resolve(true));
    });
    if (free) await new Promise<void>((resolve) => tcp.close(() => resolve()));
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (free) return port;
  }
  throw new Error(`no port free for both UDP and TCP on ${host} in 20 tries`);
}

function absolute(name: string, zone: string): string {
  if (name.endsWith('.')) return name;
  if (name === '@' || name === '') return zone;
  return `${name}.${zone}`;
}

/** A `local-data:` line; single quotes around data that holds double quotes (TXT strings). */
function localData(rr: string): string {
  return rr.includes('"') ? `  local-data: '${rr}'` : `  local-data: "${rr}"`;
}

/**
 * The `server:` lines every unbound of the suite shares: one address and port over UDP and TCP,
 * in the foreground, as the invoking user, no chroot, nothing under /etc/unbound or /run, every
 * query logged to stderr (the harnesses count them there).
 */
export function unboundServerLines(options: { host: string; port: number; dir: string }): string {
  return `server:
  interface: ${options.host}@${options.port}
  port: ${options.port}
  do-ip4: yes
  do-ip6: no
  do-udp: yes
  do-tcp: yes
  num-threads: 1
  so-reuseport: no
  # foreground, no privilege drop, no chroot, nothing under /etc/unbound or /run
  do-daemonize: no
  use-systemd: no
  username: ""
  chroot: ""
  directory: "${options.dir}"
  pidfile: "${path.join(options.dir, 'unbound.pid')}"
  use-syslog: no
  logfile: ""
  verbosity: 1
  log-queries: yes
  access-control: 127.0.0.0/8 allow
`;
}

export function unboundConfig(options: { host: string; port: number; dir: string; zone: DnsZone }): string {
  const zone = options.zone.name.endsWith('.') ? options.zone.name : `${options.zone.name}.`;
  const records = options.zone.records.map((r) => `${absolute(r.name, zone)} ${r.ttl ?? 60} IN ${r.type.toUpperCase()} ${r.data}`);
  if (!options.zone.records.some((r) => r.type.toUpperCase() === 'SOA')) {
    records.unshift(`${zone} 60 IN SOA ns.${zone} hostmaster.${zone} 1 3600 600 86400 60`);
  }
  return `${unboundServerLines(options)}  # iterator only: the validator would want a trust anchor
  module-config: "iterator"
  local-zone: "." refuse
  local-zone: "${zone}" static
${records.map(localData).join('\n')}
remote-control:
  control-enable: no
`;
}

/** An unbound process started from a config file in its own temp dir (see launchUnbound). */
export interface UnboundProcess {
  proc: ManagedProcess;
  configFile: string;
  /** Emits 'log' for every chunk unbound writes to stderr (its log). */
  logged: EventEmitter;
  /** Stops unbound (SIGTERM, SIGKILL after 5 s) and removes its temp dir. */
  stop(): Promise<Exit>;
}

/**
 * Writes `config` to DIR/unbound.conf, runs `unbound -d -c` on it and resolves once unbound logs
 * "start of service" (verbosity 1 logs it once both sockets are bound; stderr is unbuffered).
 * On failure unbound is killed, `dir` removed, and the error carries unbound's log and config.
 */
export async function launchUnbound(name: string, dir: string, config: string): Promise<UnboundProcess> {
  const bin = peer('unbound');
  const configFile = path.join(dir, 'unbound.conf');
  await writeFile(configFile, config);
  let started!: () => void;
  const ready = new Promise<void>((resolve) => {
    started = resolve;
  });
  const logged = new EventEmitter();
  const proc = startProcess(name, bin, ['-d', '-c', configFile], {
    onStderr: () => {
      if (proc.output.stderr.includes('start of service')) started();
      logged.emit('log');
    },
  });
  const outcome = await Promise.race([
    ready.then(() => 'ready' as const),
    proc.exited.then(() => 'exited' as const),
    new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref()),
  ]);
  if (outcome !== 'ready') {
    await proc.stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${name} did not start (${outcome})\n${proc.output.stderr}\nunbound.conf:\n${config}`);
  }
  return {
    proc,
    configFile,
    logged,
    stop: async () => {
      const exit = await proc.stop('SIGTERM', 5000);
      await rm(dir, { recursive: true, force: true });
      return exit;
    },
  };
}

/** Resolves once `count()` reaches `want`, re-reading it at every log chunk; the error says `what`. */
export async function awaitLogCount(logged: EventEmitter, count: () => number, want: number, what: string, timeoutMs: number): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    while (count() < want) await once(logged, 'log', { signal });
  } catch {
    throw new Error(`${what}: ${count()} of ${want} within ${timeoutMs} ms`);
  }
}

export async function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freeDnsPort(host));
  const dir = await mkdtemp(path.join(tmpdir(), 'unbound-'));
  const unbound = await launchUnbound(`unbound ${host}:${port}`, dir, unboundConfig({ host, port, dir, zone: options.zone }));
  const { proc } = unbound;
  const queryCount = (name?: string): number => {
    // log-queries lines: "[ts] unbound[pid:0] info: 127.0.0.1 www.example.test. A IN"
    const lines = proc.output.stderr.split('\n').filter((l) => / info: \S+ \S+ \S+ IN$/.test(l));
    return name === undefined ? lines.length : lines.filter((l) => l.split(' ').at(-3) === name).length;
  };
  return {
    host,
    port,
    address: `${host}:${port}`,
    configFile: unbound.configFile,
    proc,
    queryCount,
    waitForQueries: (count, name, timeoutMs = 5000) =>
      awaitLogCount(unbound.logged, () => queryCount(name), count, `unbound ${host}:${port}: queries${name ? ` for ${name}` : ''}`, timeoutMs),
    stop: unbound.stop,
  };
}
