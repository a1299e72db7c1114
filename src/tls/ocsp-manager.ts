/**
 * OCSP stapling's fetcher, in the supervisor: one per process whatever the number of workers (N
 * workers fetching would mean N requests to the CA for each certificate). It fetches each
 * certificate's response in the background, checks it (ocsp-response.ts) and hands the good ones
 * to the workers (`onStaple`), which staple them from memory. Nothing waits for it: the listeners
 * start before the first fetch, and a handshake staples what is there or nothing.
 *
 * - `apply(targets)` at every load: certificates new to it are fetched at once, those gone are
 *   forgotten (and their staples withdrawn); a certificate kept keeps its response.
 * - A good response is kept until it expires (nextUpdate) and refreshed halfway; a fetch that fails
 *   keeps the last good one and is retried with back-off (ocsp-schedule.ts); an expired one is
 *   withdrawn, never stapled. Revoked: logged as an error and withdrawn; asked again on schedule.
 * - At most MAX_CONCURRENT_FETCHES at a time, so a config of 1,000 certificates does not send 1,000
 *   requests to one responder in the same instant.
 *
 * The clock and the HTTP exchange are injected: the hermetic tests drive both.
 */
import type { HealthLogger } from '../health/index.ts';
import { fetchOcsp, type OcspFetch } from './ocsp-fetch.ts';
import { certId, ocspRequest } from './ocsp-request.ts';
import { checkResponse } from './ocsp-response.ts';
import { backoffDelay, refreshAt } from './ocsp-schedule.ts';
import type { OcspTarget } from './ocsp-targets.ts';
import { OcspCode, type OcspCertificateStatus, type Staple } from './ocsp.ts';
import { MAX_SLEEP_MS, systemClock, type BackgroundClock } from '../time/background-clock.ts';

export type OcspClock = BackgroundClock;

/** 8 at a time: 1,000 certificates behind a responder that takes 200 ms are fetched in 25 s. */
export const MAX_CONCURRENT_FETCHES = 8;
export { MAX_SLEEP_MS };

export interface OcspManagerOptions {
  log: HealthLogger;
  /** A staple to serve for the certificate of this fingerprint from now on; null: serve none. */
  onStaple: (fingerprint: string, staple: Staple | null) => void;
  clock?: OcspClock;
  fetch?: OcspFetch;
}

interface Entry {
  target: OcspTarget;
  good: (Staple & { thisUpdate: number; nextUpdate: number | null }) | null;
  state: OcspCertificateStatus['state'];
  /** The dates of the last response that verified (good or revoked). */
  dates: { thisUpdate: number; nextUpdate: number | null } | null;
  lastFetch: number | null;
  lastError: string | null;
  failures: number;
  nextFetch: number;
  timer: unknown;
  busy: 'idle' | 'queued' | 'fetching';
  gone: boolean;
}

export class OcspManager {
  readonly #log: HealthLogger;
  readonly #onStaple: OcspManagerOptions['onStaple'];
  readonly #clock: OcspClock;
  readonly #fetch: OcspFetch;
  readonly #entries = new Map<string, Entry>();
  readonly #queue: Entry[] = [];
  #running = 0;

  constructor(options: OcspManagerOptions) {
    this.#log = options.log;
    this.#onStaple = options.onStaple;
    this.#clock = options.clock ?? systemClock;
    this.#fetch = options.fetch ?? fetchOcsp;
  }

  /** The certificates of the config now running (one target per fingerprint: the first wins). */
  apply(targets: readonly OcspTarget[]): void {
    const next = new Map<string, OcspTarget>();
    for (const target of targets) if (!next.has(target.fingerprint)) next.set(target.fingerprint, target);
    for (const [key, entry] of this.#entries) {
      if (next.has(key)) continue;
      this.#forget(entry);
      this.#entries.delete(key);
    }
    const now = this.#clock.now();
    for (const [key, target] of next) {
      const entry = this.#entries.get(key);
      if (entry === undefined) {
        const fresh: Entry = { target, good: null, state: 'pending', dates: null, lastFetch: null, lastError: null, failures: 0, nextFetch: now, timer: null, busy: 'idle', gone: false };
        this.#entries.set(key, fresh);
        this.#wake(fresh);
        continue;
      }
      const moved = entry.target.responder !== target.responder;
      entry.target = target;
      // Another responder: ask it now; the response in hand stays good meanwhile, whoever signed it.
      if (moved) {
        entry.nextFetch = now;
        entry.failures = 0;
        this.#wake(entry);
      }
    }
  }

  /** Every staple served now: what a new worker is given before its config. */
  staples(): Array<{ fingerprint: string; staple: Staple }> {
    const out: Array<{ fingerprint: string; staple: Staple }> = [];
    for (const [fingerprint, entry] of this.#entries) if (entry.good !== null) out.push({ fingerprint, staple: { response: entry.good.response, expires: entry.good.expires } });
    return out;
  }

  status(): OcspCertificateStatus[] {
    const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
    return [...this.#entries.values()].map((e) => ({
      state: e.state,
      responder: e.target.responder,
      stapled: e.good !== null,
      lastFetch: iso(e.lastFetch),
      thisUpdate: iso(e.dates?.thisUpdate ?? null),
      nextUpdate: iso(e.dates?.nextUpdate ?? null),
      nextFetch: e.busy === 'idle' ? iso(e.nextFetch) : iso(this.#clock.now()),
      lastError: e.lastError,
      failures: e.failures,
      certFile: e.target.certFile,
    }));
  }

  /** At shutdown: no more fetches, and no withdrawals sent to workers that are draining anyway. */
  stop(): void {
    for (const entry of this.#entries.values()) this.#forget(entry, false);
    this.#entries.clear();
    this.#queue.length = 0;
  }

  #forget(entry: Entry, withdraw = true): void {
    entry.gone = true;
    if (entry.timer !== null) this.#clock.clearTimeout(entry.timer);
    entry.timer = null;
    if (entry.good !== null && withdraw) this.#onStaple(entry.target.fingerprint, null);
    entry.good = null;
  }

  /** Withdraw an expired staple, start a fetch that is due, then sleep until the next of those moments. */
  #wake(entry: Entry): void {
    if (entry.gone) return;
    if (entry.timer !== null) this.#clock.clearTimeout(entry.timer);
    entry.timer = null;
    const now = this.#clock.now();
    if (entry.good !== null && now >= entry.good.expires) {
      this.#log.warn(
        { certFile: entry.target.certFile, code: OcspCode.RESPONSE, expired: new Date(entry.good.expires).toISOString() },
        `OCSP: the response for ${entry.target.certFile} expired at ${new Date(entry.good.expires).toISOString()} and no newer one could be fetched: served without a staple until one is`,
      );
      entry.good = null;
      this.#onStaple(entry.target.fingerprint, null);
    }
    if (now >= entry.nextFetch && entry.busy === 'idle') this.#enqueue(entry);
    if (entry.busy !== 'idle') return; // the fetch's end schedules the next wake
    const wakeAt = Math.min(entry.nextFetch, entry.good?.expires ?? Infinity, now + MAX_SLEEP_MS);
    entry.timer = this.#clock.setTimeout(() => {
      entry.timer = null;
      this.#wake(entry);
    }, Math.max(0, wakeAt - now));
  }

  #enqueue(entry: Entry): void {
    if (this.#running < MAX_CONCURRENT_FETCHES) {
      this.#start(entry);
      return;
    }
    entry.busy = 'queued';
    this.#queue.push(entry);
  }

  #start(entry: Entry): void {
    entry.busy = 'fetching';
    this.#running++;
    const { target } = entry;
    let exchange: Promise<Buffer>;
    try {
      exchange = this.#fetch(target.responder, ocspRequest(certId(target.source)), target.timeoutMs);
    } catch (error) {
      exchange = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    exchange
      .then(
        (der) => this.#answered(entry, der),
        (error: unknown) => this.#failed(entry, OcspCode.FETCH, error instanceof Error ? error.message : String(error)),
      )
      .catch((error: unknown) => {
        // A fault of ours: logged, and the entry backs off like any failure (never a tight refetch loop).
        this.#log.error({ certFile: target.certFile, error: String(error) }, `OCSP: internal error: ${String(error)}`);
        if (!entry.gone) this.#failed(entry, OcspCode.RESPONSE, `internal error: ${String(error)}`);
      })
      .finally(() => {
        this.#running--;
        entry.busy = 'idle';
        this.#wake(entry);
        for (let waiting = this.#queue.shift(); waiting !== undefined; waiting = this.#queue.shift()) {
          if (waiting.gone) continue;
          this.#start(waiting);
          break;
        }
      });
  }

  #answered(entry: Entry, der: Buffer): void {
    if (entry.gone) return;
    const now = this.#clock.now();
    const { target } = entry;
    const check = checkResponse(der, { source: target.source, issuer: target.issuer }, now);
    if (!check.ok) return this.#failed(entry, check.code, check.message);
    const thisUpdate = check.thisUpdate.getTime();
    const nextUpdate = check.nextUpdate?.getTime() ?? null;
    entry.lastFetch = now;
    entry.failures = 0;
    entry.nextFetch = refreshAt(now, thisUpdate, nextUpdate);
    if (check.status === 'revoked') {
      const { time, reason } = check.revocation!;
      const message = `${target.certFile} (serial ${target.serial}) is revoked since ${time.toISOString()}${reason === null ? '' : ` (${reason})`}, says ${target.responder}: served without a staple; replace the certificate`;
      entry.state = 'revoked';
      entry.dates = { thisUpdate, nextUpdate };
      entry.lastError = `${message} (${OcspCode.REVOKED})`;
      this.#log.error({ certFile: target.certFile, code: OcspCode.REVOKED, responder: target.responder, revoked: time.toISOString() }, `OCSP: ${message}`);
      if (entry.good !== null) {
        entry.good = null;
        this.#onStaple(target.fingerprint, null);
      }
      return;
    }
    // A cache in front of the responder may hand out an older response than the one in hand, a
    // revoked one included: keep the newer.
    if (entry.dates !== null && entry.dates.thisUpdate > thisUpdate) return;
    const recovered = entry.state !== 'good';
    entry.state = 'good';
    entry.lastError = null;
    entry.dates = { thisUpdate, nextUpdate };
    entry.good = { response: der, expires: check.expires.getTime(), thisUpdate, nextUpdate };
    this.#onStaple(target.fingerprint, { response: der, expires: entry.good.expires });
    if (recovered) {
      this.#log.info(
        { certFile: target.certFile, responder: target.responder, thisUpdate: check.thisUpdate.toISOString(), nextUpdate: check.nextUpdate?.toISOString() ?? null },
        `OCSP: stapling a good response for ${target.certFile} from ${target.responder}, valid until ${check.expires.toISOString()}`,
      );
    }
  }

  #failed(entry: Entry, code: OcspCode, message: string): void {
    if (entry.gone) return;
    const now = this.#clock.now();
    entry.failures++;
    entry.lastFetch = now;
    entry.nextFetch = now + backoffDelay(entry.failures);
    entry.lastError = `${message} (${code})`;
    if (entry.state !== 'revoked') entry.state = 'error';
    const kept = entry.good === null ? 'no staple meanwhile' : `the last good response is stapled until ${new Date(entry.good.expires).toISOString()}`;
    this.#log.warn(
      { certFile: entry.target.certFile, responder: entry.target.responder, code, failures: entry.failures },
      `OCSP: no response for ${entry.target.certFile} from ${entry.target.responder}: ${message}; ${kept}; next attempt at ${new Date(entry.nextFetch).toISOString()}`,
    );
  }
}
