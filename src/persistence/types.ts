/**
 * Types only: the shapes persistence methods share, apart from the code (HAProxy's -t.h split).
 */
import type { PersistenceConfig, PersistenceType } from '../config/persistence.ts';
import type { FieldTable } from '../http/fields.ts';
import type { RequestHead } from '../http/request-head.ts';
import type { RealServer } from '../pool/real-server.ts';
import type { LruTable } from './lru-table.ts';

/**
 * One persistence type: where its key comes from and how a key maps to a real server. The
 * Persistence orchestrator (persistence.ts) applies health, drain, fallback and the cookie; a
 * method only knows its key and its table.
 */
export interface PersistenceMethod {
  readonly type: PersistenceType;
  /**
   * This request's key, or null when it carries none. `head` and `fields` are the worker's
   * scratch, valid during this call only: the returned string is all that survives. `previous`
   * is this method's key of the connection's previous request: return that very string when the
   * bytes are the same (request-keys.ts).
   */
  key(head: RequestHead, fields: FieldTable, client: ClientKeys, previous: string | null): string | null;
  /** The server `key` is persisted to, or null (unknown, expired, forged, or a server no longer configured). Health is not checked here. */
  lookup(key: string, now: number): RealServer | null;
  /** Persist `key` to `server` from `now` on: a new entry, or the one `lookup` just found, renewed. */
  remember(key: string, server: RealServer, now: number): void;
  /**
   * The first choice for a key not known yet: a consistent hash of the key over the available
   * servers, so that workers and nodes choose alike; null leaves it to the fallback or the scheduler.
   */
  choose(key: string, exclude: readonly RealServer[] | null): RealServer | null;
}

/** What a method may keep per client connection: the source-ip key is computed once per connection. */
export interface ClientKeys {
  readonly clientIp: string;
  /**
   * The keys this connection's previous request carried: a keep-alive client repeats its cookie
   * or header, and methods hand back the same string when the bytes are the same (request-keys.ts).
   */
  lastKey: string | null;
  lastFallbackKey: string | null;
  /**
   * A key read from the connection's first bytes by a Layer 4 service (rdp-cookie: the user name
   * of an RDP Connection Request); null when there is none.
   */
  connectionKey: string | null;
  sourceKey: string;
  /** The masks sourceKey was computed with (-1: not yet); a reload may change them. */
  sourceMask4: number;
  sourceMask6: number;
}

/** One request's keys and what its response must carry (an HTTP exchange holds these). */
export interface RequestKeys {
  /** This request's key for the type, and for the fallback; null when absent. */
  key: string | null;
  fallbackKey: string | null;
  /** The Set-Cookie field line the response carries ('' for none). */
  setCookie: string;
}

/** What a method is built from: its settings, its table (kept across reloads) and the shared services. */
export interface MethodEnv {
  readonly config: PersistenceConfig;
  /** The pool's name (an inline pool is named after its virtual service): active cookies are signed for it. */
  readonly poolName: string;
  /** null for the types without a table (active-cookie, url-hash). */
  readonly table: LruTable | null;
  readonly servers: ServerSlots;
  /** Maglev consistent hash over the available servers (the source-ip-hash scheduler keyed by any text). */
  readonly hash: KeyHash;
}

/** Stable small integers for real servers, kept across reloads so that table entries outlive a reload. */
export interface ServerSlots {
  slotOf(server: RealServer): number;
  /** The configured server in `slot`, or null when it left the config. */
  serverAt(slot: number): RealServer | null;
}

export interface KeyHash {
  pick(key: string, exclude: readonly RealServer[] | null): RealServer | null;
}

export interface PersistenceModule {
  readonly type: PersistenceType;
  /** Keeps a key → server table (bounded by maxEntries, expiring after timeout). */
  readonly usesTable: boolean;
  /**
   * How a key seen for the first time gets its server: 'hash', a consistent hash of the key
   * (`choose`), so that workers and nodes agree; 'scheduler', the fallback or the scheduler
   * (a cookie names its server only once a response has set it).
   */
  readonly firstChoice: 'hash' | 'scheduler';
  create(env: MethodEnv): PersistenceMethod;
}
