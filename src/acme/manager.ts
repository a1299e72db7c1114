/**
 * The ACME client of the supervisor: one per process, whatever the number of workers (N workers
 * ordering would mean N orders). It decides when each acme name is ordered, renewed or revoked,
 * and writes the results to the storage folder; it never talks to a worker. The workers serve
 * what it writes because the file is in their certificate list (resolve.ts) and the
 * CertificateWatch reloads them when it changes, as it does for a certbot renewal: new
 * handshakes get the new certificate, open connections keep theirs, nothing restarts.
 *
 * - `prepare(config)`: before a config goes to the workers: placeholders for names without a
 *   certificate, and the config with the certificate files in it.
 * - `apply(config)`: once that config runs: names new to it are scheduled (at once when they have
 *   no certificate), names that left it are revoked and their files deleted.
 * - One order at a time, in due order; each under a lock file in the storage folder, so several
 *   nodes that share it order each name once (lock.ts). A node that finds the lock taken looks
 *   again a minute later, and then finds the other node's certificate on disk: it reloads its
 *   workers with it (its file watch cannot see another machine's write on a network file system).
 * - Due: two thirds into the lifetime (schedule.ts), or at once for a placeholder, an expired
 *   certificate, or one from another directory or of another key type than the config asks for.
 *   A failure backs off from 1 minute to 24 hours and keeps the certificate in service.
 *
 * The clock is injected (AcmeClock), and so is the CA (AcmeIssuer): the hermetic tests drive both.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { AcmeConfig } from '../config/acme.ts';
import type { Config } from '../config/schema.ts';
import type { AcmeCertificateStatus } from '../admin/types.ts';
import type { HealthLogger } from '../health/index.ts';
import { certificateNames, oneLine } from '../tls/certificate-names.ts';
import { isCertificate, pemBlocks } from '../tls/pem.ts';
import { AcmeClientIssuer, describeError, REVOKE_REASON_REMOVED, type AcmeIssuer, type Issued } from './issuer.ts';
import { tryLock } from './lock.ts';
import { managedKey, managedNames, readManaged, withAcmeCertificates, type ManagedName } from './resolve.ts';
import { BACKOFF_FIRST_MS, backoffDelay, LOCKED_RETRY_MS, renewalDue } from './schedule.ts';
import { certificateFile, emptyMeta, lockFile, readMeta, removeCertificate, writeCertificate, writeMeta, type CertificateMeta } from './storage.ts';
import { MAX_SLEEP_MS, systemClock, type BackgroundClock } from '../time/background-clock.ts';

export type AcmeClock = BackgroundClock;

export { MAX_SLEEP_MS };

export interface AcmeManagerOptions {
  log: HealthLogger;
  /** The config file: a name that left it while Fulcrum was stopped is revoked at start only if this node and file ordered it. */
  configFile: string;
  issuer?: AcmeIssuer;
  clock?: AcmeClock;
  host?: string;
  /** Another node renewed a certificate (its file changed, not by this process): reload so the workers serve it. */
  onExternalChange?: () => void;
}

interface Served {
  serial: string;
  notBefore: number;
  notAfter: number;
  issuer: string;
  fingerprint: string;
  keyType: string;
  placeholder: boolean;
}

interface Entry {
  managed: ManagedName;
  current: Served | null;
  meta: CertificateMeta;
  nextAttempt: number;
  busy: 'idle' | 'ordering' | 'revoking';
  /** Left the config: revoke and delete, then forget. */
  removed: boolean;
  /** Who held the lock at the last try; null when we got it. */
  lockedBy: string | null;
}

export class AcmeManager {
  readonly #log: HealthLogger;
  readonly #issuer: AcmeIssuer;
  readonly #clock: AcmeClock;
  readonly #owner: { host: string; configFile: string };
  readonly #onExternalChange: () => void;
  readonly #entries = new Map<string, Entry>();
  /** Storage folders already searched for names that left the config while Fulcrum was stopped. */
  readonly #scanned = new Set<string>();
  #timer: unknown = null;
  #working: Promise<void> | null = null;
  #applying: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(options: AcmeManagerOptions) {
    this.#log = options.log;
    this.#issuer = options.issuer ?? new AcmeClientIssuer();
    this.#clock = options.clock ?? systemClock;
    this.#owner = { host: options.host ?? hostname(), configFile: options.configFile };
    this.#onExternalChange = options.onExternalChange ?? (() => {});
  }

  /** The config with the ACME certificate files in it (placeholders written for names without one). */
  async prepare(config: Config): Promise<Config> {
    const { config: prepared, placeholders } = await withAcmeCertificates(config, new Date(this.#clock.now()));
    if (placeholders.length > 0) {
      this.#log.info({ names: placeholders }, `ACME: serving a self-signed placeholder for ${placeholders.join(', ')} until the CA issues ${placeholders.length === 1 ? 'its' : 'their'} first certificate`);
    }
    return prepared;
  }

  /** The running config now has these acme names: schedule new ones, revoke those that left. One apply at a time, in call order. */
  apply(config: Config): Promise<void> {
    const run = this.#applying.then(() => this.#apply(config));
    this.#applying = run.catch(() => {});
    return run;
  }

  async #apply(config: Config): Promise<void> {
    if (this.#stopped) return;
    const now = this.#clock.now();
    const wanted = new Map(managedNames(config).map((m) => [m.key, m]));
    for (const [key, entry] of this.#entries) {
      if (wanted.has(key) || entry.removed) continue;
      entry.removed = true;
      entry.meta = { ...entry.meta, failures: 0, retryAt: null, lastError: null };
      entry.nextAttempt = now;
      this.#log.info({ name: entry.managed.name }, `ACME: ${entry.managed.name} left the config: its certificate will be revoked and its files deleted`);
    }
    for (const managed of wanted.values()) {
      const entry = this.#entries.get(managed.key);
      if (entry === undefined) {
        this.#entries.set(managed.key, await this.#load(managed));
        continue;
      }
      const changed = settingsDiffer(entry.managed.acme, managed.acme);
      entry.managed = managed;
      if (entry.removed) {
        // Back before its revocation ran: keep it. (A revocation in flight finishes, then re-orders: see #revoke.)
        entry.removed = false;
        entry.meta = { ...entry.meta, failures: 0, retryAt: null };
      }
      // A new directory or key type is worth an immediate try, whatever the back-off said.
      if (changed) entry.meta = { ...entry.meta, failures: 0, retryAt: null, lastError: null };
      if (entry.busy === 'idle') entry.nextAttempt = this.#due(entry, now);
    }
    await this.#scanForLeftovers(config);
    this.#schedule();
  }

  /** Each managed certificate, for GET /api/v1/status (by certificate file) and `fulcrum status`. */
  status(): AcmeCertificateStatus[] {
    const now = this.#clock.now();
    return [...this.#entries.values()].map((entry): AcmeCertificateStatus => {
      const { managed, current, meta } = entry;
      const placeholder = current === null || current.placeholder;
      return {
        name: managed.name,
        virtualServices: [...managed.virtualServices],
        directory: managed.acme.directory,
        challenge: managed.acme.challenge,
        state: stateOf(entry, now),
        issuer: placeholder ? null : issuerName(current.issuer),
        notAfter: placeholder ? null : new Date(current.notAfter).toISOString(),
        lastRenewal: meta.issuedAt,
        nextAttempt: this.#stopped ? null : new Date(entry.nextAttempt).toISOString(),
        lastError: meta.lastError,
        failures: meta.failures,
        certFile: managed.file,
      };
    });
  }

  /** Stop scheduling; an order in flight finishes (its result is written). Resolves when it has. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    await this.#working;
  }

  /** Resolves when no order or revocation is running (tests). */
  async idle(): Promise<void> {
    while (this.#working !== null) await this.#working;
  }

  async #load(managed: ManagedName): Promise<Entry> {
    const meta = (await readMeta(managed.acme.storage, managed.name)) ?? emptyMeta(managed.name, managed.acme.keyType);
    const entry: Entry = { managed, current: served(managed.file, this.#clock.now()), meta, nextAttempt: 0, busy: 'idle', removed: false, lockedBy: null };
    entry.nextAttempt = this.#due(entry, this.#clock.now());
    return entry;
  }

  /**
   * When this entry must be worked on next (ms since the epoch). Never sooner after the last
   * certificate was obtained than a third of its lifetime, and at least a second, at most a
   * minute: a CA that hands out certificates already due (expired, or a lifetime shorter than the
   * clocks' skew) must not make this loop order them back to back.
   */
  #due(entry: Entry, now: number): number {
    const { meta, current } = entry;
    if (meta.failures > 0 && meta.retryAt !== null) return Date.parse(meta.retryAt);
    if (entry.removed) return now;
    const wanted = this.#wanted(entry, now);
    if (meta.issuedAt === null) return wanted;
    const lifetime = current === null ? 0 : current.notAfter - current.notBefore;
    return Math.max(wanted, Date.parse(meta.issuedAt) + Math.max(1_000, Math.min(BACKOFF_FIRST_MS, lifetime / 3)));
  }

  #wanted(entry: Entry, now: number): number {
    const { meta, current } = entry;
    const acme = entry.managed.acme;
    if (current === null || current.placeholder || current.notAfter <= now) return now;
    // What was ordered last (the meta file); the certificate's own key when there is no record.
    if (meta.directory !== null && meta.directory !== acme.directory) return now;
    if (meta.issuedAt !== null ? meta.keyType !== acme.keyType : (current.keyType === 'rsa') !== (acme.keyType === 'rsa')) return now;
    return renewalDue(current.notBefore, current.notAfter, acme.renewBefore);
  }

  #schedule(): void {
    if (this.#stopped || this.#working !== null) return;
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    let earliest = Infinity;
    for (const entry of this.#entries.values()) if (entry.busy === 'idle') earliest = Math.min(earliest, entry.nextAttempt);
    if (earliest === Infinity) return;
    const wait = Math.min(Math.max(0, earliest - this.#clock.now()), MAX_SLEEP_MS);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      this.#work();
    }, wait);
  }

  /** Work through every due entry, one at a time, earliest first; then sleep until the next. */
  #work(): void {
    if (this.#working !== null || this.#stopped) return;
    this.#working = (async () => {
      for (;;) {
        if (this.#stopped) break;
        const now = this.#clock.now();
        let next: Entry | null = null;
        for (const entry of this.#entries.values()) {
          if (entry.busy === 'idle' && entry.nextAttempt <= now && (next === null || entry.nextAttempt < next.nextAttempt)) next = entry;
        }
        if (next === null) break;
        await (next.removed ? this.#revoke(next) : this.#renew(next));
      }
    })()
      .catch((error: unknown) => this.#log.error({ error: String(error) }, `ACME: internal error: ${describeError(error)}`))
      .finally(() => {
        this.#working = null;
        this.#schedule();
      });
  }

  async #renew(entry: Entry): Promise<void> {
    const { name, acme } = entry.managed;
    const now = this.#clock.now();
    entry.busy = 'ordering';
    let release: (() => Promise<void>) | null = null;
    try {
      const lock = await tryLock(lockFile(acme.storage, name), now);
      if ('heldBy' in lock) {
        entry.lockedBy = lock.heldBy;
        entry.nextAttempt = now + LOCKED_RETRY_MS;
        this.#log.info({ name, lockedBy: lock.heldBy }, `ACME: ${name} is being ordered by ${lock.heldBy}; looking again in ${LOCKED_RETRY_MS / 1000} s`);
        return;
      }
      entry.lockedBy = null;
      release = lock.release;
      // Another node may have renewed it meanwhile: then there is nothing to order.
      if (await this.#refresh(entry) && this.#due(entry, now) > now) return;
      const reason = reasonFor(entry, now);
      this.#log.info({ name, directory: acme.directory, challenge: acme.challenge }, `ACME: ordering a certificate for ${name} from ${acme.directory} (${reason}; ${acme.challenge})`);
      const issued = await this.#issuer.issue({ name, directory: acme.directory, ca: acme.ca, storage: acme.storage, email: acme.email, keyType: acme.keyType, challenge: acme.challenge });
      const certificate = checkIssued(name, issued);
      await writeCertificate(acme.storage, name, issued.keyPem, issued.chainPem);
      entry.current = certificate;
      entry.meta = { ...entry.meta, directory: acme.directory, ca: acme.ca ?? null, keyType: acme.keyType, issuedAt: iso(this.#clock.now()), owner: this.#owner, failures: 0, lastError: null, lastAttempt: iso(now), retryAt: null };
      await writeMeta(acme.storage, entry.meta).catch((error: unknown) => this.#log.warn({ name, error: String(error) }, `ACME: could not record the renewal of ${name}: ${describeError(error)}`));
      const due = this.#due(entry, now);
      this.#log.info(
        { name, issuer: issuerName(certificate.issuer), notAfter: iso(certificate.notAfter), nextRenewal: iso(due) },
        `ACME: obtained the certificate for ${name} from ${issuerName(certificate.issuer)}, valid until ${iso(certificate.notAfter)}; renewal at ${iso(due)}`,
      );
    } catch (error) {
      const message = describeError(error);
      if (entry.removed) {
        // Taken out of the config while this order ran (its challenges were no longer answered):
        // not a failure to back off from; the revocation comes next.
        this.#log.info({ name, error: message }, `ACME: the order for ${name} ended as it left the config (${message})`);
        return;
      }
      const failures = entry.meta.failures + 1;
      const retryAt = now + backoffDelay(failures);
      entry.meta = { ...entry.meta, owner: entry.meta.owner ?? this.#owner, failures, lastError: message, lastAttempt: iso(now), retryAt: iso(retryAt) };
      await writeMeta(acme.storage, entry.meta).catch(() => {});
      const serving = entry.current === null || entry.current.placeholder ? 'clients still get the self-signed placeholder' : `the certificate in service stays (valid until ${iso(entry.current.notAfter)})`;
      this.#log.error({ name, failures, retryAt: iso(retryAt), error: message }, `ACME: could not obtain a certificate for ${name}: ${message}; ${serving}; attempt ${failures + 1} at ${iso(retryAt)}`);
    } finally {
      await release?.();
      entry.busy = 'idle';
      if (entry.lockedBy === null) entry.nextAttempt = this.#due(entry, this.#clock.now());
    }
  }

  /** Read the file and meta again; true when the certificate changed under us (another node). */
  async #refresh(entry: Entry): Promise<boolean> {
    const now = this.#clock.now();
    const fresh = served(entry.managed.file, now);
    if (fresh === null || fresh.fingerprint === entry.current?.fingerprint) return false;
    const meta = await readMeta(entry.managed.acme.storage, entry.managed.name);
    entry.current = fresh;
    if (meta !== null) entry.meta = meta;
    if (!fresh.placeholder) {
      this.#log.info({ name: entry.managed.name, notAfter: iso(fresh.notAfter) }, `ACME: another node renewed ${entry.managed.name} (valid until ${iso(fresh.notAfter)}); reloading to serve it`);
      this.#onExternalChange();
    }
    return true;
  }

  async #revoke(entry: Entry): Promise<void> {
    const { name, acme, file } = entry.managed;
    const now = this.#clock.now();
    entry.busy = 'revoking';
    try {
      const current = served(file, now);
      const directory = entry.meta.directory;
      let done: string;
      if (current !== null && !current.placeholder && directory !== null && current.notAfter > now) {
        const chainPem = await readFile(file, 'utf8');
        try {
          await this.#issuer.revoke({ directory, ca: entry.meta.ca ?? undefined, storage: acme.storage, email: acme.email }, chainPem, REVOKE_REASON_REMOVED);
          done = `ACME: revoked the certificate for ${name} (serial ${current.serial}; it left the config) and deleted its files`;
        } catch (error) {
          // Revoked already (by another node sharing the folder, or by hand): done all the same.
          if (!describeError(error).includes('alreadyRevoked')) throw error;
          done = `ACME: the certificate for ${name} was revoked already; deleted its files`;
        }
      } else {
        // A placeholder, or a certificate expired already (a CA refuses to revoke those): nothing to ask the CA.
        done = `ACME: ${name} left the config; deleted its ${current?.placeholder === true ? 'placeholder' : 'files'} (nothing to revoke)`;
      }
      await removeCertificate(acme.storage, name);
      this.#log.info({ name, ...(current !== null ? { serial: current.serial } : {}) }, done);
      if (entry.removed) {
        this.#entries.delete(entry.managed.key);
      } else {
        // Put back in the config while its revocation ran: order it anew, and reload so that the
        // workers swap the revoked certificate for a placeholder meanwhile.
        entry.current = null;
        entry.meta = emptyMeta(name, acme.keyType);
        this.#onExternalChange();
      }
    } catch (error) {
      const message = describeError(error);
      const failures = entry.meta.failures + 1;
      const retryAt = now + backoffDelay(failures);
      entry.meta = { ...entry.meta, failures, lastError: message, lastAttempt: iso(now), retryAt: iso(retryAt) };
      this.#log.error({ name, failures, retryAt: iso(retryAt), error: message }, `ACME: could not revoke the certificate for ${name}: ${message}; its files are kept; attempt ${failures + 1} at ${iso(retryAt)}`);
    } finally {
      entry.busy = 'idle';
      entry.nextAttempt = this.#due(entry, this.#clock.now());
    }
  }

  /**
   * Names with a certificate in a storage folder that the config no longer lists, left while
   * Fulcrum was stopped: revoked if this node ordered them for this config file (the folder may
   * be shared with other nodes or configs; theirs are left alone, and said so once).
   */
  async #scanForLeftovers(config: Config): Promise<void> {
    const storages = new Set(managedNames(config).map((m) => m.acme.storage));
    for (const storage of storages) {
      if (this.#scanned.has(storage)) continue;
      this.#scanned.add(storage);
      let files: string[];
      try {
        files = await readdir(join(storage, 'certificates'));
      } catch {
        continue;
      }
      for (const file of files) {
        if (!file.endsWith('.pem') || file.startsWith('.')) continue;
        const name = file.slice(0, -'.pem'.length);
        const key = managedKey(storage, name);
        if (this.#entries.has(key)) continue;
        const meta = await readMeta(storage, name);
        const ours = meta?.owner?.host === this.#owner.host && meta.owner.configFile === this.#owner.configFile;
        if (meta === null || !ours) {
          this.#log.info({ name, storage, owner: meta?.owner ?? null }, `ACME: ${certificateFile(storage, name)} is for ${name}, which the config does not list; kept, as this node did not order it for this config file`);
          continue;
        }
        const acme: AcmeConfig = { names: [name], email: undefined, directory: meta.directory ?? '', ca: meta.ca ?? undefined, challenge: 'http-01', keyType: meta.keyType, storage, renewBefore: undefined };
        const managed: ManagedName = { key, name, acme, virtualServices: [], file: certificateFile(storage, name) };
        const entry = await this.#load(managed);
        entry.removed = true;
        entry.nextAttempt = this.#clock.now();
        this.#entries.set(key, entry);
        this.#log.info({ name }, `ACME: ${name} left the config while Fulcrum was stopped: its certificate will be revoked and its files deleted`);
      }
    }
  }
}

function served(file: string, now: number): Served | null {
  const certificate = readManaged(file, new Date(now));
  if (certificate === null) return null;
  return {
    serial: certificate.serialNumber,
    notBefore: certificate.notBefore.getTime(),
    notAfter: certificate.notAfter.getTime(),
    issuer: certificate.issuer,
    fingerprint: certificate.fingerprint256,
    keyType: certificate.keyType,
    placeholder: certificate.placeholder,
  };
}

/** What the CA sent must be a certificate for `name` that goes with the key: checked before it replaces anything. */
function checkIssued(name: string, issued: Issued): Served {
  const leafBlock = pemBlocks(issued.chainPem).find(isCertificate);
  if (leafBlock === undefined) throw new Error(`the CA sent no certificate for ${name}`);
  const leaf = new X509Certificate(leafBlock.text);
  if (!leaf.checkPrivateKey(createPrivateKey(issued.keyPem))) throw new Error(`the CA's certificate for ${name} does not go with the key of the request`);
  const names = certificateNames(leaf);
  if (!names.includes(name)) throw new Error(`the CA's certificate names ${names.join(', ')}, not ${name}`);
  const keyType = leaf.publicKey.asymmetricKeyType ?? 'unknown';
  return { serial: leaf.serialNumber, notBefore: leaf.validFromDate.getTime(), notAfter: leaf.validToDate.getTime(), issuer: leaf.issuer, fingerprint: leaf.fingerprint256, keyType, placeholder: false };
}

function settingsDiffer(a: AcmeConfig, b: AcmeConfig): boolean {
  return a.directory !== b.directory || a.keyType !== b.keyType || a.challenge !== b.challenge || a.ca !== b.ca || a.email !== b.email;
}

function stateOf(entry: Entry, now: number): AcmeCertificateStatus['state'] {
  if (entry.busy === 'revoking' || entry.removed) return 'revoking';
  if (entry.busy === 'ordering') return 'ordering';
  if (entry.lockedBy !== null) return 'locked';
  if (entry.current === null || entry.current.placeholder) return 'placeholder';
  return entry.current.notAfter <= now ? 'expired' : 'valid';
}

function reasonFor(entry: Entry, now: number): string {
  const current = entry.current;
  if (current === null || current.placeholder) return 'first certificate';
  if (current.notAfter <= now) return `the certificate expired on ${iso(current.notAfter)}`;
  if (entry.meta.directory !== null && entry.meta.directory !== entry.managed.acme.directory) return `the config names another directory than ${entry.meta.directory}`;
  if (entry.meta.issuedAt !== null && entry.meta.keyType !== entry.managed.acme.keyType) return `the config asks for an ${entry.managed.acme.keyType} key`;
  return `renewal, valid until ${iso(current.notAfter)}`;
}

/** "Pebble Intermediate CA 4e2f1a": the issuer's CN, or its whole name on one line. */
function issuerName(issuer: string): string {
  return /(?:^|\n)CN=([^\n]*)/.exec(issuer)?.[1] ?? oneLine(issuer);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
