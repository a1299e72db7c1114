import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadConfigFile, loadConfigText, type LoadResult } from '../config/load.ts';
import { formatProblems } from '../config/format.ts';
import type { Config } from '../config/schema.ts';
import { listenKeys, probeAddresses } from './address-probe.ts';
import { HealthMonitor } from '../health/index.ts';
import { AgentMonitor } from '../agent/index.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { ErrorCode } from '../errors.ts';
import type { FromWorker, ToWorker } from '../worker/messages.ts';
import { AdminServer, adminKey } from '../admin/server.ts';
import { apiSiteStatus, buildStatus } from '../admin/status.ts';
import type { CertificateStatus, ReloadOutcome, SetSiteStateOutcome, SiteState, StatusDocument } from '../admin/types.ts';
import { StatsCollector } from '../admin/worker-stats.ts';
import { AdminPlane } from '../admin/plane.ts';
import { buildAdminTls, type AdminTls } from '../admin/admin-tls.ts';
import { aggregateMetrics } from '../metrics/aggregate.ts';
import { PrometheusExporter } from '../metrics/prometheus.ts';
import { StatsHistory } from '../metrics/history.ts';
import type { MetricsSnapshot } from '../metrics/types.ts';
import { GslbCheckDriver } from '../gslb/check-driver.ts';
import { nextSerial } from '../gslb/serial.ts';
import { formatAddress } from '../config/address.ts';
import { performance } from 'node:perf_hooks';
import { configLimitSpecs, LimitAuthority } from '../limits/index.ts';
import { REGEX_SAFETY_FLAGS } from '../rules/regex.ts';
import type { SiteReport } from '../gslb/types.ts';
import { CertificateWatch, certificateFilesOf, certificateStatus } from './certificate-watch.ts';
import { AcmeManager } from '../acme/manager.ts';
import { OcspManager } from '../tls/ocsp-manager.ts';
import type { Staple } from '../tls/ocsp.ts';

const WORKER_ENTRY = fileURLToPath(new URL('../worker/main.ts', import.meta.url));
/** How long SIGTERM lets requests in flight finish before workers are stopped hard. */
const DRAIN_GRACE_MS = 15_000;
/** A worker that dies is restarted after this pause, doubling up to 5 s so a crash loop cannot spin. */
const RESTART_BACKOFF_MS = [100, 200, 400, 800, 1600, 3200, 5000];

interface Worker {
  readonly child: ChildProcess;
  readonly slot: number;
  generation: number;
  exited: boolean;
}

export interface SupervisorOptions {
  configPath: string;
  config: Config;
}

/**
 * The process `fulcrum start` runs: it forks the workers (each listens on every virtual service
 * with SO_REUSEPORT), re-reads the config on SIGHUP and drains on SIGTERM. It never touches
 * client traffic, so a bad config or a crashed worker cannot take the data path down with it.
 */
export async function runSupervisor({ configPath, config }: SupervisorOptions): Promise<void> {
  const supervisor = new Supervisor(configPath, config, createLogger('fulcrum'));
  await supervisor.start();
}

class Supervisor {
  readonly #configPath: string;
  readonly #log: Logger;
  #config: Config;
  #generation = 1;
  #workers: Worker[] = [];
  #stopping = false;
  readonly #health: HealthMonitor;
  /** Adaptive scheduling: polls the real servers' agents (src/agent); status() for the admin API. */
  readonly #agents: AgentMonitor;
  /** GSLB: the site checks and the sites' state (src/gslb); workers get the verdicts and answer DNS. */
  readonly #gslb: GslbCheckDriver;
  /**
   * Rate and connection limits that hold for each virtual service across its workers: the one
   * true state; workers lease tokens and slots from it (src/limits). Unused with one worker.
   */
  readonly #limits: LimitAuthority;
  /** The SOA serial of the zones: raised when the gslb section changes (serial.ts). */
  #dnsSerial = nextSerial(0);
  #reloading: Promise<void> = Promise.resolve();
  readonly #restarts = new Map<number, number>();
  /** The admin API (src/admin); null when admin.listen is not set. */
  #admin: AdminServer | null = null;
  readonly #stats = new StatsCollector();
  #certificateStatus = new Map<string, CertificateStatus[]>();
  /** Drawn once per start; workers (restarted ones too) derive the same TLS ticket keys from it. */
  readonly #ticketSecret = randomBytes(32).toString('hex');
  /** Certificate and key files of the running config: a change reloads, as SIGHUP does. */
  readonly #certificates = new CertificateWatch((files) => {
    this.#log.info({ files }, 'a certificate file changed: reloading');
    this.#serially(() => this.#reload()).catch((error: unknown) => this.#log.error({ file: this.#configPath, error: String(error) }, 'reload failed'));
  });
  /**
   * ACME (tls.acme, src/acme): orders and renews here, once; what it writes is in the services'
   * certificate lists (prepare), so the certificate watch above reloads the workers with it.
   */
  readonly #acme: AcmeManager;
  /**
   * OCSP stapling (tls.ocsp, src/tls/ocsp-manager.ts): fetched here, once per certificate, in the
   * background; each good response goes to every worker, which staples it from memory.
   */
  readonly #ocsp: OcspManager;
  /** The management plane (src/admin/plane.ts): made when the config first has an admin section. */
  #plane: AdminPlane | null = null;
  /** Prometheus text of the aggregated worker counters (src/metrics). */
  readonly #exporter = new PrometheusExporter();
  /** The console's charts: 1 s points for 10 minutes, 1 min points for 24 h (in the state database). */
  #history: StatsHistory | null = null;
  #historyTimer: NodeJS.Timeout | null = null;
  #sampling = false;
  /** Each live worker's last metrics snapshot, by pid; and the sum of those of exited workers. */
  readonly #lastMetrics = new Map<number, MetricsSnapshot>();
  #retiredMetrics: MetricsSnapshot | undefined = undefined;

  constructor(configPath: string, config: Config, log: Logger) {
    this.#configPath = configPath;
    this.#config = config;
    this.#log = log;
    this.#acme = new AcmeManager({
      log,
      configFile: configPath,
      // Another node renewed into the shared storage folder: this machine's file watch may not see it.
      onExternalChange: () => this.#serially(() => this.#reload()).catch((error: unknown) => this.#log.error({ file: this.#configPath, error: String(error) }, 'reload failed')),
    });
    this.#ocsp = new OcspManager({ log, onStaple: (fingerprint, staple) => this.#broadcast(ocspMessage(fingerprint, staple)) });
    this.#limits = new LimitAuthority({ workers: workerCount(config) });
    this.#limits.configure(configLimitSpecs(config));
    // The checks run here, once, not in every worker: N workers would mean N times the probes,
    // and a check must cost the request path nothing. Workers only apply the verdicts.
    this.#health = new HealthMonitor({ logger: log });
    this.#health.on('change', (change) => {
      const message: ToWorker = { type: 'health', pool: change.pool, server: change.server, up: change.up, reason: change.reason };
      this.#broadcast(message);
    });
    // The agents are polled here too, for the same reasons; workers turn the verdicts into weights.
    this.#agents = new AgentMonitor({ logger: log });
    this.#agents.on('report', (report) => {
      this.#broadcast({ type: 'agent', ...report });
    });
    // Site checks, likewise once here; a change goes to every worker, which moves its selector.
    this.#gslb = new GslbCheckDriver({ logger: log });
    this.#gslb.on('change', (change) => {
      this.#log.info({ fqdn: change.fqdn, answers: change.state.status().answers }, `GSLB ${change.fqdn}: ${change.reason}`);
      this.#broadcast(gslbMessage(change.fqdn, change.sites));
    });
  }

  #broadcast(message: ToWorker): void {
    for (const w of this.#workers) if (w !== undefined) this.#send(w, message);
  }

  /**
   * A message to one worker. A worker that has died (its exit not yet handled) is skipped: a
   * send to a closed channel raises an error event, which must never take the supervisor down.
   */
  #send(worker: Worker, message: ToWorker): void {
    if (worker.exited || !worker.child.connected) return;
    worker.child.send(message, (error) => {
      if (error !== null && error !== undefined) this.#log.warn({ worker: worker.child.pid, message: message.type, error: String(error) }, 'a message to a worker was lost; it is exiting');
    });
  }

  async start(): Promise<void> {
    // Signals are taken from the first moment: a SIGHUP during startup waits for the workers
    // (#reloading starts as the startup itself), a SIGTERM drains whatever has started.
    let startupDone!: () => void;
    this.#reloading = new Promise<void>((resolve) => (startupDone = resolve));
    process.on('SIGHUP', () => {
      this.#serially(() => this.#reload()).catch((error: unknown) => this.#log.error({ file: this.#configPath, error: String(error) }, 'reload failed'));
    });
    process.on('SIGTERM', () => void this.#shutdown('SIGTERM'));
    process.on('SIGINT', () => void this.#shutdown('SIGINT'));
    const conflicts = await probeAddresses(this.#config, new Set());
    if (conflicts.length > 0) {
      startupDone();
      this.#log.fatal({ problems: conflicts }, `start failed: ${conflicts.join('; ')}`);
      process.exit(1);
    }
    // The admin API binds before any worker starts: a taken admin address fails the start cleanly.
    if (this.#config.admin !== undefined) {
      try {
        const plane = this.#openPlane();
        const prepared = await plane.prepare(process.env);
        if (!prepared.ok) throw new Error(prepared.message);
        this.#admin = await this.#openAdmin(this.#config);
        this.#plane!.secure = this.#admin.secure;
      } catch (error) {
        startupDone();
        this.#log.fatal({ error: String(error) }, `start failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      }
    }
    // ACME names get their certificate files (a placeholder until the first is issued) before any worker needs them.
    try {
      this.#config = await this.#acme.prepare(this.#config);
    } catch (error) {
      startupDone();
      this.#log.fatal({ error: String(error) }, `start failed: the ACME storage folder: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    }
    // Site checks start before the workers, so that a worker's first snapshot has the cold-start state.
    this.#gslb.apply(this.#config.gslb);
    const count = workerCount(this.#config);
    const started = await Promise.allSettled(Array.from({ length: count }, (_, slot) => this.#spawn(slot)));
    // Before the first API change can run (they wait for the startup): the version in service at start.
    await this.#plane?.remember('start');
    startupDone();
    const failed = started.find((r) => r.status === 'rejected');
    if (failed !== undefined) {
      this.#log.fatal({ error: String((failed as PromiseRejectedResult).reason) }, 'start failed');
      await this.#stopAll(0);
      process.exit(1);
    }
    if (this.#stopping) return;
    this.#log.info(
      {
        workers: this.#workers.map((w) => w.child.pid),
        virtualServices: this.#config.virtualServices.map((v) => `${v.name}@${v.listen.host}:${v.listen.port}`),
        ...(this.#config.gslb !== undefined ? { dns: this.#config.gslb.listen.map((a) => formatAddress(a)), dnsSerial: this.#dnsSerial } : {}),
        ...(this.#admin !== null ? { admin: adminKey(this.#admin.address) } : {}),
      },
      'ready',
    );
    this.#health.apply(this.#config);
    this.#agents.apply(this.#config);
    this.#certificates.set(certificateFilesOf(this.#config));
    this.#loadCertificateStatus(this.#config);
    this.#applyAcme(this.#config);
  }

  // ---- the management plane (src/admin/plane.ts) ----------------------------------------------

  /** SIGHUP's read: through the config store when the plane has one (the same text the API edits). */
  async #readConfig(): Promise<LoadResult> {
    if (this.#plane === null) return loadConfigFile(this.#configPath);
    try {
      const stored = await this.#plane.store.read();
      return loadConfigText(stored.text, this.#configPath);
    } catch {
      // Unreadable: the loader's own message names the file and the reason.
      return loadConfigFile(this.#configPath);
    }
  }

  /** The plane and its database, once: a reload that adds an admin section opens it then. */
  #openPlane(): AdminPlane {
    if (this.#plane !== null) return this.#plane;
    const log = this.#log;
    this.#plane = new AdminPlane({
      configPath: this.#configPath,
      running: () => this.#config,
      status: () => this.#status(),
      reload: (loaded) => this.#reload(loaded),
      serially: (task) => this.#serially(task),
      setSiteState: (fqdn, site, state) => this.#setSiteState(fqdn, site, state),
      metrics: () => this.#metricsText(),
      history: () => this.#history,
      log: { info: (f, m) => log.info(f, m), warn: (f, m) => log.warn(f, m), error: (f, m) => log.error(f, m) },
    });
    this.#history = new StatsHistory(this.#plane.db.sql);
    // Once a second, off the data path: one stats round trip to the workers (a few ms).
    this.#historyTimer = setInterval(() => void this.#sampleHistory(), 1000);
    this.#historyTimer.unref();
    return this.#plane;
  }

  /** Bind the admin listener of `config` (HTTPS with admin.tls). */
  async #openAdmin(config: Config): Promise<AdminServer> {
    const admin = config.admin!;
    const plane = this.#openPlane();
    const tls = this.#adminTls(config);
    return AdminServer.open(admin.listen, plane.handler, tls);
  }

  #adminTls(config: Config): AdminTls | null {
    const tls = config.admin?.tls;
    if (tls === undefined) return null;
    const built = buildAdminTls(tls);
    if (!built.ok) throw new Error(built.message);
    return built;
  }

  /** Worker counters and the status built from the same collection, so the two agree. */
  async #observe(): Promise<{ status: StatusDocument; metrics: MetricsSnapshot }> {
    const live = this.#workers.filter((w) => w !== undefined && !w.exited);
    const health = this.#health.status();
    const agents = this.#agents.status();
    const { stats, missing } = await this.#stats.collect(live.map((w) => w.child));
    const status = buildStatus({
      config: this.#config,
      health,
      agents,
      stats,
      workers: live.map((w) => w.child.pid ?? 0),
      workersNotAnswering: missing,
      generation: this.#generation,
      certificates: this.#certificateStatus,
      acme: this.#acme.status(),
      ocsp: this.#ocsp.status(),
      ...(this.#config.gslb !== undefined ? { gslb: { serial: this.#dnsSerial, fqdns: this.#gslb.status() } } : {}),
    });
    // Counters must never go down (Prometheus reads a drop as a reset, and charts a spike): a
    // worker that did not answer in time counts with its last snapshot, and one that has exited
    // with the snapshot it left (#retiredMetrics). What a dead worker counted after its last
    // snapshot (at most a second's worth while the history samples) is lost.
    const snapshots: Array<MetricsSnapshot | undefined> = [this.#retiredMetrics];
    let answered = 0;
    for (const worker of live) {
      const pid = worker.child.pid ?? 0;
      if (missing.includes(pid)) {
        snapshots.push(this.#lastMetrics.get(pid));
        continue;
      }
      const metrics = stats[answered++]?.metrics;
      if (metrics !== undefined) this.#lastMetrics.set(pid, metrics);
      snapshots.push(metrics);
    }
    return { status, metrics: aggregateMetrics(snapshots) };
  }

  async #metricsText(): Promise<string> {
    return this.#exporter.render(await this.#observe());
  }

  async #sampleHistory(): Promise<void> {
    // A sample waits up to the 1 s stats timeout for a stuck worker: the next tick is skipped, not stacked.
    if (this.#stopping || this.#history === null || this.#sampling) return;
    this.#sampling = true;
    try {
      const { status, metrics } = await this.#observe();
      this.#history.sample(Date.now(), metrics, status);
    } catch (error) {
      this.#log.warn({ error: String(error) }, 'statistics history: a sample failed');
    } finally {
      this.#sampling = false;
    }
  }

  /** Orders start once the listeners are up: the http-01 and tls-alpn-01 challenges arrive on them. */
  #applyAcme(config: Config): void {
    this.#acme.apply(config).catch((error: unknown) => this.#log.error({ error: String(error) }, `ACME: ${error instanceof Error ? error.message : String(error)}`));
  }

  /**
   * Certificates as loaded, for the status view; expired, expiring or chain-incomplete ones are
   * served all the same, and said once per load. OCSP stapling fetches for the certificates of
   * this config from now on (never before the workers serve it: a start waits for no responder).
   */
  #loadCertificateStatus(config: Config): void {
    const { byService, warnings, ocsp } = certificateStatus(config, new Date());
    this.#certificateStatus = byService;
    for (const warning of warnings) this.#log.warn({ code: warning.code, file: warning.file }, warning.message);
    this.#ocsp.apply(ocsp);
  }

  /** Fork a worker and resolve once it listens on every virtual service of the current config. */
  #spawn(slot: number): Promise<Worker> {
    const child = fork(WORKER_ENTRY, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Which worker it is: resources that cannot be shared over SO_REUSEPORT (FTP passive ports) are split by it.
      // The TLS ticket secret: every worker derives the same ticket keys from it (src/tls/ticket-keys.ts).
      env: { ...process.env, FULCRUM_WORKER_INDEX: String(slot), FULCRUM_WORKER_COUNT: String(workerCount(this.#config)), FULCRUM_TICKET_SECRET: this.#ticketSecret },
      serialization: 'advanced',
      // --expose-gc: the worker bounds the memory held by dead socket read buffers (engine-context.ts).
      // The regex flags: a user's pattern falls back to V8's linear-time engine instead of backtracking for ever (src/rules/regex.ts).
      execArgv: [...process.execArgv, '--expose-gc', ...REGEX_SAFETY_FLAGS],
    });
    const worker: Worker = { child, slot, generation: 0, exited: false };
    this.#workers[slot] = worker;
    child.on('exit', (code, signal) => this.#onExit(worker, code, signal));
    // A send to a worker that has just died; its exit is handled by 'exit'.
    child.on('error', (error) => this.#log.warn({ worker: child.pid, error: String(error) }, 'worker IPC error'));
    child.on('message', (m: FromWorker) => {
      if (m.type === 'limits') {
        // Answered at once and in arrival order: a worker matches answers to its asks by order.
        const answer = this.#limits.receive(worker.slot, m, performance.now());
        if (answer !== null) this.#send(worker, answer);
        return;
      }
      this.#stats.onMessage(m);
    });
    // What the checks know goes first: the worker remembers it and builds its services (and DNS
    // answers) from it, so a restarted worker never serves from the checks' starting state.
    this.#sendSnapshots(worker);
    return this.#sendConfig(worker, this.#config, this.#generation, this.#dnsSerial).then(() => worker);
  }

  #sendSnapshots(worker: Worker): void {
    this.#sendHealthSnapshot(worker);
    this.#sendAgentSnapshot(worker);
    this.#sendGslbSnapshot(worker);
    // A restarted worker staples from its first handshake, not from the next refresh.
    for (const { fingerprint, staple } of this.#ocsp.staples()) this.#send(worker, ocspMessage(fingerprint, staple));
  }

  /** A new or restarted worker learns what the checks already know. */
  #sendHealthSnapshot(worker: Worker): void {
    for (const [pool, servers] of Object.entries(this.#health.status())) {
      for (const [server, status] of Object.entries(servers)) {
        this.#send(worker, { type: 'health', pool, server, up: status.up, reason: status.reason });
      }
    }
  }

  /** Adaptive scheduling: a new or restarted worker (or one on a new config) learns every agent's verdict. */
  #sendAgentSnapshot(worker: Worker): void {
    for (const report of this.#agents.verdicts()) this.#send(worker, { type: 'agent', ...report });
  }

  /** GSLB: a new worker (or every worker after a reload) learns every site's health and load. */
  #sendGslbSnapshot(worker: Worker): void {
    for (const report of this.#gslb.reports()) this.#send(worker, gslbMessage(report.fqdn, report.sites));
  }

  #sendConfig(worker: Worker, config: Config, generation: number, dnsSerial: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (worker.exited || !worker.child.connected) {
        reject(new Error(`worker ${worker.child.pid} exited before applying the config`));
        return;
      }
      const onMessage = (m: FromWorker): void => {
        if (m.type === 'applied' && m.generation === generation) {
          cleanup();
          worker.generation = generation;
          resolve();
        } else if (m.type === 'apply-failed' && m.generation === generation) {
          cleanup();
          reject(new Error(`${m.code}: ${m.error}`));
        }
      };
      const onExit = (): void => {
        cleanup();
        reject(new Error(`worker ${worker.child.pid} exited before applying the config`));
      };
      const cleanup = (): void => {
        worker.child.off('message', onMessage);
        worker.child.off('exit', onExit);
      };
      worker.child.on('message', onMessage);
      worker.child.once('exit', onExit);
      const message: ToWorker = { type: 'apply', generation, config, dnsSerial, workers: workerCount(config) };
      worker.child.send(message, (error) => {
        if (error === null || error === undefined) return;
        cleanup();
        reject(new Error(`worker ${worker.child.pid} could not be sent the config: ${error.message}`));
      });
    });
  }

  /** Reloads and admin API changes run one at a time, in arrival order (a startup counts as one). */
  #serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#reloading.then(task);
    this.#reloading = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /**
   * SIGHUP: re-read the file and apply it. The admin API passes the config it has just written
   * and validated (`given`) and learns the outcome; the steps are the same.
   */
  async #reload(given?: LoadResult): Promise<ReloadOutcome> {
    if (this.#stopping) return { ok: false, reason: 'the load balancer is shutting down', shuttingDown: true };
    const result = given ?? (await this.#readConfig());
    if (!result.ok) {
      const text = formatProblems(result.problems);
      this.#log.error({ file: this.#configPath, problems: result.problems, text }, 'reload failed');
      return { ok: false, reason: text };
    }
    let next: Config;
    try {
      next = await this.#acme.prepare(result.config);
    } catch (error) {
      const reason = `the ACME storage folder: ${error instanceof Error ? error.message : String(error)}`;
      this.#log.error({ file: this.#configPath, problems: [reason] }, 'reload failed');
      return { ok: false, reason };
    }
    const conflicts = await probeAddresses(next, listenKeys(this.#config));
    if (conflicts.length > 0) {
      this.#log.error({ file: this.#configPath, problems: conflicts }, 'reload failed');
      return { ok: false, reason: conflicts.join('; ') };
    }
    // A moved (or new) admin API binds first, so that a taken address fails the reload as a whole.
    const adminMoves = adminKey(next.admin?.listen, next.admin?.tls !== undefined) !== adminKey(this.#admin?.address, this.#admin?.secure);
    let nextAdmin: AdminServer | null = adminMoves ? null : this.#admin;
    let adminTls: AdminTls | null = null;
    try {
      if (next.admin !== undefined) {
        const refusal = this.#openPlane().listenRefusal(next);
        if (refusal !== null) throw new Error(refusal);
        adminTls = this.#adminTls(next);
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.#log.error({ file: this.#configPath, problems: [reason] }, 'reload failed');
      return { ok: false, reason };
    }
    if (adminMoves && next.admin !== undefined) {
      try {
        nextAdmin = await this.#openAdmin(next);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        this.#log.error({ file: this.#configPath, problems: [reason] }, 'reload failed');
        return { ok: false, reason };
      }
    }
    const generation = this.#generation + 1;
    // The authority knows the new limits before any worker can ask about them.
    this.#limits.workers = workerCount(next);
    this.#limits.configure(configLimitSpecs(next));
    const serial = JSON.stringify(next.gslb) === JSON.stringify(this.#config.gslb) ? this.#dnsSerial : nextSerial(this.#dnsSerial);
    const live = this.#workers.filter((w) => !w.exited);
    const applied = await Promise.allSettled(live.map((w) => this.#sendConfig(w, next, generation, serial)));
    const failure = applied.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    if (failure !== undefined) {
      // Some workers may have applied it: put them back on the running config so all agree. Their
      // zones may have served the new serial: the old config comes back under a higher one still.
      const rollbackSerial = serial === this.#dnsSerial ? serial : nextSerial(serial);
      this.#limits.workers = workerCount(this.#config);
      this.#limits.configure(configLimitSpecs(this.#config));
      await Promise.allSettled(live.filter((w) => !w.exited).map((w) => this.#sendConfig(w, this.#config, generation + 1, rollbackSerial)));
      this.#generation = generation + 1;
      this.#dnsSerial = rollbackSerial;
      if (adminMoves) void nextAdmin?.close();
      this.#log.error({ file: this.#configPath, error: String(failure.reason) }, 'reload failed');
      return { ok: false, reason: String(failure.reason) };
    }
    if (adminMoves) {
      void this.#admin?.close();
      this.#admin = nextAdmin;
      // Cookies say Secure once the HTTPS listener is the one in service, never before the reload commits.
      if (this.#plane !== null) this.#plane.secure = nextAdmin?.secure ?? false;
    } else if (adminTls !== null) {
      this.#admin?.updateCertificates(adminTls);
    }
    this.#config = next;
    this.#generation = generation;
    if (serial !== this.#dnsSerial) this.#log.info({ dnsSerial: serial }, 'the gslb section changed: zones now serve SOA serial ' + serial);
    this.#dnsSerial = serial;
    this.#gslb.apply(next.gslb);
    for (const w of live) this.#sendGslbSnapshot(w);
    this.#certificates.set(certificateFilesOf(next));
    this.#loadCertificateStatus(next);
    this.#applyAcme(next);
    this.#health.apply(next);
    for (const w of live) this.#sendHealthSnapshot(w);
    this.#agents.apply(next);
    for (const w of live) this.#sendAgentSnapshot(w);
    // A worker restarted while this reload ran was started on the old config: bring it over.
    for (const w of this.#workers) {
      if (w === undefined || w.exited || live.includes(w)) continue;
      this.#sendSnapshots(w);
      this.#sendConfig(w, next, generation, serial).catch((error: unknown) => this.#log.error({ worker: w.child.pid, error: String(error) }, 'a restarted worker could not take the reloaded config'));
    }
    await this.#resize(workerCount(next));
    this.#log.info({ file: this.#configPath, generation, workers: this.#workers.map((w) => w.child.pid) }, 'reloaded');
    // A reload of the file (SIGHUP, a changed certificate) is a version too; the API records its own.
    // Inside the serialised reload: an API change that follows cannot be recorded as this one.
    if (given === undefined) await this.#plane?.remember('sighup');
    return { ok: true, generation };
  }

  // ---- the admin API (src/admin) ---------------------------------------------------------------

  async #status(): Promise<StatusDocument> {
    // Health first (inside #observe): IPC keeps order, so every verdict in this snapshot reaches a
    // worker before the stats request does, and the counters are never older than the health beside them.
    return (await this.#observe()).status;
  }

  /**
   * PUT /api/v1/gslb/.../state: runtime state in the check driver, not the config file (an
   * operator's "put it back" after a manual-recovery hold). The driver logs the events and its
   * `change` re-templates the workers; a reload keeps the state (check-driver.ts).
   */
  async #setSiteState(fqdn: string, site: string, state: SiteState): Promise<SetSiteStateOutcome> {
    if (this.#stopping) return { ok: false, failure: { status: 503, code: ErrorCode.ADMIN_UNAVAILABLE, message: 'the load balancer is shutting down' } };
    const outcome = state === 'enabled' ? this.#gslb.enable(fqdn, site) : this.#gslb.disable(fqdn, site);
    if (!outcome.ok) return outcome;
    this.#log.info({ fqdn: outcome.fqdn, site: outcome.site, state }, `GSLB site "${outcome.site}" of ${outcome.fqdn} set to ${state} through the admin API`);
    const answers = this.#gslb.state(outcome.fqdn)!.status().answers;
    return { ok: true, fqdn: outcome.fqdn, site: outcome.site, status: apiSiteStatus(outcome.status), answers, events: outcome.events.map((e) => e.message) };
  }

  async #resize(count: number): Promise<void> {
    while (this.#workers.length < count) await this.#spawn(this.#workers.length);
    const extra = this.#workers.splice(count);
    await Promise.all(extra.map((w) => this.#drainWorker(w, DRAIN_GRACE_MS)));
  }

  #onExit(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    worker.exited = true;
    const last = this.#lastMetrics.get(worker.child.pid ?? 0);
    if (last !== undefined) {
      this.#retiredMetrics = aggregateMetrics([this.#retiredMetrics, last]);
      this.#lastMetrics.delete(worker.child.pid ?? 0);
    }
    // Its leased tokens are spent; its connection slots are free again.
    if (this.#workers[worker.slot] === worker) this.#limits.workerGone(worker.slot);
    if (this.#stopping || this.#workers[worker.slot] !== worker) return;
    const attempt = this.#restarts.get(worker.slot) ?? 0;
    this.#restarts.set(worker.slot, attempt + 1);
    const delay = RESTART_BACKOFF_MS[Math.min(attempt, RESTART_BACKOFF_MS.length - 1)]!;
    this.#log.error({ worker: worker.child.pid, code, signal, restartInMs: delay }, 'worker exited; restarting');
    setTimeout(() => {
      if (this.#stopping) return;
      this.#spawn(worker.slot).then(
        () => this.#restarts.set(worker.slot, 0),
        (err: unknown) => this.#log.error({ error: String(err) }, 'worker restart failed'),
      );
    }, delay).unref();
  }

  #drainWorker(worker: Worker, graceMs: number): Promise<void> {
    if (worker.exited) return Promise.resolve();
    return new Promise((resolve) => {
      const hard = setTimeout(() => worker.child.kill('SIGKILL'), graceMs + 2000);
      worker.child.once('exit', () => {
        clearTimeout(hard);
        resolve();
      });
      const message: ToWorker = { type: 'drain', graceMs };
      worker.child.send(message);
    });
  }

  async #shutdown(signal: string): Promise<void> {
    if (this.#stopping) return;
    this.#log.info({ signal, graceMs: DRAIN_GRACE_MS }, 'draining');
    await this.#stopAll(DRAIN_GRACE_MS);
    this.#log.info('stopped');
    process.exit(0);
  }

  async #stopAll(graceMs: number): Promise<void> {
    this.#stopping = true;
    this.#certificates.close();
    // An order in flight is left to finish or die with the process; nothing new starts.
    void this.#acme.stop();
    this.#ocsp.stop();
    this.#health.stop();
    this.#agents.stop();
    this.#gslb.stop();
    if (this.#historyTimer !== null) clearInterval(this.#historyTimer);
    await Promise.all(this.#workers.map((w) => this.#drainWorker(w, graceMs)));
  }
}

function ocspMessage(fingerprint: string, staple: Staple | null): ToWorker {
  return { type: 'ocsp', fingerprint, response: staple?.response ?? null, expires: staple?.expires ?? 0 };
}

function gslbMessage(fqdn: string, sites: SiteReport[]): ToWorker {
  return { type: 'gslb', fqdn, sites };
}

function workerCount(config: Config): number {
  return config.workers === 'auto' ? availableParallelism() : config.workers;
}
