/**
 * Persistence of one pool in one worker: reads the keys of a request, chooses the
 * server it is persisted to (or a new one), and says what the response must carry. Built at
 * config load by VirtualService; the engine calls `read` while the request head is parsed, `pick`
 * instead of the scheduler, and `respond` while it rewrites the response head.
 *
 * The rules it applies on top of the methods (one module per type, types.ts):
 * - Health: a client persisted to a server that is down, disabled or ejected moves; its entry
 *   (and an active cookie) is rewritten to the new server.
 * - Drain: a draining server is not available to new clients, but clients persisted to it keep
 *   reaching it until their entry or cookie expires or drainTimeout has passed since it started
 *   draining. Nothing renews or creates persistence to a draining server, so a drain ends within
 *   one persistence timeout even when drainTimeout is 0s.
 * - Fallback: when the request lacks the type's key (or carries a cookie that is unknown, forged
 *   or expired), the fallback type decides; without one, the scheduler.
 * - First choice: source-ip, header, query-item and url-hash hash the key over the available
 *   servers (Maglev, as the source-ip-hash scheduler) before remembering it, so that the workers
 *   of one node (SO_REUSEPORT spreads a client's connections over them) and several nodes choose
 *   the same server until the set of available servers changes, without sharing tables.
 * - The sorry server is never persisted to.
 */
import { ClientKeySlot } from './client-key-slot.ts';
import type { PersistenceConfig } from '../config/persistence.ts';
import type { FieldTable } from '../http/fields.ts';
import type { RequestHead } from '../http/request-head.ts';
import type { PickContext, Scheduler } from '../scheduling/scheduler.ts';
import { sourceIpHash } from '../scheduling/source-ip-hash.ts';
import type { RealServer } from '../pool/real-server.ts';
import { ActiveCookie } from './active-cookie.ts';
import { persistenceModules } from './modules.ts';
import { LruTable } from './lru-table.ts';
import type { LearningMethod } from './server-cookie.ts';
import type { ClientKeys, KeyHash, MethodEnv, PersistenceMethod, RequestKeys, ServerSlots } from './types.ts';

const NO_REQUEST = Object.freeze({});

/** Expired entries removed per table per worker tick (100 ms): 100,000 a second, a few ms of work at most per tick. */
const SWEEP_BUDGET = 10_000;

/**
 * A Layer 4 connection's persistence keys: its client's (ClientKeys) and the one request a
 * connection makes (RequestKeys). An HTTP exchange holds its RequestKeys itself and shares its
 * connection's ClientKeys (src/exchange/exchange.ts).
 */
export class PersistSlot extends ClientKeySlot implements RequestKeys {
  key: string | null = null;
  fallbackKey: string | null = null;
  setCookie = '';
}

/** Chooses a server when persistence does not: the pool (its scheduler, then its sorry server). */
export interface ServicePicker {
  pickUnpersisted(ctx: PickContext): RealServer | null;
}

/** What outlives a reload that keeps the virtual service's name and persistence settings. */
class PersistenceState {
  readonly fingerprint: string;
  /** Server id → slot number stored in the tables. */
  readonly slots = new Map<string, number>();
  readonly primary: LruTable | null;
  readonly fallback: LruTable | null;

  constructor(fingerprint: string, config: PersistenceConfig) {
    this.fingerprint = fingerprint;
    const tableFor = (type: string | null): LruTable | null =>
      type !== null && persistenceModules.get(type)!.usesTable ? new LruTable(config.maxEntries, config.timeout) : null;
    this.primary = tableFor(config.type);
    this.fallback = tableFor(config.fallback);
  }
}

export class Persistence implements ServerSlots {
  readonly config: PersistenceConfig;
  readonly #state: PersistenceState;
  /** When each draining server (by id) started draining, as this worker saw it. */
  readonly #drainingSince: Map<string, number>;
  readonly #servers: readonly RealServer[];
  readonly #bySlot: (RealServer | null)[] = [];
  readonly #slotByIndex: Int32Array;
  readonly #primary: PersistenceMethod;
  readonly #fallback: PersistenceMethod | null;
  /** The primary type hashes a present key itself, so the fallback is needed only when the key is absent. */
  readonly #primaryChooses: boolean;
  readonly #cookie: ActiveCookie | null;
  readonly #learner: LearningMethod | null;
  readonly #scheduler: ServicePicker;
  readonly #drainTimeout: number;
  /** null when neither the type nor the fallback hashes (a cookie type alone): no Maglev table to build. */
  readonly #hash: Scheduler | null;
  readonly #hashContext: { clientAddress: string; exclude: readonly RealServer[] | null } = { clientAddress: '', exclude: null };
  /** Each server's weight when available, else 0, at the last hash rebuild: tick compares to catch changes made without rebuild(). */
  readonly #hashedWeights: Float64Array;

  constructor(poolName: string, config: PersistenceConfig, drainTimeout: number, servers: readonly RealServer[], scheduler: ServicePicker, previous: Persistence | null) {
    this.config = config;
    this.#servers = servers;
    this.#scheduler = scheduler;
    this.#drainTimeout = drainTimeout;
    const fingerprint = JSON.stringify([poolName, config]);
    this.#state = previous !== null && previous.#state.fingerprint === fingerprint ? previous.#state : new PersistenceState(fingerprint, config);
    this.#drainingSince = previous !== null ? previous.#drainingSince : new Map();

    const slots = this.#state.slots;
    this.#slotByIndex = new Int32Array(servers.length);
    for (const server of servers) {
      let slot = slots.get(server.id);
      if (slot === undefined) {
        slot = slots.size;
        slots.set(server.id, slot);
      }
      this.#slotByIndex[server.index] = slot;
      this.#bySlot[slot] = server;
    }
    for (let i = 0; i < slots.size; i++) this.#bySlot[i] ??= null;

    const primaryModule = persistenceModules.get(config.type)!;
    const fallbackModule = config.fallback === null ? null : persistenceModules.get(config.fallback)!;
    this.#hash = primaryModule.firstChoice === 'hash' || fallbackModule?.firstChoice === 'hash' ? sourceIpHash.create(servers) : null;
    this.#hashedWeights = new Float64Array(servers.length);
    this.#noteHashedWeights();
    const hash: KeyHash = {
      pick: (key, exclude) => {
        const ctx = this.#hashContext;
        ctx.clientAddress = key;
        ctx.exclude = exclude;
        return this.#hash!.pick(ctx);
      },
    };
    const env = (table: LruTable | null): MethodEnv => ({ config, poolName, table, servers: this, hash });
    this.#primary = primaryModule.create(env(this.#state.primary));
    this.#fallback = fallbackModule === null ? null : fallbackModule.create(env(this.#state.fallback));
    this.#primaryChooses = primaryModule.firstChoice === 'hash';
    this.#cookie = this.#primary instanceof ActiveCookie ? this.#primary : null;
    if (this.#cookie !== null) for (const server of servers) this.#cookie.addServer(server);
    this.#learner = config.type === 'server-cookie' ? (this.#primary as LearningMethod) : null;
  }

  // ---- ServerSlots --------------------------------------------------------------------------

  slotOf(server: RealServer): number {
    return server.index >= 0 && server.index < this.#slotByIndex.length ? this.#slotByIndex[server.index]! : -1;
  }

  serverAt(slot: number): RealServer | null {
    return this.#bySlot[slot] ?? null;
  }

  // ---- the request path -----------------------------------------------------------------------

  /** Read this request's keys from its head. */
  read(client: ClientKeys, request: RequestKeys, head: RequestHead, fields: FieldTable): void {
    const key = this.#primary.key(head, fields, client, client.lastKey);
    request.key = key;
    if (key !== null) client.lastKey = key;
    const fallback = this.#fallback;
    const fallbackKey = fallback === null || (key !== null && this.#primaryChooses) ? null : fallback.key(head, fields, client, client.lastFallbackKey);
    request.fallbackKey = fallbackKey;
    if (fallbackKey !== null) client.lastFallbackKey = fallbackKey;
    request.setCookie = '';
  }

  /**
   * A Layer 4 connection's keys: its address, and what its first bytes carried (slot.connectionKey).
   * Only the types a Layer 4 service may use (config/l4-services.ts) get here, and they read
   * neither the request head nor its fields.
   */
  readConnection(slot: PersistSlot): void {
    this.read(slot, slot, NO_REQUEST as RequestHead, NO_REQUEST as FieldTable);
  }

  /**
   * Did the last pick return the server the request was already persisted to (rather than a new
   * choice)? The pool then waits for that server when it is at its maxConnections, instead of
   * moving the client and losing its session (HAProxy queues it on the server).
   */
  keptLast = false;

  /** The server for this request: the one it is persisted to when that may serve it, else a new choice, remembered. */
  pick(slot: RequestKeys, ctx: PickContext, now: number): RealServer | null {
    slot.setCookie = '';
    this.keptLast = false;
    const firstAttempt = ctx.exclude === null;
    const key = slot.key;
    if (key !== null) {
      const primary = this.#primary;
      if (firstAttempt) {
        const known = primary.lookup(key, now);
        if (known !== null && this.#keeps(known, now)) {
          if (known.state !== 'drain') {
            primary.remember(key, known, now);
            const cookie = this.#cookie;
            if (cookie !== null && cookie.needsRefresh(now)) slot.setCookie = cookie.setCookie(known, now);
          }
          this.keptLast = true;
          return known;
        }
      }
      // Unknown, expired, or its server may not serve (down, disabled, retried): choose again.
      const chosen = primary.choose(key, ctx.exclude);
      if (chosen !== null) return this.#persistTo(slot, chosen, now);
    }
    const fallback = this.#fallback;
    const fallbackKey = slot.fallbackKey;
    if (fallback !== null && fallbackKey !== null) {
      const known = firstAttempt ? fallback.lookup(fallbackKey, now) : null;
      if (known !== null && this.#keeps(known, now)) {
        this.keptLast = true;
        if (known.state === 'drain') return known;
        fallback.remember(fallbackKey, known, now);
        return this.#persistTo(slot, known, now);
      }
      const chosen = fallback.choose(fallbackKey, ctx.exclude) ?? this.#scheduler.pickUnpersisted(ctx);
      if (chosen !== null && chosen.index >= 0) fallback.remember(fallbackKey, chosen, now);
      return this.#persistTo(slot, chosen, now);
    }
    return this.#persistTo(slot, this.#scheduler.pickUnpersisted(ctx), now);
  }

  /** Persist this request's key to `server` (a new choice), and set the cookie that says so. */
  #persistTo(slot: RequestKeys, server: RealServer | null, now: number): RealServer | null {
    // The sorry server takes the traffic only while nothing else can: no one is persisted to it.
    if (server === null || server.index < 0 || server.state === 'drain') return server;
    const key = slot.key;
    if (key !== null) this.#primary.remember(key, server, now);
    const cookie = this.#cookie;
    if (cookie !== null) slot.setCookie = cookie.setCookie(server, now);
    return server;
  }

  /** May a client persisted to `server` keep reaching it? */
  #keeps(server: RealServer, now: number): boolean {
    if (server.available) return true;
    if (!server.up || server.ejectedUntil !== 0) return false;
    // Enabled with weight 0: no new clients, but the persisted ones stay (as in a drain without end).
    if (server.state === 'enabled') return true;
    if (server.state !== 'drain') return false;
    if (this.#drainTimeout === 0) return true;
    let since = this.#drainingSince.get(server.id);
    if (since === undefined) {
      since = now;
      this.#drainingSince.set(server.id, now);
    }
    return now - since < this.#drainTimeout;
  }

  /**
   * What the response head must carry: the Set-Cookie line for an active cookie ('' for none).
   * A server-cookie learns here the value the real server sets. `buf` and `fields` hold the
   * response head (scratch, valid during this call).
   */
  respond(slot: RequestKeys, buf: Buffer, fields: FieldTable, server: RealServer, now: number): string {
    const learner = this.#learner;
    if (learner !== null && server.index >= 0 && server.state !== 'drain') {
      const value = learner.learn(buf, fields);
      if (value !== null) learner.remember(value, server, now);
    }
    return slot.setCookie;
  }

  // ---- time and change ----------------------------------------------------------------------

  /** Recompute the consistent hash after a change of availability or weight (with the scheduler's rebuild). */
  rebuild(): void {
    this.#hash?.rebuild();
    this.#noteHashedWeights();
  }

  /** The worker's tick (100 ms): expire entries, note drain starts, and catch availability changes made without rebuild(). */
  tick(now: number): void {
    this.#state.primary?.sweep(now, SWEEP_BUDGET);
    this.#state.fallback?.sweep(now, SWEEP_BUDGET);
    const draining = this.#drainingSince;
    let changed = false;
    for (const server of this.#servers) {
      if (server.state === 'drain') {
        if (!draining.has(server.id)) draining.set(server.id, now);
      } else if (draining.size > 0) {
        draining.delete(server.id);
      }
      if (this.#hashedWeights[server.index] !== (server.available ? server.weight : 0)) changed = true;
    }
    if (changed) this.rebuild();
  }

  #noteHashedWeights(): void {
    for (const server of this.#servers) this.#hashedWeights[server.index] = server.available ? server.weight : 0;
  }

  /** Entries held in this worker's tables (for the status view). */
  get entries(): number {
    return (this.#state.primary?.size ?? 0) + (this.#state.fallback?.size ?? 0);
  }
}
