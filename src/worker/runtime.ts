import type { Config, VirtualServiceConfig } from '../config/schema.ts';
import { transportOf } from '../config/service-fields.ts';
import { JsonAccessLog } from '../log/access-log.ts';
import { Listener } from '../frontend/http-listener.ts';
import { VirtualService } from '../frontend/virtual-service.ts';
import { TcpListener } from '../l4/tcp-listener.ts';
import { UdpListener } from '../l4/udp-listener.ts';
import { FtpListener } from '../ftp/ftp-listener.ts';
import { PoolSet } from '../pool/pool-set.ts';
import type { Pool } from '../pool/pool.ts';
import { EngineContext, type EventSink } from './engine-context.ts';
import type { ListenerEnv, ServiceListener, WorkerIdentity } from './service-listener.ts';
import type { AgentVerdict } from '../agent/types.ts';
import type { WorkerPoolStats, WorkerServiceStats, WorkerStats } from './messages.ts';
import { DnsRuntime } from './dns-runtime.ts';
import { performance } from 'node:perf_hooks';
import { configLimitSpecs, IpcLink, LimitAuthority, LocalLink } from '../limits/index.ts';
import type { LimitsToAuthority, LimitsToWorker } from '../limits/protocol.ts';
import { openGeoIpDatabase } from '../gslb/geoip.ts';
import type { CountrySource } from '../filters/match-input.ts';
import type { SiteReport } from '../gslb/types.ts';
import { TlsFrontEnd } from '../frontend/tls-front-end.ts';
import { AcmeChallengeStore } from '../acme/challenge-store.ts';
import { OcspStaples } from '../tls/ocsp-staples.ts';
import type { Staple } from '../tls/ocsp.ts';

/** How often the worker checks deadlines: the resolution of every timeout (HAProxy ticks at 1 ms; 100 ms is plenty for seconds-scale timeouts). */
const TICK_MS = 100;

/** UDP and TCP may share a port number; every other protocol listens on TCP. */
function listenKey(vs: VirtualServiceConfig): string {
  return `${transportOf(vs)}|${vs.listen.host}|${vs.listen.port}`;
}

/** The listener of the protocol; a reload that changes the protocol on one address gets a new one. */
function createListener(service: VirtualService, env: ListenerEnv): ServiceListener {
  switch (service.config.protocol) {
    case 'http':
    case 'https':
      return new Listener(service, env);
    case 'tcp':
      return new TcpListener(service, env);
    case 'udp':
      return new UdpListener(service, env);
    case 'ftp':
      return new FtpListener(service, env);
  }
}

/** The identity the supervisor gives a worker (FULCRUM_WORKER_INDEX / FULCRUM_WORKER_COUNT); one worker alone otherwise. */
export function workerIdentityFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerIdentity {
  const index = Number(env['FULCRUM_WORKER_INDEX'] ?? 0);
  const count = Number(env['FULCRUM_WORKER_COUNT'] ?? 1);
  return Number.isInteger(index) && Number.isInteger(count) && count >= 1 && index >= 0 && index < count ? { index, count } : { index: 0, count: 1 };
}

/**
 * Everything one worker runs: its pools (shared by the virtual services that use them), its
 * listeners (one per virtual service), the shared engine context and the timer that enforces
 * deadlines. `apply` moves it from one config to the next atomically.
 */
export class WorkerRuntime {
  readonly ctx = new EngineContext();
  readonly #listeners = new Map<string, ServiceListener>();
  /** Listeners whose address left the config: closed to new clients, kept until their clients leave. */
  readonly #retired = new Set<ServiceListener>();
  #pools: PoolSet = PoolSet.empty();
  readonly #env: ListenerEnv;
  #accessLogKey = '';
  readonly #timer: NodeJS.Timeout;
  readonly #events: EventSink;
  /** The latest health report per "pool|real server", re-applied to the pools a reload builds. */
  readonly #health = new Map<string, { up: boolean; reason: string }>();
  /** The latest agent verdict per "pool|real server" (adaptive scheduling), re-applied likewise. */
  readonly #agents = new Map<string, AgentVerdict>();
  /** GSLB: the DNS servers and the FQDN selectors. */
  readonly #dns = new DnsRuntime();
  /** OCSP responses to staple, as the supervisor fetches them; every TLS front end with tls.ocsp reads them. */
  readonly #staples = new OcspStaples();

  /** How limit asks reach the supervisor's authority when there are several workers; null: this runtime decides alone. */
  readonly #toAuthority: ((message: LimitsToAuthority) => void) | null;

  constructor(events: EventSink = () => {}, worker: WorkerIdentity = { index: 0, count: 1 }, toAuthority: ((message: LimitsToAuthority) => void) | null = null) {
    this.#toAuthority = toAuthority;
    this.#events = events;
    this.ctx.events = events;
    this.#env = { ctx: this.ctx, events, worker };
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
  }

  /**
   * Apply a validated config. On failure (an address cannot be bound) nothing changes.
   * `dnsSerial` is the SOA serial of its zones (the supervisor's, so that every worker agrees).
   */
  async apply(config: Config, dnsSerial = 1, workers = 1): Promise<void> {
    // Certificates first: a file that broke since the config was checked (a renewal half
    // written) fails the apply here, before anything has changed, and the running config stays.
    const tls = new Map<VirtualServiceConfig, TlsFrontEnd>();
    for (const vs of config.virtualServices) {
      if (vs.protocol === 'https' || (vs.protocol === 'tcp' && vs.tls !== undefined)) tls.set(vs, await TlsFrontEnd.create(vs.tls!, this.ctx.ticketSecret, vs.name, new Date(), this.#staples));
    }
    this.#tls = tls;
    const configs = new Map<string, VirtualServiceConfig>();
    for (const vsConfig of config.virtualServices) configs.set(listenKey(vsConfig), vsConfig);
    this.#prepareLimits(config, workers);
    this.ctx.countries = countriesOf(config);
    this.ctx.acme = AcmeChallengeStore.fromServices(config.virtualServices);
    // New addresses first, on pools of their own (no previous, so nothing shared is touched):
    // binding is the one step that can fail, and the running config must survive it untouched.
    // Their services are replaced by the committed ones below.
    const staging = this.#withAgents(this.#withHealth(PoolSet.build(config.pools, null, this.#events)));
    const opened = new Map<string, ServiceListener>();
    try {
      for (const [key, vsConfig] of configs) {
        // Same address, another protocol: a new listener too. Both bind with SO_REUSEPORT, so it
        // binds beside the running one, which is retired below, once nothing can fail any more.
        const running = this.#listeners.get(key);
        if (running !== undefined && running.service.config.protocol === vsConfig.protocol) continue;
        const listener = createListener(this.#service(vsConfig, staging), this.#env);
        await listener.listen();
        opened.set(key, listener);
      }
    } catch (err) {
      // Nothing was handed to these yet but a stray datagram or connection: cut it, then close.
      for (const l of opened.values()) l.destroyAll();
      await Promise.all([...opened.values()].map((l) => l.close()));
      throw err;
    }
    let dns;
    try {
      dns = await this.#dns.prepare(config.gslb, dnsSerial);
    } catch (err) {
      for (const l of opened.values()) l.destroyAll();
      await Promise.all([...opened.values()].map((l) => l.close()));
      throw err;
    }
    dns.commit();
    // Past the last failure point: the pools take over the running ones' real servers (weights,
    // warm connections, persistence tables) as they are built.
    const previous = this.#pools;
    const pools = this.#withAgents(this.#withHealth(PoolSet.build(config.pools, previous, this.#events)));
    this.#pools = pools;
    // A pool that left the config keeps serving the exchanges already on it; its idle
    // connections close now and its busy ones when they finish.
    for (const dropped of pools.droppedFrom(previous)) dropped.retire();
    // The staging pools served nothing but what a new listener accepted while others bound.
    for (const pool of staging.values()) pool.retire();
    for (const [key, listener] of this.#listeners) {
      const vsConfig = configs.get(key);
      // Gone from the config, or replaced by a listener of another protocol: retired, its clients finish.
      if (vsConfig === undefined || opened.has(key)) {
        this.#listeners.delete(key);
        this.#retired.add(listener);
        void listener.close();
        listener.drain();
      } else {
        listener.update(this.#service(vsConfig, pools));
      }
    }
    for (const [key, listener] of opened) {
      listener.update(this.#service(configs.get(key)!, pools));
      this.#listeners.set(key, listener);
    }
    this.#applyAccessLog(config);
  }

  /**
   * Limits hold for a virtual service as a whole: alone, this worker decides; with others, it
   * asks the supervisor's authority (src/limits). Every limit of the config is known before a
   * filter can ask.
   */
  #prepareLimits(config: Config, workers: number): void {
    const limits = this.ctx.limits;
    const shared = workers > 1 && this.#toAuthority !== null;
    if (shared !== this.#sharedLimits) {
      this.#sharedLimits = shared;
      limits.setLink(shared ? new IpcLink(this.#toAuthority!) : new LocalLink(new LimitAuthority()));
    }
    limits.configure(configLimitSpecs(config));
  }

  #sharedLimits = false;

  /** An answer of the supervisor's limits authority. */
  onLimits(message: LimitsToWorker): void {
    this.ctx.limits.receive(message, performance.now());
  }

  #service(config: VirtualServiceConfig, pools: PoolSet): VirtualService {
    return new VirtualService(config, pools, this.ctx, this.#tls.get(config) ?? null);
  }

  /** The TLS front ends of the config being applied, built before anything changes (apply). */
  #tls = new Map<VirtualServiceConfig, TlsFrontEnd>();

  /**
   * Health as the supervisor's checks report it, per pool. Applies to the running pool at once
   * and is remembered, so that a pool built by a later reload starts from the same knowledge.
   */
  setHealth(pool: string, server: string, up: boolean, reason: string): void {
    this.#health.set(`${pool}|${server}`, { up, reason });
    this.#pools.get(pool)?.setHealth(server, up, reason);
  }

  /** OCSP stapling: the response for a certificate, or none; new handshakes staple it at once, across reloads. */
  setStaple(fingerprint: string, staple: Staple | null): void {
    this.#staples.set(fingerprint, staple);
  }

  /** GSLB: an FQDN's sites as the supervisor's checks see them. */
  setSites(fqdn: string, sites: readonly SiteReport[]): void {
    this.#dns.setSites(fqdn, sites);
  }

  #withHealth(pools: PoolSet): PoolSet {
    for (const pool of pools.values()) {
      for (const s of pool.servers) {
        const known = this.#health.get(`${pool.name}|${s.id}`);
        if (known !== undefined) pool.setHealth(s.id, known.up, known.reason);
      }
    }
    return pools;
  }

  /**
   * Adaptive scheduling: what a real server's agent says, as the supervisor's polls report it.
   * Applies to the running pool at once and is remembered for the pools later reloads build.
   */
  setAgent(pool: string, server: string, verdict: AgentVerdict): void {
    this.#agents.set(`${pool}|${server}`, verdict);
    this.#pools.get(pool)?.setAgent(server, verdict);
  }

  #withAgents(pools: PoolSet): PoolSet {
    for (const pool of pools.values()) {
      if (pool.adaptive === null) continue;
      for (const s of pool.servers) {
        const known = this.#agents.get(`${pool.name}|${s.id}`);
        if (known !== undefined) pool.setAgent(s.id, known);
      }
    }
    return pools;
  }

  #applyAccessLog(config: Config): void {
    const key = config.accessLog === false ? 'off' : `${config.accessLog.format}:${config.accessLog.path}`;
    if (key === this.#accessLogKey) return;
    this.#accessLogKey = key;
    const old = this.ctx.accessLog;
    this.ctx.accessLog = config.accessLog === false ? null : new JsonAccessLog(config.accessLog.path);
    void old?.close();
  }

  #tick(): void {
    this.ctx.limits.tick(performance.now());
    const now = Date.now();
    for (const pool of this.#pools.values()) pool.tick(now);
    for (const listener of this.#listeners.values()) listener.tick(now);
    for (const listener of this.#retired) {
      listener.tick(now);
      if (listener.connectionCount === 0) this.#retired.delete(listener);
    }
  }

  /**
   * This worker's counters for the admin API: per virtual service its connections and rule hits,
   * per pool its real servers. A listener retired by a reload still counts (its requests in flight
   * are real), merged with the running one of the same name. Reads fields only: cheap enough to
   * answer while serving.
   */
  stats(): WorkerStats {
    const services = new Map<string, WorkerServiceStats>();
    for (const listener of [...this.#listeners.values(), ...this.#retired]) {
      const service = listener.service;
      let entry = services.get(service.name);
      if (entry === undefined) {
        entry = { name: service.name, clientConnections: 0, ruleHits: Object.fromEntries(this.ctx.ruleHits.get(service.name) ?? []) };
        const http2 = this.ctx.http2Events.get(service.name);
        if (http2 !== undefined) entry.http2 = { floods: { ...http2.floods }, protocolErrors: http2.protocolErrors };
        services.set(service.name, entry);
      }
      entry.clientConnections += listener.connectionCount;
    }
    const pools: WorkerPoolStats[] = [];
    for (const pool of this.#pools.values()) pools.push(poolStats(pool));
    return { virtualServices: [...services.values()], pools, dns: this.#dns.counters(), metrics: this.ctx.metrics.snapshot() };
  }

  get connectionCount(): number {
    let n = 0;
    for (const l of this.#listeners.values()) n += l.connectionCount;
    for (const l of this.#retired) n += l.connectionCount;
    return n + this.#dns.connectionCount;
  }

  /**
   * Stop accepting, let requests in flight finish (their responses say Connection: close), close
   * idle connections (after at most one more request; see Http1Connection.drain). Resolves when
   * no client connection is left, or `graceMs` has passed and the rest were cut.
   */
  async drain(graceMs: number): Promise<boolean> {
    const all = [...this.#listeners.values(), ...this.#retired];
    // server.close() stops accepting at once, but its callback waits for every connection to
    // end; so idle connections must be told to close first, and the close awaited last.
    const closed = Promise.all([...all.map((l) => l.close()), this.#dns.close()]);
    for (const l of all) l.drain();
    const deadline = Date.now() + graceMs;
    while (this.connectionCount > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const clean = this.connectionCount === 0;
    // Past the grace period: whatever is left is cut, so that the listeners really close.
    for (const l of all) l.destroyAll();
    this.#dns.destroyAll();
    await closed;
    for (const pool of this.#pools.values()) pool.closeIdle();
    clearInterval(this.#timer);
    await this.ctx.accessLog?.close();
    return clean;
  }
}

/** The GeoIP database rules and access lists ask for a client's country (read once, kept while unchanged). */
function countriesOf(config: Config): CountrySource | null {
  const path = config.geoipDatabase ?? config.gslb?.geoipDatabase ?? null;
  return path === null ? null : openGeoIpDatabase(path);
}

function poolStats(pool: Pool): WorkerPoolStats {
  return {
    name: pool.name,
    persistenceEntries: pool.persistence === null ? null : pool.persistence.entries,
    queued: pool.queued,
    realServers: pool.servers.map((server) => ({
      id: server.id,
      effectiveWeight: server.available ? server.weight : 0,
      ejected: server.ejectedUntil !== 0,
      inflight: server.inflight,
      requests: server.requests,
      idle: server.connections?.idleCount ?? 0,
    })),
  };
}
