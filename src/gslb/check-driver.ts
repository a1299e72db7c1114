/**
 * Runs the checks of every GSLB site, in the supervisor, and keeps one FqdnState per FQDN up to
 * date: each result goes to FqdnState.record, a timer per FQDN calls tick() at its deadline()
 * (so that siteFailure.delay ends without a check), and fulcrum checks report their node's load
 * to the selector. Every SiteEvent is logged with its reason and emitted as `site`; a `change`
 * says an FQDN's answers may differ now (a site went up or down, or a load moved a
 * real-server-load choice), for the DNS server to re-template.
 *
 * Scheduling is the real servers' (src/health/schedule.ts): the first check at a random point in
 * the interval, then every interval +-10 % less the check's own time.
 *
 * `apply` (start and every reload) keeps an FQDN whose sites, selection, failure rules and checks
 * are unchanged as it is: state, counters and schedules. An FQDN that changed gets a new
 * FqdnState (its selector is built from the whole FQDN) that takes over each site's whole state
 * by the site's name (FqdnState.carryOver): health, counts, a running delay, the manual hold and
 * an operator's disable, whatever its check became. A site whose check is unchanged also keeps
 * its schedule and its check in flight; a changed check is run anew, its results moving the
 * carried state by the normal fall and rise rules. Moves the new config causes by itself (a
 * shortened delay that has run out, a removed check) are logged and emitted as `site` like any
 * other, but `change` is not emitted by apply: after it, states() and reports() are what the
 * DNS server templates (the supervisor sends every worker that snapshot after each reload).
 */
import { EventEmitter } from 'node:events';
import type { ApiFailure } from '../admin/types.ts';
import type { FqdnConfig, GslbConfig, SiteCheckConfig } from '../config/gslb.ts';
import { suggest } from '../config/suggest.ts';
import { ErrorCode } from '../errors.ts';
import { firstDelay, nextDelay } from '../health/schedule.ts';
import type { HealthLogger, LastCheck } from '../health/types.ts';
import { type FqdnStatus, FqdnState } from './fqdn-state.ts';
import { thresholdsOf, toGslbFqdn } from './from-config.ts';
import type { SiteEvent, SiteStatus } from './site-state.ts';
import { createSiteProbe, describeSiteCheck, type SiteProbe, type SiteProbeResult } from './site-probe.ts';
import type { SiteReport } from './types.ts';
import { haltProbe, probeOnce, scheduleProbe } from '../health/probe-slot.ts';
import { fqdnKey } from '../config/gslb-names.ts';

export interface GslbCheckDriverOptions {
  logger: HealthLogger;
  /** The check runner; tests substitute a scripted one. */
  probe?: SiteProbe;
  /** Math.random's shape, for the jitter. */
  random?: () => number;
  /** Date.now's shape: the clock of FqdnState's `now`. */
  now?: () => number;
}

/** An FQDN's answers may have changed. */
export interface GslbChange {
  fqdn: string;
  state: FqdnState;
  /** The site events behind it, in order; empty when a load report moved the choice. */
  events: readonly SiteEvent[];
  /** In words, for the log of whoever re-templates. */
  reason: string;
  /** Every site's health and load now, as the workers take them. */
  sites: SiteReport[];
}

export interface GslbCheckDriverEvents {
  change: [GslbChange];
  site: [SiteEvent];
}

/** One site in status(): FqdnState's view plus what the driver knows of its check. */
export interface SiteCheckStatus extends SiteStatus {
  name: string;
  check: string;
  lastCheck: LastCheck | null;
  /** fulcrum checks: the node's load as last reported (null: none yet or unknown). */
  load: number | null;
  checks: { passed: number; failed: number };
}

export interface FqdnCheckStatus extends Omit<FqdnStatus, 'sites'> {
  sites: SiteCheckStatus[];
}

export type SiteActionOutcome =
  | { ok: true; fqdn: string; site: string; events: readonly SiteEvent[]; status: SiteCheckStatus }
  | { ok: false; failure: ApiFailure };

interface FqdnEntry {
  readonly name: string;
  /** Everything FqdnState is built from, as JSON: unchanged keeps the entry across a reload. */
  readonly key: string;
  readonly state: FqdnState;
  readonly runs: SiteRun[];
  tickTimer: NodeJS.Timeout | null;
}

interface SiteRun {
  /** Mutable: a reload that rebuilds the FQDN re-points a kept site's run at the new entry. */
  entry: FqdnEntry;
  index: number;
  readonly name: string;
  readonly check: SiteCheckConfig;
  readonly checkKey: string;
  lastCheck: LastCheck | null;
  load: number | null;
  passed: number;
  failed: number;
  timer: NodeJS.Timeout | null;
  abort: AbortController | null;
  stopped: boolean;
}

/** tick() a millisecond after the deadline: a timer may fire a fraction of a millisecond early by Date.now. */
const TICK_MARGIN_MS = 1;

export class GslbCheckDriver extends EventEmitter<GslbCheckDriverEvents> {
  readonly #log: HealthLogger;
  readonly #probe: SiteProbe;
  readonly #random: () => number;
  readonly #now: () => number;
  #entries = new Map<string, FqdnEntry>();

  constructor(options: GslbCheckDriverOptions) {
    super();
    this.#log = options.logger;
    this.#probe = options.probe ?? createSiteProbe();
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
  }

  /** Start, keep, rebuild or stop checks to match the gslb section (undefined: none). Call at start and on every reload. */
  apply(gslb: GslbConfig | undefined): void {
    const next = new Map<string, FqdnEntry>();
    const keptRuns = new Set<SiteRun>();
    const moved: SiteEvent[] = [];
    for (const fqdn of gslb?.fqdns ?? []) {
      const existing = this.#entries.get(fqdn.name);
      const key = entryKey(fqdn);
      if (existing !== undefined && existing.key === key) {
        next.set(fqdn.name, existing);
        for (const run of existing.runs) keptRuns.add(run);
        continue;
      }
      const { entry, events } = this.#rebuild(fqdn, key, existing);
      for (const run of entry.runs) keptRuns.add(run);
      next.set(fqdn.name, entry);
      moved.push(...events);
    }
    for (const entry of this.#entries.values()) {
      if (next.get(entry.name) !== entry && entry.tickTimer !== null) clearTimeout(entry.tickTimer);
      for (const run of entry.runs) if (!keptRuns.has(run)) haltProbe(run);
    }
    this.#entries = next;
    this.#announce(moved, { cause: 'reload' });
    for (const entry of next.values()) this.#armTick(entry);
  }

  /** Stop every check and timer; a check in flight is abandoned (its socket or process closed) and its result ignored. */
  stop(): void {
    for (const entry of this.#entries.values()) {
      if (entry.tickTimer !== null) clearTimeout(entry.tickTimer);
      entry.tickTimer = null;
      for (const run of entry.runs) haltProbe(run);
    }
    this.#entries = new Map();
  }

  /** The live state of one FQDN (lower case, no final dot), for the DNS server. */
  state(fqdn: string): FqdnState | undefined {
    return this.#entries.get(fqdnKey(fqdn))?.state;
  }

  /** Every FQDN's live state, in config order. */
  states(): Map<string, FqdnState> {
    return new Map([...this.#entries].map(([name, entry]) => [name, entry.state]));
  }

  /** Every FQDN's sites as the DNS answers need them (health and load), for the workers. */
  reports(): { fqdn: string; sites: SiteReport[] }[] {
    return [...this.#entries.values()].map((entry) => reportOf(entry));
  }

  /** Per FQDN: each site's health, reason and check, and what the server would answer now. */
  status(): FqdnCheckStatus[] {
    return [...this.#entries.values()].map((entry) => {
      const status = entry.state.status();
      return { ...status, sites: status.sites.map((site, i) => ({ ...site, ...this.#runStatus(entry.runs[i]!) })) };
    });
  }

  /** An operator puts a site back (`fulcrum gslb site enable FQDN SITE`, the admin API). */
  enable(fqdn: string, site: string, now: number = this.#now()): SiteActionOutcome {
    return this.#operate(fqdn, site, now, 'enable');
  }

  /** An operator takes a site out until enable(), whatever its checks say. */
  disable(fqdn: string, site: string, now: number = this.#now()): SiteActionOutcome {
    return this.#operate(fqdn, site, now, 'disable');
  }

  #operate(fqdnName: string, siteName: string, now: number, action: 'enable' | 'disable'): SiteActionOutcome {
    const name = fqdnKey(fqdnName);
    const entry = this.#entries.get(name);
    if (entry === undefined) return { ok: false, failure: notFound('FQDN', fqdnName, [...this.#entries.keys()], 'in the gslb section') };
    const run = entry.runs.find((r) => r.name === siteName);
    if (run === undefined) return { ok: false, failure: notFound('site', siteName, entry.runs.map((r) => r.name), `of ${name}`) };
    const events = action === 'enable' ? entry.state.enable(run.index, now) : entry.state.disable(run.index, now);
    this.#publish(entry, events, null);
    const status = entry.state.status().sites[run.index]!;
    return { ok: true, fqdn: name, site: run.name, events, status: { ...status, ...this.#runStatus(run) } };
  }

  /** A new FqdnState that carries the sites' state over from `previous`, and a run per site: kept when its check is unchanged. */
  #rebuild(fqdn: FqdnConfig, key: string, previous: FqdnEntry | undefined): { entry: FqdnEntry; events: readonly SiteEvent[] } {
    const state = new FqdnState(toGslbFqdn(fqdn), fqdn.sites.map(thresholdsOf));
    const events = previous === undefined ? [] : state.carryOver(previous.state, this.#now());
    const entry: FqdnEntry = { name: fqdn.name, key, state, runs: [], tickTimer: null };
    fqdn.sites.forEach((site, index) => {
      const run = previous?.runs.find((r) => r.name === site.name && r.checkKey === checkKeyOf(site.check) && !r.stopped);
      if (run === undefined) {
        entry.runs.push(this.#startRun(entry, index, site.name, site.check));
        return;
      }
      run.entry = entry;
      run.index = index;
      entry.runs.push(run);
      if (run.load !== null) state.selector.setLoad(index, run.load);
    });
    return { entry, events };
  }

  #startRun(entry: FqdnEntry, index: number, name: string, check: SiteCheckConfig): SiteRun {
    const run: SiteRun = {
      entry,
      index,
      name,
      check,
      checkKey: checkKeyOf(check),
      lastCheck: null,
      load: null,
      passed: 0,
      failed: 0,
      timer: null,
      abort: null,
      stopped: false,
    };
    if (check.type !== 'none') this.#schedule(run, firstDelay(check.interval, this.#random));
    return run;
  }

  #schedule(run: SiteRun, delay: number): void {
    scheduleProbe(run, delay, () => this.#run(run));
  }

  async #run(run: SiteRun): Promise<void> {
    const result = await probeOnce(
      run,
      (signal) => this.#probe(run.check, signal),
      (message): SiteProbeResult => ({ ok: false, latencyMs: 0, reason: `the check itself failed: ${message}` }),
    );
    if (result === null) return;
    this.#record(run, result);
    this.#schedule(run, nextDelay(run.check.interval, result.latencyMs, this.#random));
  }

  #record(run: SiteRun, result: SiteProbeResult): void {
    const now = this.#now();
    const { entry, index } = run;
    run.lastCheck = { at: new Date(now).toISOString(), ok: result.ok, latencyMs: result.latencyMs, reason: result.reason };
    if (result.ok) run.passed++;
    else run.failed++;
    const events = entry.state.record(index, result.ok, result.reason, now);
    let loadNote: string | null = null;
    if (result.load !== undefined && result.load !== run.load) {
      run.load = result.load;
      entry.state.selector.setLoad(index, result.load);
      if (entry.state.selector.fqdn.selection === 'real-server-load') {
        loadNote = `site "${run.name}" of ${entry.name} reports load ${result.load === null ? 'unknown' : formatLoad(result.load)}`;
      }
    }
    this.#publish(entry, events, loadNote);
  }

  /** Log and emit the events, re-arm the FQDN's delay timer, and say when the answers may have changed. */
  #publish(entry: FqdnEntry, events: readonly SiteEvent[], loadNote: string | null): void {
    this.#announce(events);
    this.#armTick(entry);
    const moved = events.filter((event) => event.kind === 'up' || event.kind === 'down');
    if (moved.length === 0 && loadNote === null) return;
    const reason = moved.length > 0 ? moved.map((event) => event.message).join('; ') : loadNote!;
    this.#emitSafely('change', { fqdn: entry.name, state: entry.state, events, reason, sites: reportOf(entry).sites });
  }

  /** Log each event with its reason and emit it as `site`. */
  #announce(events: readonly SiteEvent[], extra: object = {}): void {
    for (const event of events) {
      const fields = { fqdn: event.fqdn, site: event.site, event: event.kind, up: event.up, ...extra };
      if (event.kind === 'down') this.#log.warn(fields, event.message);
      else this.#log.info(fields, event.message);
      this.#emitSafely('site', event);
    }
  }

  #emitSafely<K extends keyof GslbCheckDriverEvents>(name: K, ...args: GslbCheckDriverEvents[K]): void {
    try {
      (this.emit as (event: K, ...rest: GslbCheckDriverEvents[K]) => boolean)(name, ...args);
    } catch (error) {
      this.#log.error({ event: name, error: String(error) }, `a gslb ${name} listener threw`);
    }
  }

  #armTick(entry: FqdnEntry): void {
    if (entry.tickTimer !== null) clearTimeout(entry.tickTimer);
    entry.tickTimer = null;
    const deadline = entry.state.deadline();
    if (deadline === null) return;
    const wait = Math.max(0, deadline - this.#now()) + TICK_MARGIN_MS;
    entry.tickTimer = setTimeout(() => {
      entry.tickTimer = null;
      this.#publish(entry, entry.state.tick(this.#now()), null);
    }, wait).unref();
  }

  #runStatus(run: SiteRun): Omit<SiteCheckStatus, keyof SiteStatus | 'name'> {
    return {
      check: describeSiteCheck(run.check),
      lastCheck: run.lastCheck === null ? null : { ...run.lastCheck },
      load: run.load,
      checks: { passed: run.passed, failed: run.failed },
    };
  }
}

/** One FQDN's sites for the workers. */
function reportOf(entry: { name: string; state: FqdnState; runs: readonly { name: string; load: number | null }[] }): { fqdn: string; sites: SiteReport[] } {
  return { fqdn: entry.name, sites: entry.runs.map((run, i) => ({ name: run.name, up: entry.state.sites[i]!.up, load: run.load })) };
}

function entryKey(fqdn: FqdnConfig): string {
  return JSON.stringify({ fqdn: toGslbFqdn(fqdn), checks: fqdn.sites.map((site) => site.check) });
}

function checkKeyOf(check: SiteCheckConfig): string {
  return JSON.stringify(check);
}


function formatLoad(load: number): string {
  return Number.isInteger(load) ? String(load) : load.toFixed(2);
}

function notFound(noun: string, given: string, names: readonly string[], where: string): ApiFailure {
  const guess = suggest(given, names);
  const hint = guess !== undefined ? `; did you mean "${guess}"?` : names.length === 0 ? `; there are none ${where}` : `; known: ${names.join(', ')}`;
  const failure: ApiFailure = { status: 404, code: ErrorCode.ADMIN_NOT_FOUND, message: `no ${noun} "${given}" ${where}${hint}`, allowed: names };
  if (guess !== undefined) failure.suggestion = guess;
  return failure;
}
