/**
 * The selection policies, one module each behind one interface (HAProxy's lb_* ops in spirit):
 * `rebuild` precomputes on every health or load change, `pick` runs per query and allocates
 * nothing (answers are interned objects made at rebuild time). Every policy chooses among the
 * sites handed to `rebuild`: the healthy sites that hold an address of the asked family (or all
 * of those, for whenAllDown: all), non-empty, in config order.
 */
import { distanceKm, hasPoint } from './place.ts';
import type { Answer, GslbSite, Place, SelectionPolicyName } from './types.ts';

/** One site as one family sees it. */
export interface SiteCandidate {
  /** Position in the FQDN's `sites`: config order, the tie-breaker everywhere. */
  readonly index: number;
  readonly site: GslbSite;
  /** This site's addresses of the family, as one answer. */
  readonly answer: Answer;
}

export interface PolicyContext {
  /** The one Answer object for these sites' addresses together. */
  intern(sites: readonly SiteCandidate[]): Answer;
  /** The load a site last reported (lower is better); null when it has not. */
  loadOf(index: number): number | null;
}

export interface Policy {
  rebuild(sites: readonly SiteCandidate[]): void;
  /** The answer for one query; `client` is where the query comes from, null when unknown. */
  pick(client: Place | null): Answer;
  /** The answers an unlocated client gets, in turn, without advancing any rotation: for the status view. */
  preview(): readonly Answer[];
}

export interface PolicyModule {
  name: SelectionPolicyName;
  /** The answer depends on the client's location: the DNS layer sends the ECS scope from locate.ts, else scope 0. */
  usesLocation: boolean;
  create(context: PolicyContext): Policy;
}

/** Above this many distinct client places, a location memo starts over (GeoIP can yield thousands). */
const MEMO_LIMIT = 4096;

/** Highest weight first; equal weights keep config order (the first listed wins). */
export function byWeight(sites: readonly SiteCandidate[]): SiteCandidate[] {
  return [...sites].sort((a, b) => b.site.weight - a.site.weight || a.index - b.index);
}

const roundRobin: PolicyModule = {
  name: 'round-robin',
  usesLocation: false,
  create: () => {
    let answers: Answer[] = [];
    let next = 0;
    return {
      rebuild(sites) {
        answers = sites.map((s) => s.answer);
        next = next % answers.length; // keep the rotation going rather than restart at the first site
      },
      pick() {
        const answer = answers[next]!;
        next = next + 1 === answers.length ? 0 : next + 1;
        return answer;
      },
      preview: () => answers,
    };
  },
};

/**
 * nginx's smooth weighted round robin (as src/scheduling/weighted-round-robin.ts, whose
 * smoothWeightedPick is typed for real servers): over a cycle of sum(weights) queries each site
 * answers `weight` times, interleaved (5,1,1 gives a a b a c a a, not five a's in a row).
 */
const weightedRoundRobin: PolicyModule = {
  name: 'weighted-round-robin',
  usesLocation: false,
  create: () => {
    let answers: Answer[] = [];
    let weights = new Float64Array(0);
    let current = new Float64Array(0);
    let total = 0;
    return {
      rebuild(sites) {
        answers = sites.map((s) => s.answer);
        weights = Float64Array.from(sites, (s) => s.site.weight);
        current = new Float64Array(sites.length); // a fresh cycle on every change, as the real-server scheduler does
        total = weights.reduce((sum, w) => sum + w, 0);
      },
      pick() {
        let best = 0;
        for (let i = 0; i < weights.length; i++) {
          current[i] = current[i]! + weights[i]!;
          if (current[i]! > current[best]!) best = i;
        }
        current[best] = current[best]! - total;
        return answers[best]!;
      },
      preview: () => answers,
    };
  },
};

/** The healthy site with the highest weight, the first listed on a tie; the next when it fails: primary and DR. */
const fixedWeight: PolicyModule = {
  name: 'fixed-weight',
  usesLocation: false,
  create: () => {
    let answer: Answer;
    return {
      rebuild(sites) {
        answer = byWeight(sites)[0]!.answer;
      },
      pick: () => answer,
      preview: () => [answer],
    };
  },
};

/** Every healthy site's addresses in one answer; the resolver or client spreads the load. */
const allAvailable: PolicyModule = {
  name: 'all-available',
  usesLocation: false,
  create: (context) => {
    let answer: Answer;
    return {
      rebuild(sites) {
        answer = context.intern(sites);
      },
      pick: () => answer,
      preview: () => [answer],
    };
  },
};

/**
 * The site reporting the lowest load; equal loads go by weight, then config order. A site that
 * has not reported comes after every one that has: silence is no reason to send it everyone.
 * Every answer within a TTL goes to that one site, as with the LoadMaster's equivalent; a low TTL
 * and a load report per check interval keep the herd moving.
 */
const realServerLoad: PolicyModule = {
  name: 'real-server-load',
  usesLocation: false,
  create: (context) => {
    let answer: Answer;
    return {
      rebuild(sites) {
        const rank = (s: SiteCandidate): number => context.loadOf(s.index) ?? Number.POSITIVE_INFINITY;
        answer = [...sites].sort((a, b) => rank(a) - rank(b) || b.site.weight - a.site.weight || a.index - b.index)[0]!.answer;
      },
      pick: () => answer,
      preview: () => [answer],
    };
  },
};

/** A policy whose answer depends only on the client's place: memoised per place object (locate.ts interns them). */
function byPlace(name: SelectionPolicyName, choose: (sites: readonly SiteCandidate[], client: Place | null) => Answer): PolicyModule {
  return {
    name,
    usesLocation: true,
    create: () => {
      let sites: readonly SiteCandidate[] = [];
      let unlocated: Answer;
      const memo = new Map<Place, Answer>();
      return {
        rebuild(next) {
          sites = next;
          unlocated = choose(sites, null);
          memo.clear();
        },
        pick(client) {
          if (client === null) return unlocated;
          let answer = memo.get(client);
          if (answer === undefined) {
            if (memo.size >= MEMO_LIMIT) memo.clear();
            answer = choose(sites, client);
            memo.set(client, answer);
          }
          return answer;
        },
        preview: () => [unlocated],
      };
    },
  };
}

/**
 * The nearest site with coordinates by great-circle distance (equal distance: weight, then
 * config order). A client without coordinates, or no site with any, gets the fixed-weight choice.
 */
const proximity = byPlace('proximity', (sites, client) => {
  const fallback = byWeight(sites)[0]!.answer;
  if (client === null || !hasPoint(client)) return fallback;
  let best: SiteCandidate | null = null;
  let bestKm = Number.POSITIVE_INFINITY;
  for (const candidate of byWeight(sites)) {
    const place = candidate.site.location;
    if (place === null || !hasPoint(place)) continue;
    const km = distanceKm(client.lat!, client.lon!, place.lat!, place.lon!);
    if (km < bestKm) {
      best = candidate;
      bestKm = km;
    }
  }
  return best === null ? fallback : best.answer;
});

/**
 * How well a site's location fits a client's. A site in the client's country beats one on its
 * continent, which beats a site without location (it serves everyone, but a site placed near
 * the client is the better choice), which beats any other site (the "then any" of the issue, so
 * that a client never gets an empty answer while a site is up).
 */
export function locationFit(site: Place | null, client: Place | null): number {
  if (site === null) return 1;
  if (client === null) return 0;
  if (site.country !== null && site.country === client.country) return 3;
  if (site.continent !== null && site.continent === client.continent) return 2;
  return 0;
}

/**
 * The best-fitting sites by locationFit; among equals the fixed-weight choice (highest weight,
 * then first listed), so each place gets one stable answer that resolvers can cache by scope.
 */
const location = byPlace('location', (sites, client) => {
  let best = byWeight(sites)[0]!;
  let bestFit = locationFit(best.site.location, client);
  for (const candidate of byWeight(sites)) {
    const fit = locationFit(candidate.site.location, client);
    if (fit > bestFit) {
      best = candidate;
      bestFit = fit;
    }
  }
  return best.answer;
});

export const POLICIES: Readonly<Record<SelectionPolicyName, PolicyModule>> = {
  'round-robin': roundRobin,
  'weighted-round-robin': weightedRoundRobin,
  'fixed-weight': fixedWeight,
  'all-available': allAvailable,
  'real-server-load': realServerLoad,
  proximity,
  location,
};
