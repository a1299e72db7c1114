/**
 * GET /api/v1/status: the running config, the health monitor's verdicts and the workers'
 * counters in one document, per pool and per virtual service (with the pool it uses and its rules). The config gives the list and order (what the admin wrote); the
 * health monitor says up or down and why; the workers say what traffic is doing.
 */
import { formatAddress } from '../config/address.ts';
import { realServerState } from '../config/conflicts.ts';
import type { Config, PoolConfig, RealServerConfig } from '../config/schema.ts';
import type { HealthStatus, ServerHealthStatus } from '../health/index.ts';
import type { AgentStatus } from '../agent/index.ts';
import type { WorkerRealServerStats, WorkerStats } from '../worker/messages.ts';
import type { GslbConfig } from '../config/gslb.ts';
import { addDnsCounters, emptyDnsCounters } from '../dns/answerer.ts';
import type { FqdnCheckStatus, SiteCheckStatus } from '../gslb/check-driver.ts';
import type { OcspCertificateStatus } from '../tls/ocsp.ts';
import type { AcmeCertificateStatus, ApiSiteStatus, CertificateStatus, GslbFqdnStatus, GslbStatus, PoolStatus, RealServerStatus, StatusDocument, VirtualServiceStatus } from './types.ts';

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
  /** Each https virtual service's certificates, by its name (the supervisor reads them at each load). */
  certificates?: ReadonlyMap<string, CertificateStatus[]>;
  /** The certificates tls.acme manages (AcmeManager.status()), matched to those by their file. */
  acme?: readonly AcmeCertificateStatus[];
  /** OCSP stapling's state per certificate (OcspManager.status()), matched to those by their file. */
  ocsp?: readonly OcspCertificateStatus[];
}

export function buildStatus(input: StatusInput): StatusDocument {
  const now = input.now ?? Date.now();
  const pools = input.config.pools.map((pool) => poolStatus(pool, input, now));
  const byName = new Map(pools.map((p) => [p.name, p]));
  const virtualServices = input.config.virtualServices.map((vs): VirtualServiceStatus => {
    const pool = byName.get(vs.pool);
    const perWorker = input.stats.map((s) => s.virtualServices.find((v) => v.name === vs.name)).filter((v) => v !== undefined);
    const entry: VirtualServiceStatus = {
      name: vs.name,
      listen: formatAddress(vs.listen),
      protocol: vs.protocol,
      pool: vs.pool,
      scheduler: pool?.scheduler ?? '',
      clientConnections: sum(perWorker.map((w) => w.clientConnections)),
      realServers: pool?.realServers ?? [],
      rules: rulesOf(vs).map((rule) => ({
        name: rule.name,
        pool: rule.pool ?? null,
        action: ruleAction(rule),
        hits: sum(perWorker.map((w) => w.ruleHits[rule.name] ?? 0)),
      })),
    };
    if (pool?.persistenceEntries !== undefined) entry.persistenceEntries = pool.persistenceEntries;
    const http2 = http2Events(perWorker);
    if (http2 !== null) entry.http2 = http2;
    const certificates = input.certificates?.get(vs.name);
    if (certificates !== undefined) entry.certificates = withOcsp(withAcme(certificates, input.acme), input.ocsp);
    return entry;
  });
  for (const vs of virtualServices) {
    byName.get(vs.pool)?.usedBy.push({ virtualService: vs.name, rule: null });
    for (const rule of vs.rules) if (rule.pool !== null) byName.get(rule.pool)?.usedBy.push({ virtualService: vs.name, rule: rule.name });
  }
  const doc: StatusDocument = {
    virtualServices,
    pools,
    workers: [...input.workers],
    workersNotAnswering: [...input.workersNotAnswering],
    generation: input.generation,
  };
  if (input.config.gslb !== undefined && input.gslb !== undefined) doc.gslb = gslbStatus(input.config.gslb, input.gslb, input.stats);
  return doc;
}

/** A service's certificates, each one ACME manages with what the ACME client knows of it now (state, last renewal, next attempt, last error). */
function withAcme(certificates: CertificateStatus[], acme: readonly AcmeCertificateStatus[] | undefined): CertificateStatus[] {
  if (acme === undefined || acme.length === 0) return certificates;
  const byFile = new Map(acme.map((a) => [a.certFile, a]));
  return certificates.map((c) => {
    const managed = byFile.get(c.certFile);
    return managed === undefined ? c : { ...c, acme: managed };
  });
}

/** A service's certificates, each one OCSP stapling fetches for with its state (last fetch, dates, good/revoked/error). */
function withOcsp(certificates: CertificateStatus[], ocsp: readonly OcspCertificateStatus[] | undefined): CertificateStatus[] {
  if (ocsp === undefined || ocsp.length === 0) return certificates;
  const byFile = new Map(ocsp.map((o) => [o.certFile, o]));
  return certificates.map((c) => {
    const state = byFile.get(c.certFile);
    return state === undefined ? c : { ...c, ocsp: state };
  });
}

/** The workers' HTTP/2 counters of one virtual service, summed; null when none has any. */
function http2Events(perWorker: ReadonlyArray<{ http2?: { floods: Record<string, number>; protocolErrors: number } }>): VirtualServiceStatus['http2'] | null {
  let total: NonNullable<VirtualServiceStatus['http2']> | null = null;
  for (const w of perWorker) {
    if (w.http2 === undefined) continue;
    total ??= { floods: {}, protocolErrors: 0 };
    total.protocolErrors += w.http2.protocolErrors;
    for (const [limit, n] of Object.entries(w.http2.floods)) total.floods[limit] = (total.floods[limit] ?? 0) + n;
  }
  return total;
}

function poolStatus(pool: PoolConfig, input: StatusInput, now: number): PoolStatus {
  const perWorker = input.stats.map((s) => s.pools.find((p) => p.name === pool.name)).filter((p) => p !== undefined);
  // By id per worker: a pool of a thousand servers must not cost a million comparisons.
  const serversPerWorker = perWorker.map((w) => new Map(w.realServers.map((r) => [r.id, r])));
  const status: PoolStatus = {
    name: pool.name,
    inline: pool.inline,
    scheduler: pool.scheduler,
    persistence: pool.persistence === false ? null : pool.persistence.type,
    usedBy: [],
    queued: sum(perWorker.map((w) => w.queued)),
    realServers: pool.realServers.map((rs) => {
      const address = formatAddress(rs.address);
      const counters = serversPerWorker.map((w) => w.get(address)).filter((r) => r !== undefined);
      const health = input.health[pool.name]?.[address] ?? notCheckedYet(rs, now);
      const server = realServerStatus(address, rs, health, counters);
      const agent = input.agents?.[pool.name]?.[address];
      return agent === undefined ? server : { ...server, agent };
    }),
  };
  const tables = perWorker.map((w) => w.persistenceEntries).filter((n) => n !== null);
  if (tables.length > 0) status.persistenceEntries = sum(tables);
  return status;
}

interface RuleLike {
  name: string;
  pool?: string | undefined;
  redirect?: unknown;
  respond?: unknown;
  deny?: unknown;
}

function rulesOf(vs: Config['virtualServices'][number]): RuleLike[] {
  const rules = (vs as { rules?: RuleLike[] }).rules;
  return Array.isArray(rules) ? rules : [];
}

function ruleAction(rule: RuleLike): string {
  if (rule.redirect !== undefined) return 'redirect';
  if (rule.respond !== undefined) return 'respond';
  if (rule.deny !== undefined && rule.deny !== false) return 'deny';
  return rule.pool !== undefined ? 'route' : 'edit';
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

/** A real server of pool `pool` in the status of `doc`; the CLI and the PUT answer use it. */
export function findRealServer(doc: StatusDocument, pool: string, address: string): RealServerStatus | undefined {
  return doc.pools.find((p) => p.name === pool)?.realServers.find((r) => r.address === address);
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
