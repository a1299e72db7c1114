import type { Config, VirtualServiceConfig } from '../config/schema.ts';
import { transportOf } from '../config/service-fields.ts';
import { JsonAccessLog } from '../log/access-log.ts';
import { EngineContext } from '../l7/engine-context.ts';
import { Listener } from '../l7/listener.ts';
import { VirtualService, type ServiceEventSink } from '../l7/virtual-service.ts';
import { TcpListener } from '../l4/tcp-listener.ts';
import { UdpListener } from '../l4/udp-listener.ts';
import { FtpListener } from '../ftp/ftp-listener.ts';
import type { ListenerEnv, ServiceListener, WorkerIdentity } from './service-listener.ts';
import type { AgentVerdict } from '../agent/types.ts';
import type { RealServer } from '../upstream/real-server.ts';
import type { WorkerRealServerStats, WorkerServiceStats, WorkerStats } from './messages.ts';
import { DnsRuntime } from './dns-runtime.ts';
import type { SiteReport } from '../gslb/types.ts';

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
 * Everything one worker runs: its listeners (one per virtual service), the shared engine context
 * and the timer that enforces deadlines. `apply` moves it from one config to the next atomically.
 */
export class WorkerRuntime {
  readonly ctx = new EngineContext();
  readonly #listeners = new Map<string, ServiceListener>();
  /** Listeners whose address left the config: closed to new clients, kept until their clients leave. */
  readonly #retired = new Set<ServiceListener>();
  readonly #env: ListenerEnv;
  #accessLogKey = '';
  readonly #timer: NodeJS.Timeout;
  readonly #events: ServiceEventSink;
  /** The latest health report per "virtual service|real server", re-applied to the services a reload builds. */
  readonly #health = new Map<string, { up: boolean; reason: string }>();
  /** The latest agent verdict per "virtual service|real server" (adaptive scheduling), re-applied likewise. */
  readonly #agents = new Map<string, AgentVerdict>();
  /** GSLB: the DNS servers and the FQDN selectors. */
  readonly #dns = new DnsRuntime();

  constructor(events: ServiceEventSink = () => {}, worker: WorkerIdentity = { index: 0, count: 1 }) {
    this.#events = events;
    this.#env = { ctx: this.ctx, events, worker };
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
  }

  /**
   * Apply a validated config. On failure (an address cannot be bound) nothing changes.
   * `dnsSerial` is the SOA serial of its zones (the supervisor's, so that every worker agrees).
   */
  async apply(config: Config, dnsSerial = 1): Promise<void> {
    const configs = new Map<string, VirtualServiceConfig>();
    for (const vsConfig of config.virtualServices) configs.set(listenKey(vsConfig), vsConfig);
    // New addresses first, with services of their own (no previous, so nothing shared is touched):
    // binding is the one step that can fail, and the running config must survive it untouched.
    const opened = new Map<string, ServiceListener>();
    try {
      for (const [key, vsConfig] of configs) {
        // Same address, another protocol: a new listener too. Both bind with SO_REUSEPORT, so it
        // binds beside the running one, which is retired below, once nothing can fail any more.
        const running = this.#listeners.get(key);
        if (running !== undefined && running.service.config.protocol === vsConfig.protocol) continue;
        const listener = createListener(this.#withAgents(this.#withHealth(new VirtualService(vsConfig, null, this.#events))), this.#env);
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
    // Past the last failure point: a service built on a running one takes over its real servers
    // (weights, pools) as it is constructed.
    for (const [key, listener] of this.#listeners) {
      const vsConfig = configs.get(key);
      // Gone from the config, or replaced by a listener of another protocol: retired, its clients finish.
      if (vsConfig === undefined || opened.has(key)) {
        this.#listeners.delete(key);
        this.#retired.add(listener);
        void listener.close();
        listener.drain();
      } else {
        listener.update(this.#withAgents(this.#withHealth(new VirtualService(vsConfig, listener.service, this.#events))));
      }
    }
    for (const [key, listener] of opened) this.#listeners.set(key, listener);
    this.#applyAccessLog(config);
  }

  /**
   * Health as the supervisor's checks report it. Applies to the running service at once and is
   * remembered, so that a service built by a later reload starts from the same knowledge.
   */
  setHealth(virtualService: string, server: string, up: boolean, reason: string): void {
    this.#health.set(`${virtualService}|${server}`, { up, reason });
    for (const listener of this.#listeners.values()) {
      if (listener.service.name === virtualService) listener.service.setHealth(server, up, reason);
    }
  }

  /** GSLB: an FQDN's sites as the supervisor's checks see them. */
  setSites(fqdn: string, sites: readonly SiteReport[]): void {
    this.#dns.setSites(fqdn, sites);
  }

  #withHealth(service: VirtualService): VirtualService {
    for (const s of service.servers) {
      const known = this.#health.get(`${service.name}|${s.id}`);
      if (known !== undefined) service.setHealth(s.id, known.up, known.reason);
    }
    return service;
  }

  /**
   * Adaptive scheduling: what a real server's agent says, as the supervisor's polls report it.
   * Applies to the running service at once and is remembered for the services later reloads build.
   */
  setAgent(virtualService: string, server: string, verdict: AgentVerdict): void {
    this.#agents.set(`${virtualService}|${server}`, verdict);
    for (const listener of this.#listeners.values()) {
      if (listener.service.name === virtualService) listener.service.setAgent(server, verdict);
    }
  }

  #withAgents(service: VirtualService): VirtualService {
    if (service.adaptive === null) return service;
    for (const s of service.servers) {
      const known = this.#agents.get(`${service.name}|${s.id}`);
      if (known !== undefined) service.setAgent(s.id, known);
    }
    return service;
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
    const now = Date.now();
    for (const listener of this.#listeners.values()) listener.tick(now);
    for (const listener of this.#retired) {
      listener.tick(now);
      if (listener.connectionCount === 0) {
        // Its pools are swept no more: close them for good.
        this.#retired.delete(listener);
        listener.service.retire();
      }
    }
  }

  /**
   * This worker's counters for the admin API, per virtual service name. A listener retired by a
   * reload still counts (its requests in flight are real), merged with the running one of the
   * same name. Reads fields only: cheap enough to answer while serving.
   */
  stats(): WorkerStats {
    const services = new Map<string, WorkerServiceStats>();
    const byServer = new Map<string, WorkerRealServerStats>();
    const seen = new Set<RealServer>();
    for (const listener of [...this.#listeners.values(), ...this.#retired]) {
      const service = listener.service;
      let entry = services.get(service.name);
      if (entry === undefined) {
        entry = { name: service.name, clientConnections: 0, persistenceEntries: null, realServers: [] };
        services.set(service.name, entry);
      }
      entry.clientConnections += listener.connectionCount;
      if (service.persistence !== null) entry.persistenceEntries = (entry.persistenceEntries ?? 0) + service.persistence.entries;
      for (const server of service.servers) {
        if (seen.has(server)) continue;
        seen.add(server);
        const counters: WorkerRealServerStats = {
          id: server.id,
          effectiveWeight: server.available ? server.weight : 0,
          ejected: server.ejectedUntil !== 0,
          inflight: server.inflight,
          requests: server.requests,
          idle: server.pool?.idleCount ?? 0,
        };
        const key = `${service.name}|${server.id}`;
        const same = byServer.get(key);
        if (same === undefined) {
          byServer.set(key, counters);
          entry.realServers.push(counters);
        } else {
          // The retired listener's copy: its traffic adds up, the running one's weight stands.
          same.inflight += counters.inflight;
          same.requests += counters.requests;
          same.idle += counters.idle;
        }
      }
    }
    return { virtualServices: [...services.values()], dns: this.#dns.counters() };
  }

  get connectionCount(): number {
    let n = 0;
    for (const l of this.#listeners.values()) n += l.connectionCount;
    for (const l of this.#retired) n += l.connectionCount;
    return n + this.#dns.connectionCount;
  }

  /**
   * Stop accepting, let requests in flight finish (their responses say Connection: close), close
   * idle connections (after at most one more request; see ClientConnection.drain). Resolves when
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
    for (const l of all) l.service.closeIdle();
    clearInterval(this.#timer);
    await this.ctx.accessLog?.close();
    return clean;
  }
}
