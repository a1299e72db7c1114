/**
 * GET /api/v1/status: the running config, the health monitor's verdicts and the workers'
 * counters in one document. The config gives the list and order (what the admin wrote); the
 * health monitor says up or down and why; the workers say what traffic is doing.
 */
import { formatAddress } from '../config/address.ts';
import { realServerState } from '../config/conflicts.ts';
import type { Config, RealServerConfig } from '../config/schema.ts';
import type { HealthStatus, ServerHealthStatus } from '../health/index.ts';
import type { AgentStatus } from '../agent/index.ts';
import type { WorkerRealServerStats, WorkerStats } from '../worker/messages.ts';
import type { GslbConfig } from '../config/gslb.ts';
import { addDnsCounters, emptyDnsCounters } from '../dns/answerer.ts';
import type { FqdnCheckStatus, SiteCheckStatus } from '../gslb/check-driver.ts';
import type { ApiSiteStatus, GslbFqdnStatus, GslbStatus, RealServerStatus, StatusDocument, VirtualServiceStatus } from './types.ts';

export interface StatusInput {
  config: Config;
  health: HealthStatus;
  /** Adaptive scheduling's agents (AgentMonitor.status()); servers without one have no `agent`. */
  agents?: AgentStatus;
  stats: readonly WorkerStats[];
  workers: readonly number[];
  workersNotAnswering: readonly number[];
  generation: number;
  /** GSLB, when the config has a gslb section: the SOA serial and the check driver's status(). */
  gslb?: { serial: number; fqdns: readonly FqdnCheckStatus[] };
  /** When the document is made (for servers the health monitor does not know yet). */
  now?: number;
}

export function buildStatus(input: StatusInput): StatusDocument {
  const virtualServices = input.config.virtualServices.map((vs): VirtualServiceStatus => {
    const perWorker = input.stats.map((s) => s.virtualServices.find((v) => v.name === vs.name)).filter((v) => v !== undefined);
    // By id per worker: a pool of a thousand servers must not cost a million comparisons.
    const serversPerWorker = perWorker.map((w) => new Map(w.realServers.map((r) => [r.id, r])));
    const entry: VirtualServiceStatus = {
      name: vs.name,
      listen: formatAddress(vs.listen),
      protocol: vs.protocol,
      scheduler: vs.scheduler,
      clientConnections: sum(perWorker.map((w) => w.clientConnections)),
      realServers: vs.realServers.map((rs) => {
        const address = formatAddress(rs.address);
        const counters = serversPerWorker.map((w) => w.get(address)).filter((r) => r !== undefined);
        const health = input.health[vs.name]?.[address] ?? notCheckedYet(rs, input.now ?? Date.now());
        const status = realServerStatus(address, rs, health, counters);
        const agent = input.agents?.[vs.name]?.[address];
        return agent === undefined ? status : { ...status, agent };
      }),
    };
    const tables = perWorker.map((w) => w.persistenceEntries).filter((n) => n !== null);
    if (tables.length > 0) entry.persistenceEntries = sum(tables);
    return entry;
  });
  const doc: StatusDocument = {
    virtualServices,
    workers: [...input.workers],
    workersNotAnswering: [...input.workersNotAnswering],
    generation: input.generation,
  };
  if (input.config.gslb !== undefined && input.gslb !== undefined) doc.gslb = gslbStatus(input.config.gslb, input.gslb, input.stats);
  return doc;
}

function gslbStatus(config: GslbConfig, live: NonNullable<StatusInput['gslb']>, stats: readonly WorkerStats[]): GslbStatus {
  const dns = emptyDnsCounters();
  for (const s of stats) if (s.dns !== null) addDnsCounters(dns, s.dns);
  const configured = new Map(config.fqdns.map((fqdn) => [fqdn.name, new Map(fqdn.sites.map((site) => [site.name, site]))]));
  const fqdns = live.fqdns.map((fqdn): GslbFqdnStatus => {
    const sites = configured.get(fqdn.name);
    return {
      ...fqdn,
      sites: fqdn.sites.map((site) => {
        const own = sites?.get(site.name);
        return { ...apiSiteStatus(site), addresses: own === undefined ? [] : [...own.addresses], weight: own?.weight ?? 0 };
      }),
    };
  });
  return { listen: config.listen.map((a) => formatAddress(a)), serial: live.serial, fqdns, dns };
}

/** The check driver's site status with its times (Date.now milliseconds there) in ISO 8601. */
export function apiSiteStatus(site: SiteCheckStatus): ApiSiteStatus {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  return { ...site, since: iso(site.since), downAt: iso(site.downAt) };
}

/** A real server found in the status of `doc`; the CLI and the PUT answer use it. */
export function findRealServer(doc: StatusDocument, virtualService: string, address: string): RealServerStatus | undefined {
  return doc.virtualServices.find((v) => v.name === virtualService)?.realServers.find((r) => r.address === address);
}

function realServerStatus(address: string, rs: RealServerConfig, health: ServerHealthStatus, counters: readonly WorkerRealServerStats[]): RealServerStatus {
  const state = realServerState(rs);
  // No worker answered: the config and health alone say what new clients would see.
  const fallbackWeight = state === 'enabled' && health.up ? rs.weight : 0;
  return {
    address,
    state,
    weight: rs.weight,
    effectiveWeight: counters.length === 0 ? fallbackWeight : Math.min(...counters.map((c) => c.effectiveWeight)),
    health,
    ejected: counters.some((c) => c.ejected),
    activeRequests: sum(counters.map((c) => c.inflight)),
    idleConnections: sum(counters.map((c) => c.idle)),
    requests: sum(counters.map((c) => c.requests)),
  };
}

/** Before the health monitor has taken the config (the first moments of a start). */
function notCheckedYet(rs: RealServerConfig, now: number): ServerHealthStatus {
  const check = (rs as { healthCheck?: { type: string; startAs?: string } }).healthCheck;
  const up = check === undefined || check.type === 'none' || check.startAs !== 'down';
  return {
    up,
    reason: 'health checks have not started yet',
    since: new Date(now).toISOString(),
    check: check === undefined || check.type === 'none' ? 'not checked' : check.type,
    lastCheck: null,
    checks: { passed: 0, failed: 0 },
  };
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}
