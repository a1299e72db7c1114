/**
 * unbound as a DNS real server for the Layer 4 interop tests: authoritative for one local zone
 * from its own config file in a temp dir, on 127.0.0.1:PORT over UDP and TCP, in the foreground,
 * as the invoking user, never touching /etc/unbound. It does not recurse: every name outside the
 * zone is REFUSED at once (a sandbox has no route to the root servers, and a test must not wait
 * for one).
 */
import { EventEmitter, once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, startProcess, type Exit, type ManagedProcess } from '../test/helpers/processes.ts';
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

function absolute(name: string, zone: string): string {
  if (name.endsWith('.')) return name;
  if (name === '@' || name === '') return zone;
  return `${name}.${zone}`;
}

/** A `local-data:` line; single quotes around data that holds double quotes (TXT strings). */
function localData(rr: string): string {
  return rr.includes('"') ? `  local-data: '${rr}'` : `  local-data: "${rr}"`;
}

export function unboundConfig(options: { host: string; port: number; dir: string; zone: DnsZone }): string {
  const zone = options.zone.name.endsWith('.') ? options.zone.name : `${options.zone.name}.`;
  const records = options.zone.records.map((r) => `${absolute(r.name, zone)} ${r.ttl ?? 60} IN ${r.type.toUpperCase()} ${r.data}`);
  if (!options.zone.records.some((r) => r.type.toUpperCase() === 'SOA')) {
    records.unshift(`${zone} 60 IN SOA ns.${zone} hostmaster.${zone} 1 3600 600 86400 60`);
  }
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
  # iterator only: the validator would want a trust anchor
  module-config: "iterator"
  local-zone: "." refuse
  local-zone: "${zone}" static
${records.map(localData).join('\n')}
remote-control:
  control-enable: no
`;
}

export async function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const bin = peer('unbound');
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort());
  const dir = await mkdtemp(path.join(tmpdir(), 'unbound-'));
  const configFile = path.join(dir, 'unbound.conf');
  const config = unboundConfig({ host, port, dir, zone: options.zone });
  await writeFile(configFile, config);
  let started!: () => void;
  const ready = new Promise<void>((resolve) => {
    started = resolve;
  });
  const logged = new EventEmitter();
  // verbosity 1 logs "start of service" once both sockets are bound; stderr is unbuffered.
  const proc = startProcess(`unbound ${host}:${port}`, bin, ['-d', '-c', configFile], {
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
    throw new Error(`unbound on ${host}:${port} did not start (${outcome})\n${proc.output.stderr}\nunbound.conf:\n${config}`);
  }
  const queryCount = (name?: string): number => {
    // log-queries lines: "[ts] unbound[pid:0] info: 127.0.0.1 www.example.test. A IN"
    const lines = proc.output.stderr.split('\n').filter((l) => / info: \S+ \S+ \S+ IN$/.test(l));
    return name === undefined ? lines.length : lines.filter((l) => l.split(' ').at(-3) === name).length;
  };
  return {
    host,
    port,
    address: `${host}:${port}`,
    configFile,
    proc,
    queryCount,
    waitForQueries: async (count, name, timeoutMs = 5000) => {
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        while (queryCount(name) < count) await once(logged, 'log', { signal });
      } catch {
        throw new Error(`unbound ${host}:${port}: ${queryCount(name)} of ${count} queries${name ? ` for ${name}` : ''} within ${timeoutMs} ms`);
      }
    },
    stop: async () => {
      const exit = await proc.stop('SIGTERM', 5000);
      await rm(dir, { recursive: true, force: true });
      return exit;
    },
  };
}
