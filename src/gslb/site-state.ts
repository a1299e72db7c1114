/**
 * Up or down for one site of one FQDN, from its check results, the clock and the operator.
 *
 * The rules are the real servers' (src/health/state-machine.ts) with two additions for sites:
 * - `fall` failed checks in a row start `siteFailure.delay`; the site goes down when it runs out
 *   (a passing check before then cancels it), so a short outage does not move a whole data
 *   center's users. A delay of 0 takes the site down at the fall-th failure.
 * - With `recovery: manual` a site that went down stays down until `enable()`, even when its
 *   checks pass again, so a flapping primary cannot bounce users back and forth. Its checks are
 *   still tracked, and it says when they pass again.
 *
 * Cold start, as for real servers: with `startAs: up` the site is in the answers at once and the
 * first check, if it fails, takes it down at once (no fall, no delay: nobody has been sent there
 * on a check's word yet); with `startAs: down` it is out until the first check passes, which
 * brings it up at once. The manual hold applies only to a site that has passed a check since the
 * start: one that never did is not a site users failed over from, and holding it would make a
 * slow-booting primary need an operator after every restart.
 *
 * No timers: the caller passes `now` (milliseconds, any monotonic clock) and calls `tick(now)`
 * at `deadline()` so a delay can end without a check result.
 *
 * A reload builds a new machine from the new config and hands it the old one's `snapshot()`
 * (`restore`): the state goes on under the new fall, rise and delay, and a reload by itself moves
 * a site in or out of the answers only where the new config says so outright (see restore).
 */
import { formatDuration } from '../config/duration.ts';
import type { CheckThresholds, SiteFailure } from './types.ts';

export type SiteEventKind =
  /** The site left the answers. */
  | 'down'
  /** The site is back in the answers. */
  | 'up'
  /** fall failures reached; the site goes down when the delay ends unless a check passes. */
  | 'delaying'
  /** A check passed during the delay; the site stays up. */
  | 'delay-cancelled'
  /** A manually held site passes its checks again; an operator may enable it. */
  | 'recoverable'
  /** An operator released the site but its checks fail: it comes up after rise passes. */
  | 'enabled';

export interface SiteEvent {
  kind: SiteEventKind;
  fqdn: string;
  site: string;
  /** The `now` of the call that produced it. */
  at: number;
  /** Whether the site is in the answers after this event. */
  up: boolean;
  /** The whole sentence for the log and the admin API. */
  message: string;
}

/** The status view of one site. */
export interface SiteStatus {
  up: boolean;
  /** false until the first check result. */
  checked: boolean;
  /** The last check's words (or "not checked yet"). */
  reason: string;
  /** What is going on in words: "failure 1 of 2 before down", "checks pass again; waiting for manual recovery", ... ('' when steady). */
  progress: string;
  /** Down and held for an operator (manual recovery). */
  held: boolean;
  /** Taken out by an operator. */
  disabled: boolean;
  /** When the delay ends, or null. */
  downAt: number | null;
  /** `now` of the last change of `up`, or null before any. */
  since: number | null;
}

/** Everything a machine knows, for a reload to carry into the machine built from the new config. */
export interface SiteSnapshot {
  readonly up: boolean;
  readonly checksUp: boolean;
  readonly checked: boolean;
  readonly passedOnce: boolean;
  readonly passes: number;
  readonly failures: number;
  readonly reason: string;
  /** When the running siteFailure.delay started (the fall-th failure), or null: its end follows the new delay. */
  readonly delayFrom: number | null;
  readonly held: boolean;
  readonly disabled: boolean;
  readonly since: number | null;
}

export interface RestoreOptions {
  /** The new config has no check for the site (type none): nothing will ever record a result. */
  withoutCheck?: boolean;
}

const NO_EVENTS: readonly SiteEvent[] = Object.freeze([]);

export interface SiteStateOptions extends CheckThresholds, SiteFailure {
  fqdn: string;
  site: string;
}

export class SiteStateMachine {
  readonly #o: SiteStateOptions;
  #up: boolean;
  /** The checks' own verdict by fall and rise (no delay, no operator): where the site would go if left alone. */
  #checksUp: boolean;
  #checked = false;
  /** A check has passed since the start: a later fall may be held for manual recovery. */
  #passedOnce = false;
  #passes = 0;
  #failures = 0;
  #reason = 'not checked yet';
  #downAt: number | null = null;
  #held = false;
  #disabled = false;
  #since: number | null = null;

  constructor(options: SiteStateOptions) {
    this.#o = options;
    this.#up = options.startAs === 'up';
    this.#checksUp = this.#up;
  }

  get up(): boolean {
    return this.#up;
  }

  /** When tick() must be called for a pending delay to end; null when none is pending. */
  deadline(): number | null {
    return this.#downAt;
  }

  /** Record one check result with its words (the probe's reason). Returns what changed, in order. */
  record(ok: boolean, reason: string, now: number): readonly SiteEvent[] {
    const events: SiteEvent[] = [];
    this.#settle(now, events);
    const first = !this.#checked;
    this.#checked = true;
    this.#reason = reason;
    if (ok) {
      this.#passes++;
      this.#failures = 0;
      this.#passedOnce = true;
    } else {
      this.#failures++;
      this.#passes = 0;
    }
    if (ok) this.#onPass(first, now, events);
    else this.#onFailure(first, now, events);
    return events.length === 0 ? NO_EVENTS : events;
  }

  /** End a delay that ran out. Call at deadline(); harmless at any time. */
  tick(now: number): readonly SiteEvent[] {
    const events: SiteEvent[] = [];
    this.#settle(now, events);
    return events.length === 0 ? NO_EVENTS : events;
  }

  /**
   * The operator puts the site back (`fulcrum gslb site enable FQDN SITE`): clears a manual hold
   * and a disable. The site is up at once when its checks pass (or it was never checked and
   * starts up); otherwise it comes up by itself after `rise` passing checks.
   */
  enable(now: number): readonly SiteEvent[] {
    const wasHeld = this.#held || this.#disabled;
    this.#held = false;
    this.#disabled = false;
    if (this.#up || !wasHeld) return NO_EVENTS;
    if (!this.#checksUp) return [this.#event('enabled', now, `is enabled by an operator and stays DOWN until its checks pass (${this.#progressToUp()}): ${this.#reason}`)];
    return [this.#goUp(now, 'is UP: enabled by an operator')];
  }

  /** The operator takes the site out (maintenance) until enable(), whatever its checks say. */
  disable(now: number): readonly SiteEvent[] {
    this.#disabled = true;
    this.#downAt = null;
    if (!this.#up) return NO_EVENTS;
    return [this.#goDown(now, 'is DOWN: disabled by an operator')];
  }

  snapshot(): SiteSnapshot {
    return {
      up: this.#up,
      checksUp: this.#checksUp,
      checked: this.#checked,
      passedOnce: this.#passedOnce,
      passes: this.#passes,
      failures: this.#failures,
      reason: this.#reason,
      delayFrom: this.#downAt === null ? null : this.#downAt - this.#o.delay,
      held: this.#held,
      disabled: this.#disabled,
      since: this.#since,
    };
  }

  /**
   * Take over the state of the machine this one replaces (a reload), under this one's options.
   * Call it on a new machine, before any record(). Health, counts, a running delay, the manual
   * hold and an operator's disable all carry, whatever the check became; startAs does not apply
   * (it is for a site never seen before). The new thresholds apply from here on:
   * - a fail or pass count that reaches the new fall or rise is cut to one short of it, so the
   *   next check result decides by the normal rule, not the reload;
   * - a running delay now ends `delay` after it started, by the new delay: a shorter one that
   *   has run out by `now` takes the site down here (the returned event says so);
   * - a site whose check was removed (`withoutCheck`) is up, as every site without a check is,
   *   unless it is held or disabled: it would never get a check result to bring it back;
   * - a hold stays when recovery became automatic: the site left the answers under manual
   *   recovery, and an operator lets it back.
   * Returns the events of what the new options changed at once, like record().
   */
  restore(snapshot: SiteSnapshot, now: number, { withoutCheck = false }: RestoreOptions = {}): readonly SiteEvent[] {
    this.#up = snapshot.up;
    this.#checksUp = snapshot.checksUp;
    this.#checked = snapshot.checked;
    this.#passedOnce = snapshot.passedOnce;
    this.#passes = this.#checksUp ? snapshot.passes : Math.min(snapshot.passes, this.#o.rise - 1);
    this.#failures = this.#checksUp ? Math.min(snapshot.failures, this.#o.fall - 1) : snapshot.failures;
    this.#reason = snapshot.reason;
    this.#downAt = snapshot.delayFrom === null ? null : snapshot.delayFrom + this.#o.delay;
    this.#held = snapshot.held;
    this.#disabled = snapshot.disabled;
    this.#since = snapshot.since;
    const events: SiteEvent[] = [];
    if (withoutCheck) {
      this.#checksUp = true;
      this.#checked = false;
      this.#passes = 0;
      this.#failures = 0;
      this.#downAt = null;
      this.#reason = 'not checked yet';
      if (!this.#up && !this.#held && !this.#disabled) events.push(this.#goUp(now, 'is UP: a reload removed its check (type none), and a site without a check is always up'));
    }
    this.#settle(now, events);
    return events.length === 0 ? NO_EVENTS : events;
  }

  status(): SiteStatus {
    return {
      up: this.#up,
      checked: this.#checked,
      reason: this.#reason,
      progress: this.#progress(),
      held: this.#held,
      disabled: this.#disabled,
      downAt: this.#downAt,
      since: this.#since,
    };
  }

  #onPass(first: boolean, now: number, events: SiteEvent[]): void {
    if (this.#downAt !== null) {
      this.#downAt = null;
      this.#checksUp = true;
      events.push(this.#event('delay-cancelled', now, `stays UP: a check passed during the ${delayText(this.#o.delay)} delay: ${this.#reason}`));
      return;
    }
    if (this.#checksUp) return;
    if (!first && this.#passes < this.#o.rise) return;
    this.#checksUp = true;
    if (this.#disabled) return;
    if (this.#held) {
      events.push(this.#event('recoverable', now, `checks pass again (${this.#passes} in a row); waiting for manual recovery (fulcrum gslb site enable ${this.#o.fqdn} ${this.#o.site}): ${this.#reason}`));
      return;
    }
    const after = first ? 'its first check passed' : `${this.#passes} passed checks`;
    events.push(this.#goUp(now, `is UP after ${after}: ${this.#reason}`));
  }

  #onFailure(first: boolean, now: number, events: SiteEvent[]): void {
    // Already judged down, or a delay is running whose end takes the site down.
    if (!this.#checksUp || this.#downAt !== null) return;
    if (!first && this.#failures < this.#o.fall) return;
    this.#checksUp = false;
    if (!this.#up) return; // disabled, or started down: nothing leaves the answers
    if (first) {
      events.push(this.#goDown(now, `is DOWN: its first check failed: ${this.#reason}`));
      return;
    }
    if (this.#o.delay === 0) {
      events.push(this.#goDown(now, `is DOWN after ${this.#failures} failed checks and a 0s delay: ${this.#reason}`));
      return;
    }
    this.#downAt = now + this.#o.delay;
    events.push(this.#event('delaying', now, `will go DOWN in ${delayText(this.#o.delay)} unless a check passes, after ${this.#failures} failed checks: ${this.#reason}`));
  }

  #settle(now: number, events: SiteEvent[]): void {
    if (this.#downAt === null || now < this.#downAt) return;
    const at = this.#downAt;
    this.#downAt = null;
    // fall failures started the delay; more may have come in it, which the words need not count.
    events.push(this.#goDown(at, `is DOWN after ${this.#o.fall} failed checks and a ${delayText(this.#o.delay)} delay: ${this.#reason}`));
  }

  #goDown(at: number, words: string): SiteEvent {
    this.#up = false;
    this.#since = at;
    this.#held = this.#o.recovery === 'manual' && this.#passedOnce && !this.#disabled;
    const hold = this.#held ? '; it stays out until an operator enables it (recovery: manual)' : '';
    return this.#event('down', at, `${words}${hold}`);
  }

  #goUp(at: number, words: string): SiteEvent {
    this.#up = true;
    this.#since = at;
    return this.#event('up', at, words);
  }

  #event(kind: SiteEventKind, at: number, words: string): SiteEvent {
    return { kind, fqdn: this.#o.fqdn, site: this.#o.site, at, up: this.#up, message: `site "${this.#o.site}" of ${this.#o.fqdn} ${words}` };
  }

  #progressToUp(): string {
    return `pass ${this.#passes} of ${this.#o.rise}`;
  }

  #progress(): string {
    if (this.#disabled) return 'disabled by an operator';
    if (this.#downAt !== null) return `going down at the end of the ${delayText(this.#o.delay)} delay unless a check passes`;
    if (this.#held) return this.#checksUp ? 'checks pass again; waiting for manual recovery' : `checks fail; held for manual recovery (${this.#progressToUp()})`;
    if (this.#up && this.#failures > 0) return `failure ${this.#failures} of ${this.#o.fall} before down`;
    if (!this.#up && this.#checked && this.#passes > 0) return `pass ${this.#passes} of ${this.#o.rise} before up`;
    return '';
  }
}

/** "0s" rather than formatDuration's "0ms": the config examples write 0s. */
function delayText(ms: number): string {
  return ms === 0 ? '0s' : formatDuration(ms);
}
