/**
 * The DNS rows' columns: gdnsd (the reference authoritative server with health-aware weighted
 * answers) and Fulcrum's GSLB, serving the same zone `bench.lab`:
 *
 * - `www.bench.lab`: a health-checked weighted name, two sites (192.0.2.10 weight 3,
 *   198.51.100.20 weight 1), one address per answer, each site checked by a TCP connect to the
 *   listener the bench keeps open on 127.0.0.1 (both sites up);
 * - `static.bench.lab`: a static A record.
 *
 * Each server runs in the foreground with its config in the bench's temp dir, on a free loopback
 * port, never as a system service.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { startFulcrum } from '../test/helpers/fulcrum.ts';
import { freePort, run, startProcess } from '../test/helpers/processes.ts';
import { peer } from '../interop/peers.ts';
import { cpuOpt, cpuProfileEnv } from './proxies.ts';

export const BENCH_ZONE = 'bench.lab';
export const GSLB_NAME = 'www.bench.lab';
export const GSLB_SITES = [
  { name: 'site1', address: '192.0.2.10', weight: 3 },
  { name: 'site2', address: '198.51.100.20', weight: 1 },
] as const;
export const STATIC_NAME = 'static.bench.lab';
export const STATIC_ADDRESS = '192.0.2.30';
const TTL = 20;
/** Seconds between two checks of a site, in both servers: 2 TCP connects per 5 s, nothing beside the load. */
const CHECK_INTERVAL_S = 5;

export interface DnsServerContext {
  /** Both sites' checks connect to 127.0.0.1:checkPort, which the bench keeps open. */
  checkPort: number;
  /** CPUs for a one-core server (taskset -c), undefined to leave it unpinned. */
  cpus: string | undefined;
  /** CPUs for the two-worker row (both cores), undefined to leave it unpinned. */
  twoCpus: string | undefined;
  dir: string;
  /** Fulcrum's processes write V8 CPU profiles here when they stop; undefined: none. */
  cpuProfileDir?: string | undefined;
}

export interface RunningDnsServer {
  host: string;
  port: number;
  /** For the notes column: the cores the server runs on. */
  cores: string;
  /** The server's processes, whose CPU time the row reports (gdnsd; Fulcrum's supervisor and workers). */
  pids: number[];
  /**
   * What the server itself says about the sites, when it can say it (gdnsd: `gdnsdctl states`):
   * undefined when both are up, else what is wrong. Fulcrum's rows prove it through the answers
   * instead (see fulcrumConfig).
   */
  sitesProblem?: () => Promise<string | undefined>;
  stop(): Promise<void>;
}

export interface DnsServerDef {
  name: string;
  description: string;
  start(context: DnsServerContext): Promise<RunningDnsServer>;
}

/**
 * gdnsd 3's config. Choices against its defaults:
 * - udp_threads and tcp_threads 1: one core, one UDP socket (the default is 2 of each).
 * - run_dir and state_dir under the temp dir: no /run/gdnsd, no /var/lib/gdnsd.
 * - The check: plugin_weighted monitors each address it hands out, and tcp_connect connects to
 *   that address at the service type's port; there is no separate check target. 192.0.2.10 and
 *   198.51.100.20 are documentation addresses that nothing on this machine answers (on this
 *   sandbox one times out and the other is accepted by the egress path), so a tcp_connect service
 *   type would show one site down and one up for reasons that have nothing to do with the bench.
 *   extmon runs a TCP connect to 127.0.0.1:PORT instead (bash's /dev/tcp, %%ITEM%% unused): the
 *   same check as Fulcrum's, at the same interval, and both sites are up as `gdnsdctl states`
 *   confirms before the run.
 * - multi false (the default): one address per answer, by weight, as Fulcrum's weighted-round-robin.
 */
export function gdnsdConfig(options: { port: number; dir: string; checkPort: number }): string {
  const sites = GSLB_SITES.map((s) => `      ${s.name} => [ ${s.address}, ${s.weight} ]`).join('\n');
  return `options => {
  listen => [ 127.0.0.1 ]
  dns_port => ${options.port}
  udp_threads => 1
  tcp_threads => 1
  run_dir => "${path.join(options.dir, 'run')}"
  state_dir => "${path.join(options.dir, 'state')}"
}
service_types => {
  bench_tcp => {
    plugin => extmon
    cmd => [ /bin/bash, -c, "exec 3<>/dev/tcp/127.0.0.1/${options.checkPort}" ]
    interval => ${CHECK_INTERVAL_S}
    timeout => 2
  }
}
plugins => {
  weighted => {
    www => {
      service_types => bench_tcp
${sites}
    }
  }
}
`;
}

export function gdnsdZone(): string {
  return `$TTL ${TTL}
@       SOA ns1 hostmaster 1 3600 600 86400 ${TTL}
@       NS ns1
ns1     A 192.0.2.53
www     DYNA weighted!www
static  A ${STATIC_ADDRESS}
`;
}

const gdnsd: DnsServerDef = {
  name: 'gdnsd',
  description: 'gdnsd 3, one UDP thread, plugin_weighted with an extmon TCP check',
  async start({ checkPort, cpus, dir }) {
    const bin = peer('gdnsd');
    const port = await freePort();
    const configDir = path.join(dir, 'gdnsd');
    await mkdir(path.join(configDir, 'zones'), { recursive: true });
    await writeFile(path.join(configDir, 'config'), gdnsdConfig({ port, dir: configDir, checkPort }));
    await writeFile(path.join(configDir, 'zones', BENCH_ZONE), gdnsdZone());
    // `start` is gdnsd 3's foreground mode, logging to stderr; it runs the first round of checks
    // before it opens the listeners and logs "DNS listeners started".
    const proc = startProcess('gdnsd', bin, ['-c', configDir, 'start'], cpuOpt(cpus));
    const deadline = Date.now() + 15_000;
    while (!proc.output.stderr.includes('DNS listeners started')) {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null || Date.now() > deadline) {
        await proc.stop('SIGKILL');
        throw new Error(`gdnsd did not start\n${proc.output.stderr}`);
      }
      // gdnsd says nothing more until it is ready: poll its log at a short, bounded interval.
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return {
      host: '127.0.0.1',
      port,
      cores: cpus === undefined ? 'unpinned' : `core ${cpus}`,
      pids: [proc.pid],
      sitesProblem: async () => {
        const { stdout } = await run(peer('gdnsdctl'), ['-c', configDir, 'states'], { timeoutMs: 10_000 });
        const states = JSON.parse(stdout) as Record<string, { state?: string }>;
        const down = GSLB_SITES.filter((s) => states[`${s.address}/bench_tcp`]?.state !== 'UP');
        return down.length === 0 ? undefined : `gdnsdctl states: ${down.map((s) => s.address).join(', ')} not UP: ${stdout.replace(/\s+/g, ' ')}`;
      },
      stop: async () => {
        await proc.stop('SIGTERM');
      },
    };
  },
};

/**
 * Fulcrum's config: the same zone, weighted-round-robin over the two sites. Two choices beyond
 * the defaults make the check before the run a proof that both sites' checks passed:
 * startAs: down (a site answers only after a passed check) and whenAllDown: none (no address
 * when both are down). Neither touches the measured path once both sites are up.
 */
export function fulcrumConfig(options: { port: number; workers: number; checkPort: number }): string {
  const check = { type: 'tcp', target: `127.0.0.1:${options.checkPort}`, interval: `${CHECK_INTERVAL_S}s`, startAs: 'down' };
  return stringify({
    workers: options.workers,
    accessLog: 'off',
    gslb: {
      listen: [`127.0.0.1:${options.port}`],
      zones: [
        {
          name: BENCH_ZONE,
          nameServers: [`ns1.${BENCH_ZONE}`],
          hostmaster: `hostmaster@${BENCH_ZONE}`,
          ttl: TTL,
          records: [
            { name: 'ns1', type: 'A', value: '192.0.2.53' },
            { name: 'static', type: 'A', value: STATIC_ADDRESS },
          ],
        },
      ],
      fqdns: [
        {
          name: GSLB_NAME,
          ttl: TTL,
          selection: 'weighted-round-robin',
          whenAllDown: 'none',
          sites: GSLB_SITES.map((s) => ({ name: s.name, address: s.address, weight: s.weight, check })),
        },
      ],
    },
  });
}

function fulcrumDns(name: string, workers: number): DnsServerDef {
  return {
    name,
    description: `Fulcrum GSLB, workers: ${workers}, access log off`,
    async start({ checkPort, cpus, twoCpus, dir, cpuProfileDir }) {
      const port = await freePort();
      const config = fulcrumConfig({ port, workers, checkPort });
      await writeFile(path.join(dir, `${name}.yaml`), config); // beside the others, for a look after a failed run
      const pinTo = workers === 1 ? cpus : twoCpus;
      const fulcrum = await startFulcrum({ ...cpuOpt(pinTo), readyTimeoutMs: 20_000, ...cpuProfileEnv(cpuProfileDir), config });
      return {
        host: '127.0.0.1',
        port,
        pids: [fulcrum.pid, ...fulcrum.workers],
        cores: pinTo === undefined ? 'unpinned' : pinTo.includes('-') || pinTo.includes(',') ? `cores ${pinTo}, shared with dnsperf` : `core ${pinTo}`,
        stop: async () => {
          await fulcrum.stop();
        },
      };
    },
  };
}

/** "gdnsd 3.8.1", from the usage text (gdnsd has no version flag; -h is an invalid option that prints it). */
export async function gdnsdVersion(): Promise<string> {
  try {
    const { stdout, stderr } = await run(peer('gdnsd'), ['-h'], { allowFailure: true, timeoutMs: 5000 });
    return /gdnsd version (\S+)/.exec(`${stdout}${stderr}`)?.[0] ?? 'gdnsd';
  } catch {
    return 'gdnsd (missing)';
  }
}

export const DNS_SERVERS: readonly DnsServerDef[] = [gdnsd, fulcrumDns('fulcrum', 1), fulcrumDns('fulcrum-2workers', 2)];
