/**
 * DNS counters per GSLB FQDN in one worker: responses by RCODE, and answers by the site whose
 * addresses they held. Bounded by the config: one meter per configured FQDN name, and one `other`
 * bucket for every query whose name is not an FQDN (zone records, NXDOMAIN, REFUSED), so a
 * client asking for random names adds nothing.
 *
 * The hot path stays allocation-free: the authority engine hands over the selector's interned
 * Answer, and the meter counts it by its small integer `key` (select.ts); which sites a key
 * means is looked up only when a snapshot is taken. A reload that rebuilds an FQDN's selector
 * (its sites or policy changed) renumbers the keys: the meter notices the new selector at its
 * first answer and folds what the old keys counted into per-site totals first.
 */
import type { FqdnSelector } from '../gslb/select.ts';
import type { Answer } from '../gslb/types.ts';

/** The name of the bucket for queries that did not reach a GSLB FQDN. */
export const OTHER_FQDN = 'other';
/** The site label of answers that held no site's addresses (NODATA, a whenAllDown fixed address). */
export const NO_SITE = 'none';
/** RCODE slots: 0..15 from the header, 16 for BADVERS (answerer.ts counts the same way). */
export const RCODE_SLOTS = 17;

export class FqdnMeter {
  readonly name: string;
  /** Responses by RCODE slot. */
  readonly byRcode = new Float64Array(RCODE_SLOTS);
  #selector: FqdnSelector | null = null;
  /** Answers by key of #selector. */
  #byKey = new Float64Array(8);
  /** Answers counted under selectors replaced since, by site name. */
  readonly #earlier = new Map<string, number>();

  constructor(name: string) {
    this.name = name;
  }

  /** The engine answered a query at this FQDN with `answer`, picked by `selector`. */
  answered(selector: FqdnSelector, answer: Answer): void {
    if (selector !== this.#selector) this.#rebind(selector);
    const key = answer.key;
    if (key >= this.#byKey.length) this.#grow(key);
    this.#byKey[key]!++;
  }

  /** Answers by site name (NO_SITE for those with none), since the worker started. */
  answersBySite(): Record<string, number> {
    const bySite: Record<string, number> = Object.fromEntries(this.#earlier);
    this.#addCurrent((site, count) => (bySite[site] = (bySite[site] ?? 0) + count));
    return bySite;
  }

  #rebind(selector: FqdnSelector): void {
    this.#addCurrent((site, count) => this.#earlier.set(site, (this.#earlier.get(site) ?? 0) + count));
    this.#selector = selector;
    this.#byKey.fill(0);
  }

  #addCurrent(add: (site: string, count: number) => void): void {
    const selector = this.#selector;
    if (selector === null) return;
    for (const answer of selector.answers()) {
      const count = this.#byKey[answer.key] ?? 0;
      if (count === 0) continue;
      if (answer.sites.length === 0) add(NO_SITE, count);
      // An answer holding several sites' addresses (a policy answering all) counts for each.
      for (const site of answer.sites) add(site, count);
    }
  }

  #grow(key: number): void {
    const grown = new Float64Array(Math.max(key + 1, this.#byKey.length * 2));
    grown.set(this.#byKey);
    this.#byKey = grown;
  }
}

/** Every FQDN's meter by name, kept across reloads (the DNS runtime owns it), and the `other` bucket. */
export class FqdnMeters {
  readonly #byName = new Map<string, FqdnMeter>();
  /** Responses by RCODE slot to queries that reached no FQDN. */
  readonly otherByRcode = new Float64Array(RCODE_SLOTS);

  /** The meter of an FQDN of the config (made the first time the name is seen). */
  fqdn(name: string): FqdnMeter {
    let meter = this.#byName.get(name);
    if (meter === undefined) this.#byName.set(name, (meter = new FqdnMeter(name)));
    return meter;
  }

  values(): IterableIterator<FqdnMeter> {
    return this.#byName.values();
  }
}
