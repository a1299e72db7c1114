/**
 * A pool as one worker runs it: its real servers, and the one pick path every engine (HTTP, TCP,
 * UDP, FTP) uses to choose one: persistence first, else the scheduler, never a server at its
 * maxConnections, the sorry server when nothing is available, and the queue when every candidate
 * is full. `take` and `release` keep the in-flight count that least-connections reads and
 * maxConnections bounds (HAProxy's take/drop connection), and wake the queue.
 *
 * Several virtual services (and rules) may share a pool: the worker runtime builds each pool once
 * per config (pool-set.ts), health and agent reports address it by name, and its lifecycle
 * (lifecycle.ts) ticks once, whoever uses it.
 */
import { realServerState } from '../config/conflicts.ts';
import type { PoolConfig, PoolRealServerConfig } from '../config/pool.ts';
import type { AgentVerdict } from '../agent/types.ts';
import type { FieldTable } from '../http/fields.ts';
import type { RequestHead } from '../http/request-head.ts';
import { Persistence } from '../persistence/persistence.ts';
import type { ClientKeys, RequestKeys } from '../persistence/types.ts';
import { AdaptiveWeights, clearAgentState } from '../scheduling/adaptive.ts';
import { createScheduler } from '../scheduling/index.ts';
import type { PickContext, Scheduler } from '../scheduling/scheduler.ts';
import { ConnectionPool } from '../upstream/connection-pool.ts';
import { WaitQueue } from './wait-queue.ts';
import { ServerLifecycle } from './lifecycle.ts';
import { RealServer } from './real-server.ts';
import { FULL, type PickRequest, type PickResult, type PoolEventSink, type PoolWaiter } from './types.ts';
import { upstreamTlsOptions } from '../upstream/upstream-tls.ts';

/**
 * Waiters passed over (each still full) in one admission before it stops: bounds the work a
 * release does to 64 picks when many waiters are persisted to full servers; the rest are tried at
 * the next release or tick (100 ms).
 */
const MAX_PASSED_OVER = 64;

export class Pool {
  readonly name: string;
  readonly config: PoolConfig;
  readonly servers: readonly RealServer[];
  readonly scheduler: Scheduler;
  /** Takes the traffic when no real server is available; not health checked, never persisted to. */
  readonly sorryServer: RealServer | null;
  /** null when off. Its tables outlive a reload that keeps the pool's name and persistence settings. */
  readonly persistence: Persistence | null;
  /** Adaptive scheduling: turns the agents' reports into weights; null unless scheduler adaptive. */
  readonly adaptive: AdaptiveWeights | null;
  readonly lifecycle: ServerLifecycle;
  /** Any real server with a maxConnections: only then can a pick be FULL. */
  readonly #limited: boolean;
  /** Reused for every scheduler pick: one object per pool, not per request. */
  readonly #context: PickContext = { clientAddress: '', exclude: null };
  readonly #queue = new WaitQueue<PoolWaiter>();
  #queued = 0;
  #admitting = false;

  constructor(config: PoolConfig, previous: Pool | null, events: PoolEventSink = () => {}, now = Date.now()) {
    this.name = config.name;
    this.config = config;
    // Keep the RealServer (and so its warm connection pool, counters and health) of a server that
    // is still configured: a reload must not cost every real server its keep-alive connections,
    // nor make a down server look up for a moment.
    const reusable = new Map<string, RealServer>();
    for (const s of previous?.servers ?? []) reusable.set(s.id, s);
    const fresh: RealServer[] = [];
    this.servers = config.realServers.map((rs, index) => {
      const made = new RealServer(index, rs.address.host, rs.address.port, rs.weight, realServerState(rs));
      made.up = startsUp(rs);
      const old = reusable.get(made.id);
      const server = old !== undefined && old.index === index ? old : made;
      // Moved in the list: the schedulers key on index, so it starts afresh and the old pool goes.
      if (old !== undefined && old !== server) old.connections?.retire();
      reusable.delete(made.id);
      const wasAvailable = server.available;
      server.configuredWeight = rs.weight;
      server.weight = rs.weight;
      server.state = realServerState(rs);
      server.maxConnections = rs.maxConnections ?? 0;
      const tls = upstreamTlsOptions(rs.tls, server.host);
      if (server.tls?.key !== tls?.key && server.connections != null) {
        // Idle connections opened with other TLS settings (or none) must not be reused.
        server.connections.retire();
        server.connections = null;
        server.tlsSession = null;
      }
      server.tls = tls;
      if (server !== made && !wasAvailable && server.available && config.slowStart > 0) fresh.push(server);
      this.#configureConnections(server);
      return server;
    });
    for (const gone of reusable.values()) gone.connections?.retire();
    this.#limited = this.servers.some((s) => s.maxConnections > 0);
    // The sorry server too keeps its warm connections across a reload.
    const oldSorry = previous?.sorryServer ?? null;
    const wanted = config.sorryServer;
    const keepSorry = oldSorry !== null && wanted !== undefined && oldSorry.host === wanted.host && oldSorry.port === wanted.port;
    if (oldSorry !== null && !keepSorry) oldSorry.connections?.retire();
    this.sorryServer = wanted === undefined ? null : keepSorry ? oldSorry : new RealServer(-1, wanted.host, wanted.port, 1, true);
    if (this.sorryServer !== null) this.#configureConnections(this.sorryServer);

    this.adaptive = config.adaptive === undefined ? null : new AdaptiveWeights(this.servers, config.adaptive);
    if (this.adaptive === null) clearAgentState(this.servers);
    this.scheduler = createScheduler(config.scheduler, this.servers);
    this.lifecycle = new ServerLifecycle(
      config.name,
      this.servers,
      config.slowStart,
      config.outlierDetection,
      this.adaptive,
      { rebuildScheduler: () => this.scheduler.rebuild(), rebuildPersistence: () => this.persistence?.rebuild() },
      events,
    );
    // Only mark the ramps' start above: the lifecycle did not exist yet.
    for (const server of fresh) server.availableSince = now;
    this.lifecycle.applyRamp(now);
    this.scheduler.rebuild();
    const keptPersistence = previous !== null && previous.name === config.name ? previous.persistence : null;
    this.persistence = config.persistence === false ? null : new Persistence(config.name, config.persistence, config.drainTimeout, this.servers, this, keptPersistence);
    // Waiters of the running pool keep their place: a reload must not drop a queue.
    if (previous !== null) for (const waiter of previous.#queue.clear()) if (waiter.inQueue) this.#queue.push(waiter);
    this.#queued = previous === null ? 0 : previous.#queued;
    if (previous !== null) previous.#queued = 0;
  }

  #configureConnections(server: RealServer): void {
    const { idle, maxIdlePerServer } = this.config.keepAlive;
    if (server.connections === null) return;
    server.connections.maxIdle = maxIdlePerServer;
    server.connections.idleTimeoutMs = idle;
  }

  /** Idle HTTP keep-alive connections to `server` (made the first time an HTTP exchange asks). */
  connectionsOf(server: RealServer): ConnectionPool {
    return (server.connections ??= new ConnectionPool(server, this.config.keepAlive.maxIdlePerServer, this.config.keepAlive.idle));
  }

  // ---- the pick path ----------------------------------------------------------------------------

  /** An HTTP request's persistence keys, read from its head (call before pick; Layer 4 reads its own). */
  readKeys(client: ClientKeys, keys: RequestKeys, head: RequestHead, fields: FieldTable): void {
    this.persistence?.read(client, keys, head, fields);
  }

  /**
   * A real server for a request or connection: the persisted one when it may serve, else the
   * scheduler's choice, skipping servers at their maxConnections; the sorry server on a first
   * attempt when nothing is available; FULL when every candidate is at its limit.
   */
  pick(request: PickRequest, now: number): PickResult {
    const persistence = this.persistence;
    const keys = request.keys;
    const ctx = this.#context;
    ctx.clientAddress = request.clientAddress;
    ctx.exclude = request.exclude;
    if (!this.#limited) return persistence === null || keys === null ? this.pickUnpersisted(ctx) : persistence.pick(keys, ctx, now);
    // Some server may be full: skip those (a rare path, so it may allocate) and pick again.
    let full = false;
    for (let i = 0; i <= this.servers.length; i++) {
      const server = persistence === null || keys === null ? this.pickUnpersisted(ctx) : persistence.pick(keys, ctx, now);
      if (server === null) return full ? FULL : null;
      if (server.maxConnections === 0 || server.inflight < server.maxConnections) return server;
      // A client persisted to a full server waits for it (queue.timeout at most): moving it would
      // rewrite its entry or cookie and lose its session on the server for a moment's load.
      if (persistence?.keptLast === true) return FULL;
      full = true;
      ctx.exclude = ctx.exclude === null ? [server] : [...ctx.exclude, server];
    }
    return FULL;
  }

  /** The scheduler's choice, else the sorry server on a first attempt (Persistence calls this too). */
  pickUnpersisted(ctx: PickContext): RealServer | null {
    const server = this.scheduler.pick(ctx);
    if (server !== null || ctx.exclude !== null) return server;
    return this.sorryServer;
  }

  /** What an HTTP response head must carry for persistence (a Set-Cookie line, or ''). */
  respond(keys: RequestKeys, buf: Buffer, fields: FieldTable, server: RealServer, now: number): string {
    return this.persistence === null ? '' : this.persistence.respond(keys, buf, fields, server, now);
  }

  /** A request or connection starts on `server`. */
  take(server: RealServer): void {
    server.inflight++;
    server.requests++;
  }

  /** It ended (exactly once per take): the slot is free, and a queued one may have it. */
  release(server: RealServer): void {
    if (server.inflight > 0) server.inflight--;
    if (this.#queued > 0) this.#admitQueued();
  }

  // ---- the queue (every candidate at its maxConnections) ------------------------------------------

  /** Wait for a slot; false when the queue is full (refuse). */
  enqueue(waiter: PoolWaiter, now: number): boolean {
    const { size, timeout } = this.config.queue;
    if (this.#queued >= size) return false;
    waiter.inQueue = true;
    waiter.queueDeadline = now + timeout;
    this.#queued++;
    this.#queue.push(waiter);
    return true;
  }

  /** A waiter gives up (its client left): it no longer counts toward the queue's size. */
  leaveQueue(waiter: PoolWaiter): void {
    if (!waiter.inQueue) return;
    waiter.inQueue = false;
    this.#queued--;
  }

  get queued(): number {
    return this.#queued;
  }

  /**
   * Oldest first, while servers take them. A waiter that finds no slot keeps its place; the ones
   * behind it are still tried while some server has a free slot, since a waiter persisted to a
   * full server must not hold up those that could use another (HAProxy's per-server queues).
   */
  #admitQueued(): void {
    if (this.#admitting) return;
    this.#admitting = true;
    try {
      const queue = this.#queue;
      let passedOver = 0;
      for (let i = 0; i < queue.size && this.#queued > 0; i++) {
        const waiter = queue.at(i)!;
        if (!waiter.inQueue) continue;
        waiter.inQueue = false;
        this.#queued--;
        if (waiter.onPoolSlot(this)) continue;
        waiter.inQueue = true;
        this.#queued++;
        if (++passedOver > MAX_PASSED_OVER || !this.#hasFreeSlot()) break;
      }
      // Waiters served or gone leave from the front; the ones passed over keep their order.
      while (queue.size > 0 && !queue.peek()!.inQueue) queue.shift();
    } finally {
      this.#admitting = false;
    }
  }

  /** May some server take one more (its maxConnections not reached)? Only asked while waiters are passed over. */
  #hasFreeSlot(): boolean {
    for (const s of this.servers) if (s.up && (s.maxConnections === 0 || s.inflight < s.maxConnections)) return true;
    return false;
  }

  #expireQueued(now: number): void {
    if (this.#queued === 0) return;
    // Deadlines grow with arrival, except across a reload that changed the timeout: walk them all.
    for (const waiter of this.#queue.snapshot()) {
      if (waiter.inQueue && waiter.queueDeadline <= now) {
        this.leaveQueue(waiter);
        waiter.onQueueTimeout();
      }
    }
  }

  // ---- what the control plane and the engines report ----------------------------------------------

  setHealth(serverId: string, up: boolean, reason: string, now = Date.now()): boolean {
    return this.lifecycle.setHealth(serverId, up, reason, now);
  }

  setAgent(serverId: string, verdict: AgentVerdict, now = Date.now()): boolean {
    return this.lifecycle.setAgent(serverId, verdict, now);
  }

  noteSuccess(server: RealServer): void {
    this.lifecycle.noteSuccess(server);
  }

  noteFailure(server: RealServer, reason: string, now = Date.now()): void {
    this.lifecycle.noteFailure(server, reason, now);
  }

  // ---- time ---------------------------------------------------------------------------------

  /** The worker's tick, once per pool: ejections, ramps, persistence expiry, the queue. */
  tick(now: number): void {
    this.lifecycle.tick(now);
    // Expires persistence entries, and rebuilds its hash after any change of availability.
    this.persistence?.tick(now);
    this.#expireQueued(now);
    // A server that came back (health, ejection over) may take queued ones.
    if (this.#queued > 0) this.#admitQueued();
    this.sweep(now);
  }

  /** Close idle upstream connections past their time. */
  sweep(now: number): void {
    for (const s of this.servers) s.connections?.sweep(now);
    this.sorryServer?.connections?.sweep(now);
  }

  closeIdle(): void {
    for (const s of this.servers) s.connections?.closeIdle();
    this.sorryServer?.connections?.closeIdle();
  }

  /** This pool left the config and its last user is gone: no connection of it is needed again. */
  retire(): void {
    for (const s of this.servers) s.connections?.retire();
    this.sorryServer?.connections?.retire();
  }
}

/** Before any check has run: up, unless the health check says to start down. */
function startsUp(rs: PoolRealServerConfig): boolean {
  const check = rs.healthCheck as { type: string; startAs: string } | undefined;
  return check === undefined || check.type === 'none' || check.startAs !== 'down';
}
