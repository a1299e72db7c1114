/**
 * What a worker answers ACME challenges with: it reads them from the storage folder, where the
 * supervisor of this node (or of another node sharing the folder) published them just before
 * telling the CA to look. Files, not IPC, so that every worker of every node answers the same,
 * whichever one the CA's connection reaches.
 *
 * A stranger can ask for any token or offer acme-tls/1 for any name; what that costs is bounded:
 *
 * - Only names of the config's acme blocks are looked up at all (a map lookup decides first).
 * - A token must be base64url of 22-128 characters (paths.ts TOKEN_PATTERN) before it becomes
 *   a path; nothing else reaches the file system.
 * - Every lookup, found or not, is remembered: a miss for MISS_TTL_MS (1 s), an http-01 answer
 *   for HTTP_HIT_TTL_MS (10 s), a tls-alpn-01 context for ALPN_HIT_TTL_MS (1 s: a new order for
 *   the same name brings a new certificate). At most MAX_REMEMBERED (1,024) entries, oldest out.
 * - At most MAX_READS_PER_SECOND (20) file reads start per second per worker, and 8 at once;
 *   past that a lookup is a miss without reading. An order needs one or two reads per worker, so
 *   a flood of random tokens can at worst delay a validation (the CA's check fails, and the
 *   manager retries with back-off); it cannot make the worker read the disk faster than that.
 *
 * The supervisor waits SETTLE_MS (issuer.ts, 1.5 s, longer than a miss is remembered) between
 * publishing a challenge and asking the CA to check it, so a miss remembered from a probe just
 * before the file appeared has expired when the CA comes.
 */
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { VirtualServiceConfig } from '../config/schema.ts';
import { isCertificate, isPrivateKey, pemBlocks } from '../tls/pem.ts';
import { alpnChallengeFile, httpChallengeFile, TOKEN_PATTERN } from './paths.ts';
import type { HttpChallenge } from './storage.ts';

export const MISS_TTL_MS = 1_000;
export const HTTP_HIT_TTL_MS = 10_000;
export const ALPN_HIT_TTL_MS = 1_000;
export const MAX_REMEMBERED = 1_024;
export const MAX_READS_PER_SECOND = 20;
export const MAX_READS_IN_FLIGHT = 8;
/** RFC 8737 3: the ALPN protocol of a tls-alpn-01 validation. */
export const ACME_TLS_ALPN = 'acme-tls/1';
/** RFC 8555 8.3: where an http-01 challenge is fetched. */
export const ACME_CHALLENGE_PATH = '/.well-known/acme-challenge/';

type Done<T> = (value: T | null) => void;

interface Remembered<T> {
  value: T | null;
  expires: number;
}

export interface ChallengeStoreOptions {
  now?: () => number;
  read?: (file: string) => Promise<Buffer>;
}

/** The acme names of a config (https services' tls.acme), each with its storage folder. */
export function acmeNamesOf(services: readonly VirtualServiceConfig[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const vs of services) {
    const acme = vs.protocol === 'https' ? vs.tls.acme : undefined;
    if (acme === undefined) continue;
    for (const name of acme.names) if (!names.has(name)) names.set(name, acme.storage);
  }
  return names;
}

export class AcmeChallengeStore {
  /** name → its storage folder. */
  readonly #names: ReadonlyMap<string, string>;
  readonly #now: () => number;
  readonly #read: (file: string) => Promise<Buffer>;
  readonly #remembered = new Map<string, Remembered<unknown>>();
  readonly #pending = new Map<string, Array<Done<unknown>>>();
  #readsInFlight = 0;
  #budget = MAX_READS_PER_SECOND;
  #budgetAt = 0;
  /** File reads started (for tests and the curious). */
  reads = 0;

  constructor(names: ReadonlyMap<string, string>, options: ChallengeStoreOptions = {}) {
    this.#names = names;
    this.#now = options.now ?? Date.now;
    this.#read = options.read ?? ((file) => readFile(file));
  }

  /** One per config with acme names; null without any, so the data path carries nothing. */
  static fromServices(services: Parameters<typeof acmeNamesOf>[0], options?: ChallengeStoreOptions): AcmeChallengeStore | null {
    const names = acmeNamesOf(services);
    return names.size === 0 ? null : new AcmeChallengeStore(names, options);
  }

  /** Whether `name` (lowercase) is an acme name of the config. */
  covers(name: string): boolean {
    return this.#names.has(name);
  }

  /**
   * The key authorization for an http-01 `token` requested with Host `host`: a string at once
   * when known, null at once when there is none (or not for this host), undefined when the file
   * must be read first, and then `done` is called once with the string or null.
   */
  httpAnswer(host: string, token: string, done: Done<string>): string | null | undefined {
    const name = host.endsWith('.') ? host.slice(0, -1) : host;
    const storage = this.#names.get(name);
    if (storage === undefined || !TOKEN_PATTERN.test(token)) return null;
    const found = this.#lookup<HttpChallenge>(`h\0${storage}\0${token}`, HTTP_HIT_TTL_MS, () => httpChallengeFile(storage, token), parseHttpChallenge, (challenge) =>
      done(challenge !== null && challenge.name === name ? challenge.keyAuthorization : null),
    );
    if (found === undefined) return undefined;
    // A token is answered only under the name it was issued for.
    return found !== null && found.name === name ? found.keyAuthorization : null;
  }

  /**
   * The tls-alpn-01 challenge context for `name` (lowercase), when an order for it is pending: as
   * httpAnswer, a context or null at once, or undefined and `done` later.
   */
  alpnContext(name: string, done: Done<SecureContext>): SecureContext | null | undefined {
    const storage = this.#names.get(name);
    if (storage === undefined) return null;
    return this.#lookup<SecureContext>(`a\0${name}`, ALPN_HIT_TTL_MS, () => alpnChallengeFile(storage, name), parseAlpnContext, done);
  }

  #lookup<T>(key: string, hitTtl: number, file: () => string, parse: (bytes: Buffer) => T | null, done: Done<T>): T | null | undefined {
    const now = this.#now();
    const known = this.#remembered.get(key);
    if (known !== undefined && known.expires > now) return known.value as T | null;
    const waiting = this.#pending.get(key);
    if (waiting !== undefined) {
      waiting.push(done as Done<unknown>);
      return undefined;
    }
    if (!this.#mayRead(now)) return null;
    const callbacks: Array<Done<unknown>> = [done as Done<unknown>];
    this.#pending.set(key, callbacks);
    this.#readsInFlight++;
    this.reads++;
    this.#read(file()).then(
      (bytes) => this.#settle(key, safely(parse, bytes), hitTtl, MISS_TTL_MS),
      () => this.#settle(key, null, hitTtl, MISS_TTL_MS),
    );
    return undefined;
  }

  #settle(key: string, value: unknown, hitTtl: number, missTtl: number): void {
    this.#readsInFlight--;
    const callbacks = this.#pending.get(key) ?? [];
    this.#pending.delete(key);
    this.#remember(key, value, this.#now() + (value === null ? missTtl : hitTtl));
    for (const done of callbacks) done(value);
  }

  #remember(key: string, value: unknown, expires: number): void {
    this.#remembered.delete(key);
    if (this.#remembered.size >= MAX_REMEMBERED) {
      const oldest = this.#remembered.keys().next();
      if (oldest.done !== true) this.#remembered.delete(oldest.value);
    }
    this.#remembered.set(key, { value, expires });
  }

  /** The read budget: MAX_READS_PER_SECOND, refilled each second, and MAX_READS_IN_FLIGHT at once. */
  #mayRead(now: number): boolean {
    if (now - this.#budgetAt >= 1_000) {
      this.#budget = MAX_READS_PER_SECOND;
      this.#budgetAt = now;
    }
    if (this.#budget <= 0 || this.#readsInFlight >= MAX_READS_IN_FLIGHT) return false;
    this.#budget--;
    return true;
  }
}

function safely<T>(parse: (bytes: Buffer) => T | null, bytes: Buffer): T | null {
  try {
    return parse(bytes);
  } catch {
    return null;
  }
}

function parseHttpChallenge(bytes: Buffer): HttpChallenge | null {
  const parsed = JSON.parse(bytes.toString('utf8')) as Partial<HttpChallenge>;
  return typeof parsed.name === 'string' && typeof parsed.keyAuthorization === 'string' ? { name: parsed.name, keyAuthorization: parsed.keyAuthorization } : null;
}

/** The key and the challenge certificate, one PEM file (storage.ts publishAlpnChallenge). */
function parseAlpnContext(bytes: Buffer): SecureContext | null {
  const blocks = pemBlocks(bytes.toString('latin1'));
  const key = blocks.find(isPrivateKey);
  const cert = blocks.find(isCertificate);
  return key === undefined || cert === undefined ? null : createSecureContext({ key: key.text, cert: cert.text });
}
