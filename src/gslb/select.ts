/**
 * Which addresses one FQDN answers, per family, from its sites' health, the selection policy and
 * the client's place.
 *
 * Per family (A: IPv4, AAAA: IPv6) only the sites holding an address of that family count: an
 * IPv6-only site is not "down" for A queries, it is absent. Everything that depends on health or
 * load is computed when they change (setUp, setLoad); a query is one policy pick over arrays
 * and interned Answer objects, with no allocation. Each distinct answer has a small integer
 * `key`, stable for the life of the selector, so the DNS layer encodes each answer once.
 *
 * When every site of a family is down, `whenAllDown` decides: `all` selects as if every site were
 * up (the policy still applies, so fixed-weight keeps answering the primary: when every check
 * fails at once, the checker's own network is the likelier fault); `none` answers NODATA; a
 * fixed address answers that (NODATA for the family it is not).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { type Policy, type PolicyContext, POLICIES, type SiteCandidate } from './policies.ts';
import type { AddressFamily, Answer, GslbFqdn, Place } from './types.ts';

/** One family's precomputed state. */
interface FamilyState {
  readonly family: AddressFamily;
  /** Sites with an address of this family. */
  readonly candidates: readonly SiteCandidate[];
  readonly policy: Policy;
  /** Set when no policy runs: no site of the family, or all down with whenAllDown none or an address. */
  fixed: Answer | null;
  allDown: boolean;
  healthy: readonly SiteCandidate[];
}

/** What the status view shows for one family. */
export interface FamilyStatus {
  family: AddressFamily;
  /** Sites of this family that are up. */
  up: string[];
  /** No site of this family is up (and some exist): whenAllDown applies. */
  allDown: boolean;
  /** What an unlocated client would get now (several for a rotation), as address lists. */
  answers: string[][];
}

export class FqdnSelector {
  readonly fqdn: GslbFqdn;
  /** Send the ECS scope from locate.ts with the answer (else scope 0). */
  readonly usesLocation: boolean;
  readonly #up: boolean[];
  readonly #loads: (number | null)[];
  readonly #interned = new Map<string, Answer>();
  #nextKey = 0;
  readonly #v4: FamilyState;
  readonly #v6: FamilyState;

  /** `up[i]` is site i's starting health (from its SiteStateMachine); every site up when omitted. */
  constructor(fqdn: GslbFqdn, up?: readonly boolean[]) {
    this.fqdn = fqdn;
    const module = POLICIES[fqdn.selection];
    this.usesLocation = module.usesLocation;
    this.#up = fqdn.sites.map((_, i) => up?.[i] ?? true);
    this.#loads = fqdn.sites.map(() => null);
    const context: PolicyContext = { intern: (sites) => this.#internSites(sites), loadOf: (i) => this.#loads[i] ?? null };
    this.#v4 = this.#familyState(4, module.create(context));
    this.#v6 = this.#familyState(6, module.create(context));
    this.#rebuild(this.#v4);
    this.#rebuild(this.#v6);
  }

  /** The answer for one query. `client` from LocationTable (null: unknown); ignored by policies that do not use location. */
  select(family: AddressFamily, client: Place | null): Answer {
    const state = family === 4 ? this.#v4 : this.#v6;
    return state.fixed ?? state.policy.pick(client);
  }

  /** A site's health changed (from a SiteEvent's `up`). Returns whether anything was recomputed. */
  setUp(siteIndex: number, up: boolean): boolean {
    if (this.#up[siteIndex] === up) return false;
    this.#up[siteIndex] = up;
    this.#rebuild(this.#v4);
    this.#rebuild(this.#v6);
    return true;
  }

  /** A site's reported load (real-server-load; lower wins); null forgets it. */
  setLoad(siteIndex: number, load: number | null): void {
    if (this.#loads[siteIndex] === load) return;
    this.#loads[siteIndex] = load;
    if (this.fqdn.selection !== 'real-server-load') return;
    this.#rebuild(this.#v4);
    this.#rebuild(this.#v6);
  }

  siteIndex(name: string): number {
    return this.fqdn.sites.findIndex((site) => site.name === name);
  }

  /** Every answer made so far, by key: the DNS layer may pre-encode them all (keys are 0..n-1). */
  answers(): Answer[] {
    return [...this.#interned.values()].sort((a, b) => a.key - b.key);
  }

  status(family: AddressFamily): FamilyStatus {
    const state = family === 4 ? this.#v4 : this.#v6;
    const answers = state.fixed !== null ? [state.fixed] : state.policy.preview();
    return {
      family,
      up: state.healthy.map((c) => c.site.name),
      allDown: state.allDown,
      answers: answers.map((a) => [...a.addresses]),
    };
  }

  #familyState(family: AddressFamily, policy: Policy): FamilyState {
    const ofFamily = family === 4 ? isIPv4 : isIPv6;
    const candidates: SiteCandidate[] = [];
    for (const [index, site] of this.fqdn.sites.entries()) {
      const addresses = site.addresses.filter((a) => ofFamily(a));
      if (addresses.length === 0) continue;
      candidates.push({ index, site, answer: this.#intern(family, [site.name], addresses) });
    }
    return { family, candidates, policy, fixed: null, allDown: false, healthy: [] };
  }

  #rebuild(state: FamilyState): void {
    const healthy = state.candidates.filter((c) => this.#up[c.index]);
    state.healthy = healthy;
    state.allDown = state.candidates.length > 0 && healthy.length === 0;
    state.fixed = null;
    if (state.candidates.length === 0) {
      state.fixed = this.#intern(state.family, [], []);
      return;
    }
    if (!state.allDown) {
      state.policy.rebuild(healthy);
      return;
    }
    const fallback = this.fqdn.whenAllDown;
    if (fallback.kind === 'all') {
      state.policy.rebuild(state.candidates);
    } else if (fallback.kind === 'none') {
      state.fixed = this.#intern(state.family, [], []);
    } else {
      const ofFamily = state.family === 4 ? isIPv4 : isIPv6;
      state.fixed = this.#intern(state.family, [], fallback.addresses.filter((a) => ofFamily(a)));
    }
  }

  #internSites(sites: readonly SiteCandidate[]): Answer {
    const family = sites[0]!.answer.family;
    return this.#intern(family, sites.map((s) => s.site.name), sites.flatMap((s) => s.answer.addresses));
  }

  #intern(family: AddressFamily, sites: readonly string[], addresses: readonly string[]): Answer {
    const text = addresses.join(',');
    const id = `${family}|${sites.join(',')}|${text}`;
    let answer = this.#interned.get(id);
    if (answer === undefined) {
      answer = Object.freeze({ key: this.#nextKey++, family, addresses: Object.freeze([...addresses]), sites: Object.freeze([...sites]), text });
      this.#interned.set(id, answer);
    }
    return answer;
  }
}
