/**
 * Failed-login rate limiting, per user name and per client address, in memory.
 *
 * A key (user or address) that reaches its limit within the window (5 failures per user, 20 per
 * address, in 15 minutes) is locked for a whole window from that last failure: further attempts
 * are refused without checking the password, so at most 5 guesses per user name per 15 minutes
 * (about 500 a day) reach scrypt. The address limit is higher because several people share one
 * NAT address; an IPv6 client is counted by its /64, since one host usually holds a whole /64.
 * A success clears the user name's count.
 *
 * Strangers choose the keys (any name, any address), so memory is bounded: at most 10,000 keys.
 * When full, the least recently failed key that is not locked goes first; a locked key goes only
 * when every key is locked, so flooding the table with new names cannot unlock the admin's name.
 *
 * In memory on purpose: a restart forgets the counts, which costs an attacker a restart they do
 * not control; sharing counts across processes would put a database write on every failed login.
 */
import { formatBytes, maskBytes, parseIpInto } from '../../ip/bytes.ts';

export interface LimitRule {
  failures: number;
  windowMs: number;
}

export interface LoginLimiterOptions {
  now?: () => number;
  perUser?: LimitRule;
  perAddress?: LimitRule;
  /** Most keys (users and addresses together) kept in memory. */
  maxKeys?: number;
}

export type LimitVerdict = { ok: true } | { ok: false; scope: 'user' | 'address'; retryAfterSeconds: number };

const WINDOW_MS = 15 * 60_000;
export const DEFAULT_PER_USER: LimitRule = { failures: 5, windowMs: WINDOW_MS };
export const DEFAULT_PER_ADDRESS: LimitRule = { failures: 20, windowMs: WINDOW_MS };
export const DEFAULT_MAX_KEYS = 10_000;
/** User names longer than this cannot exist (users.ts allows 64); the rest of a longer one is not kept. */
const MAX_USER_KEY_LENGTH = 65;
const IPV6_PREFIX = 64;

interface Entry {
  failures: number;
  windowStart: number;
  /** 0 when not locked. */
  lockedUntil: number;
}

export class LoginLimiter {
  readonly #now: () => number;
  readonly #perUser: LimitRule;
  readonly #perAddress: LimitRule;
  readonly #maxKeys: number;
  /** Keyed "u:NAME" and "a:ADDRESS"; Map order is least recently failed first. */
  readonly #entries = new Map<string, Entry>();

  constructor(options: LoginLimiterOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#perUser = options.perUser ?? DEFAULT_PER_USER;
    this.#perAddress = options.perAddress ?? DEFAULT_PER_ADDRESS;
    this.#maxKeys = Math.max(1, options.maxKeys ?? DEFAULT_MAX_KEYS);
  }

  /** May this user name try to log in from this address now? */
  check(user: string, address: string): LimitVerdict {
    const now = this.#now();
    const userLock = this.#lockedFor(userKey(user), now);
    const addressLock = this.#lockedFor(addressKey(address), now);
    if (userLock === 0 && addressLock === 0) return { ok: true };
    const scope = userLock >= addressLock ? 'user' : 'address';
    return { ok: false, scope, retryAfterSeconds: Math.ceil(Math.max(userLock, addressLock) / 1000) };
  }

  /**
   * Count a failed attempt. The authenticator counts each attempt as failed before it checks the
   * password (scrypt takes a while, and parallel guesses must not all slip in before the first
   * failure is counted), then calls recordSuccess when it was not.
   */
  recordFailure(user: string, address: string): void {
    const now = this.#now();
    this.#fail(userKey(user), this.#perUser, now);
    this.#fail(addressKey(address), this.#perAddress, now);
  }

  /** A successful login: the user name's count is cleared and the address forgiven the attempt recordFailure counted. */
  recordSuccess(user: string, address: string): void {
    this.#entries.delete(userKey(user));
    const entry = this.#entries.get(addressKey(address));
    if (entry === undefined) return;
    entry.failures = Math.max(0, entry.failures - 1);
    if (entry.failures < this.#perAddress.failures) entry.lockedUntil = 0;
    if (entry.failures === 0) this.#entries.delete(addressKey(address));
  }

  /** Keys tracked now (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  /** Milliseconds until `key` may try again; 0 when it may now. */
  #lockedFor(key: string, now: number): number {
    const entry = this.#entries.get(key);
    return entry === undefined || entry.lockedUntil <= now ? 0 : entry.lockedUntil - now;
  }

  #fail(key: string, rule: LimitRule, now: number): void {
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      this.#makeRoom(now);
      entry = { failures: 0, windowStart: now, lockedUntil: 0 };
    } else {
      // Re-inserted below, so that Map order stays least recently failed first.
      this.#entries.delete(key);
      if (entry.lockedUntil <= now && now - entry.windowStart >= rule.windowMs) entry = { failures: 0, windowStart: now, lockedUntil: 0 };
    }
    entry.failures++;
    if (entry.failures >= rule.failures) entry.lockedUntil = now + rule.windowMs;
    this.#entries.set(key, entry);
  }

  #makeRoom(now: number): void {
    if (this.#entries.size < this.#maxKeys) return;
    // O(keys) only when full; each call follows a failed login that already cost a scrypt hash (~50 ms), so 10,000 steps are noise.
    for (const [key, entry] of this.#entries) {
      if (entry.lockedUntil <= now) {
        this.#entries.delete(key);
        return;
      }
    }
    const oldest = this.#entries.keys().next();
    if (oldest.done !== true) this.#entries.delete(oldest.value);
  }
}

function userKey(user: string): string {
  return `u:${user.slice(0, MAX_USER_KEY_LENGTH)}`;
}

/** "a:10.1.2.3" (IPv4-mapped IPv6 too), "a:2001:db8:1:2::" (the /64 of an IPv6 address). */
function addressKey(address: string): string {
  const bytes = new Uint8Array(16);
  const family = parseIpInto(address, bytes);
  if (family === 0) return `a:${address.slice(0, 64)}`;
  if (family === 6) maskBytes(bytes, IPV6_PREFIX);
  return `a:${formatBytes(family, bytes)}`;
}
