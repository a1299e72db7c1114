/**
 * The Fulcrum processes of the DNS end-to-end suite: a gslb-only config built from issue 5's
 * sample zone (surveyor.lab, with the records each test file adds), listening on a port free for
 * both UDP and TCP, started by the shared harness (bin/fulcrum.js start -c FILE).
 *
 * Every site has no check (type none: up), so answers depend on the config alone and the suite
 * needs no health-check servers.
 */
import { once } from 'node:events';
import { createSocket } from 'node:dgram';
import { childPids, freePort, startFulcrum, type Fulcrum } from '../helpers/fulcrum.ts';
import { stringify } from 'yaml';
import { HOST } from './client.ts';

export const ZONE = 'surveyor.lab';
/** The SOA minimum set in the zone, so the negative TTL is ours, not a default. */
export const SOA_MINIMUM_S = 7;
export const ZONE_TTL = 300;

export interface SiteSpec {
  name: string;
  address: string | string[];
  weight?: number;
  location?: { country?: string; continent?: string; lat?: number; lon?: number };
}

export interface FqdnSpec {
  name: string;
  ttl?: number;
  selection?: string;
  whenAllDown?: string;
  sites: SiteSpec[];
}

export interface DnsConfigSpec {
  port: number;
  workers?: number;
  /** Extra records of surveyor.lab, beside the sample's. */
  records?: Array<{ name: string; type: string; value: string; ttl?: number }>;
  /** The FQDNs; the sample's www.surveyor.lab (fixed-weight, primary 192.0.2.10) by default. */
  fqdns?: FqdnSpec[];
  locations?: Array<{ cidr: string; country?: string; continent?: string; lat?: number; lon?: number }>;
  /** More zones after surveyor.lab, as the config writes them. */
  zones?: Array<Record<string, unknown>>;
  /** More top-level keys (virtualServices, admin, ...). */
  extra?: Record<string, unknown>;
}

/** The sample's static records (issue 5), with soa.minimum set and a second, out-of-zone name server. */
export const SAMPLE_RECORDS = [
  { name: 'ns1', type: 'A', value: '192.0.2.53' },
  { name: 'ns1', type: 'AAAA', value: '2001:db8::53' },
  { name: '@', type: 'MX', value: '10 mail.surveyor.lab.' },
  { name: 'mail', type: 'A', value: '192.0.2.25' },
  { name: 'ftp', type: 'CNAME', value: 'www.surveyor.lab.' },
  { name: '@', type: 'TXT', value: 'v=spf1 mx -all' },
];

export const WWW: FqdnSpec = {
  name: 'www.surveyor.lab',
  ttl: 20,
  selection: 'fixed-weight',
  sites: [
    { name: 'primary', address: '192.0.2.10', weight: 1000 },
    { name: 'drc', address: '198.51.100.20', weight: 1 },
  ],
};

export function dnsConfig(spec: DnsConfigSpec): string {
  const fqdns = (spec.fqdns ?? [WWW]).map((fqdn) => ({
    name: fqdn.name,
    ttl: fqdn.ttl ?? 20,
    selection: fqdn.selection ?? 'fixed-weight',
    ...(fqdn.whenAllDown !== undefined ? { whenAllDown: fqdn.whenAllDown } : {}),
    sites: fqdn.sites.map((site) => ({ ...site, check: { type: 'none' } })),
  }));
  return stringify({
    workers: spec.workers ?? 1,
    accessLog: 'off',
    ...spec.extra,
    gslb: {
      listen: [`${HOST}:${spec.port}`],
      zones: [
        {
          name: ZONE,
          nameServers: ['ns1.surveyor.lab', 'ns.example.net'],
          hostmaster: 'hostmaster@surveyor.lab',
          ttl: ZONE_TTL,
          soa: { minimum: `${SOA_MINIMUM_S}s` },
          records: [...SAMPLE_RECORDS, ...(spec.records ?? [])],
        },
        ...(spec.zones ?? []),
      ],
      fqdns,
      locations: spec.locations ?? [],
      geoipDatabase: null,
    },
  });
}

/** A port free on 127.0.0.1 for TCP (freePort) and for UDP too. */
export async function freeDnsPort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const socket = createSocket('udp4');
    try {
      socket.bind(port, HOST);
      await once(socket, 'listening');
      return port;
    } catch (error) {
      if (attempt >= 20) throw error;
    } finally {
      try {
        socket.close();
      } catch {
        // never bound
      }
    }
  }
}

export interface DnsFulcrum {
  fulcrum: Fulcrum;
  port: number;
  stop(): Promise<void>;
}

/** Starts Fulcrum serving `dnsConfig(spec)` (the port is chosen here) and waits for `ready`. */
export async function startDnsFulcrum(spec: Omit<DnsConfigSpec, 'port'> = {}): Promise<DnsFulcrum> {
  const port = await freeDnsPort();
  const fulcrum = await startFulcrum({ config: dnsConfig({ ...spec, port }) });
  return {
    fulcrum,
    port,
    stop: async () => {
      await fulcrum.stop();
    },
  };
}

/** The worker pids the supervisor has now (its children). */
export function currentWorkers(fulcrum: Fulcrum): Promise<number[]> {
  return childPids(fulcrum.pid);
}

/**
 * stderr lines that tell of trouble: errors and worse (a worker's 'uncaught exception in worker',
 * the supervisor's 'worker exited; restarting'), and anything that is not a log line (a stack
 * trace Node printed itself).
 */
export function troubleLines(fulcrum: Fulcrum): string[] {
  return fulcrum.stderrLines.filter((line) => {
    if (line.trim() === '') return false;
    if (!line.startsWith('{')) return true;
    try {
      const parsed = JSON.parse(line) as { level?: number; msg?: string };
      return (parsed.level ?? 0) >= 50 || /uncaught|unhandled|exited/i.test(parsed.msg ?? '');
    } catch {
      return true;
    }
  });
}
