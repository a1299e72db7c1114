/**
 * One FQDN's live state: a SiteStateMachine per site feeding one FqdnSelector. The glue the
 * check driver, the admin API and the DNS layer share: results and operator actions go in,
 * events (to log) come out, and the selector always reflects the sites' current health.
 *
 * A reload that changes the FQDN builds a new FqdnState (the selector is built from the whole
 * FQDN) and carries each site's state over from the old one by the site's name (carryOver).
 */
import { FqdnSelector, type FamilyStatus } from './select.ts';
import { type SiteEvent, SiteStateMachine, type SiteStatus } from './site-state.ts';
import type { CheckThresholds, GslbFqdn } from './types.ts';

/** A site without a check (check type none) is always up: it never records a result. */
export const DEFAULT_THRESHOLDS: CheckThresholds = { fall: 3, rise: 2, startAs: 'up' };

export interface FqdnStatus {
  name: string;
  selection: string;
  sites: (SiteStatus & { name: string })[];
  /** What the server would answer now, to an unlocated client. */
  answers: { A: FamilyStatus; AAAA: FamilyStatus };
}

export class FqdnState {
  readonly selector: FqdnSelector;
  readonly sites: readonly SiteStateMachine[];
  readonly #fqdn: GslbFqdn;
  /** Per site: its check is type none (it never records a result). */
  readonly #withoutCheck: readonly boolean[];

  /** `thresholds[i]` is site i's check's fall, rise and startAs (DEFAULT_THRESHOLDS when missing). */
  constructor(fqdn: GslbFqdn, thresholds: readonly (CheckThresholds | undefined)[] = []) {
    this.#fqdn = fqdn;
    this.#withoutCheck = fqdn.sites.map((_, i) => thresholds[i] === undefined);
    this.sites = fqdn.sites.map(
      (site, i) => new SiteStateMachine({ ...(thresholds[i] ?? DEFAULT_THRESHOLDS), ...fqdn.siteFailure, fqdn: fqdn.name, site: site.name }),
    );
    this.selector = new FqdnSelector(fqdn, this.sites.map((s) => s.up));
  }

  record(siteIndex: number, ok: boolean, reason: string, now: number): readonly SiteEvent[] {
    return this.#apply(siteIndex, this.#site(siteIndex).record(ok, reason, now));
  }

  enable(siteIndex: number, now: number): readonly SiteEvent[] {
    return this.#apply(siteIndex, this.#site(siteIndex).enable(now));
  }

  disable(siteIndex: number, now: number): readonly SiteEvent[] {
    return this.#apply(siteIndex, this.#site(siteIndex).disable(now));
  }

  /**
   * A reload: each site takes over the state of the site of the same name in `previous` (the
   * FqdnState this one replaces), whatever its check or thresholds became
   * (SiteStateMachine.restore); a site new by name starts from its startAs. Call before any
   * record(). Returns the events of the moves the new config causes by itself, to log.
   */
  carryOver(previous: FqdnState, now: number): SiteEvent[] {
    const events: SiteEvent[] = [];
    for (const [i, site] of this.sites.entries()) {
      const was = previous.#fqdn.sites.findIndex((s) => s.name === this.#fqdn.sites[i]!.name);
      if (was === -1) continue;
      events.push(...site.restore(previous.sites[was]!.snapshot(), now, { withoutCheck: this.#withoutCheck[i]! }));
      this.selector.setUp(i, site.up);
    }
    return events;
  }

  /** End the delays that ran out by `now`; call at deadline(). */
  tick(now: number): SiteEvent[] {
    const events: SiteEvent[] = [];
    for (const [i, site] of this.sites.entries()) events.push(...this.#apply(i, site.tick(now)));
    return events;
  }

  /** The earliest pending delay end over all sites, for the driver's one timer; null when none. */
  deadline(): number | null {
    let earliest: number | null = null;
    for (const site of this.sites) {
      const at = site.deadline();
      if (at !== null && (earliest === null || at < earliest)) earliest = at;
    }
    return earliest;
  }

  status(): FqdnStatus {
    return {
      name: this.#fqdn.name,
      selection: this.#fqdn.selection,
      sites: this.sites.map((s, i) => ({ name: this.#fqdn.sites[i]!.name, ...s.status() })),
      answers: { A: this.selector.status(4), AAAA: this.selector.status(6) },
    };
  }

  #site(index: number): SiteStateMachine {
    const site = this.sites[index];
    if (site === undefined) throw new RangeError(`${this.#fqdn.name} has no site #${index}`);
    return site;
  }

  #apply(siteIndex: number, events: readonly SiteEvent[]): readonly SiteEvent[] {
    if (events.length > 0) this.selector.setUp(siteIndex, this.sites[siteIndex]!.up);
    return events;
  }
}
