/**
 * Compile a rule list's matches into one RuleMatcher for the data path.
 *
 * - Every distinct condition is an atom, evaluated at most once per request (identical
 *   conditions in several rules share one atom). Stamps with a request generation mark which
 *   atoms are known, so a request starts without clearing anything.
 * - Host names, exact paths and path prefixes are answered for all rules at once by the indexes
 *   of match-index.ts when the request starts; other atoms (regexes, suffixes, method, fields,
 *   address, country) are evaluated lazily, when a rule's boolean structure reaches them.
 * - A rule whose match requires a host name, exact path or prefix (at the top level or in a
 *   top-level all) is gated on that atom: it is only tried when the index found it true. The
 *   rules tried are a merge of the ungated rules and the gated lists of the true atoms, in rule
 *   order, so a thousand host rules cost one lookup, not a thousand checks.
 * - Within a conjunction, the cheaper conditions run first (indexed, then method and address,
 *   then fields, then regexes); matching has no side effects, so the order changes only the cost.
 *
 * Nothing is allocated per rule; the per-request work allocates only the strings the request
 * values need (a query parameter's value, a host's suffixes when there are wildcards).
 *
 * Measured on Node 24 with half host+prefix rules, half prefix+method rules, plus a header rule
 * and a regex rule: about 0.3 us per request for 10, 1,000 and 10,000 rules alike (0.5 us at
 * 10,000), where the naive interpreter takes 1.5 us, 29 us and 225 us.
 */
import { CidrSet } from '../ip/cidr-set.ts';
import { conjunctPathRegex, type FieldCondition, type MatchConfig } from '../config/rule-match.ts';
import { fillCaptures } from './captures.ts';
import { equalsIgnoringAsciiCase, FieldCache } from './match-fields.ts';
import { type AtomSink, ExactIndex, PrefixTrie, WildcardIndex } from './match-index.ts';
import type { Captures, MatchInput, RuleMatcher } from './types.ts';

type Test = (input: MatchInput) => boolean;

/** How an atom is decided: by an index pass at the start of the request, or lazily. */
const AtomKind = { HOST_NAMES: 0, PATH_EXACT: 1, PATH_PREFIX: 2, LAZY: 3 } as const;
type AtomKind = (typeof AtomKind)[keyof typeof AtomKind];

/** Evaluation order within a conjunction, cheapest first. */
const Cost = { INDEXED: 0, CHEAP: 1, FIELD: 2, REGEX: 3 } as const;

/** Gate preference: a host name is usually the most selective, then an exact path, then a prefix. */
const GATE_ORDER: readonly AtomKind[] = [AtomKind.HOST_NAMES, AtomKind.PATH_EXACT, AtomKind.PATH_PREFIX];

interface Compiled {
  test: Test;
  cost: number;
}

export function compileMatcher(matches: readonly MatchConfig[]): RuleMatcher {
  return new CompiledMatcher(matches);
}

class CompiledMatcher implements RuleMatcher {
  #generation = 0;
  #stamp = new Uint32Array(0);
  #value = new Uint8Array(0);
  readonly #kind: AtomKind[] = [];
  readonly #lazy: (Test | null)[] = [];
  readonly #atomIds = new Map<string, number>();
  readonly #regexes = new Map<string, RegExp>();

  readonly #hosts = new ExactIndex();
  readonly #wildcards = new WildcardIndex();
  readonly #paths = new ExactIndex();
  readonly #prefixes = new PrefixTrie();
  readonly #headers = new FieldCache('header');
  readonly #cookies = new FieldCache('cookie');
  readonly #queries = new FieldCache('query');
  #countryStamp = 0;
  #country: string | null = null;

  readonly #rules: Test[] = [];
  readonly #captureRegex: (RegExp | null)[] = [];
  /** Per atom: the rules gated on it, ascending, or null. */
  #gateRules: (Int32Array | null)[] = [];
  #ungated = new Int32Array(0);
  /** This request's true gate atoms, and a cursor into each one's rule list. */
  #trueGates = new Int32Array(0);
  #cursors = new Int32Array(0);
  #trueGateCount = 0;

  readonly #markTrue: AtomSink = (atom) => {
    if (this.#stamp[atom] === this.#generation) return;
    this.#stamp[atom] = this.#generation;
    this.#value[atom] = 1;
    if (this.#gateRules[atom] !== null) {
      this.#trueGates[this.#trueGateCount] = atom;
      this.#cursors[this.#trueGateCount] = 0;
      this.#trueGateCount++;
    }
  };

  constructor(matches: readonly MatchConfig[]) {
    const gates: number[] = [];
    for (const match of matches) {
      const conjunctAtoms: number[] = [];
      this.#rules.push(this.#compile(match, conjunctAtoms).test);
      const source = conjunctPathRegex(match);
      this.#captureRegex.push(source === null ? null : this.#regex(source));
      gates.push(this.#pickGate(conjunctAtoms));
    }
    const atoms = this.#kind.length;
    this.#stamp = new Uint32Array(atoms);
    this.#value = new Uint8Array(atoms);
    this.#trueGates = new Int32Array(atoms);
    this.#cursors = new Int32Array(atoms);
    const gated: number[][] = Array.from({ length: atoms }, () => []);
    const ungated: number[] = [];
    gates.forEach((gate, rule) => (gate === -1 ? ungated : gated[gate]!).push(rule));
    this.#gateRules = gated.map((rules) => (rules.length === 0 ? null : Int32Array.from(rules)));
    this.#ungated = Int32Array.from(ungated);
  }

  match(input: MatchInput, captures: Captures): number {
    this.#begin(input);
    const ungated = this.#ungated;
    let ungatedCursor = 0;
    for (;;) {
      // The lowest rule index not yet tried among the ungated rules and the true gates' lists.
      let best = ungatedCursor < ungated.length ? ungated[ungatedCursor]! : 0x7fffffff;
      let from = -1;
      for (let g = 0; g < this.#trueGateCount; g++) {
        const list = this.#gateRules[this.#trueGates[g]!]!;
        const cursor = this.#cursors[g]!;
        if (cursor < list.length && list[cursor]! < best) {
          best = list[cursor]!;
          from = g;
        }
      }
      if (best === 0x7fffffff) {
        captures.count = 0;
        return -1;
      }
      if (from === -1) ungatedCursor++;
      else this.#cursors[from]!++;
      if (this.#rules[best]!(input)) {
        const regex = this.#captureRegex[best]!;
        if (regex === null) captures.count = 0;
        else fillCaptures(captures, regex.exec(input.path)!);
        return best;
      }
    }
  }

  #begin(input: MatchInput): void {
    if (++this.#generation === 0xffffffff) {
      this.#generation = 1;
      this.#stamp.fill(0);
      this.#countryStamp = 0;
      for (const cache of [this.#headers, this.#cookies, this.#queries]) cache.resetStamps();
    }
    this.#trueGateCount = 0;
    if (!this.#hosts.empty) this.#hosts.visit(input.host, this.#markTrue);
    if (!this.#wildcards.empty) this.#wildcards.visit(input.host, this.#markTrue);
    if (!this.#paths.empty) this.#paths.visit(input.path, this.#markTrue);
    if (!this.#prefixes.empty) this.#prefixes.visit(input.path, this.#markTrue);
  }

  #atom(id: number, input: MatchInput): boolean {
    if (this.#stamp[id] === this.#generation) return this.#value[id] === 1;
    // An indexed atom the index passes did not mark is false.
    const lazy = this.#lazy[id] ?? null;
    const result = lazy !== null && lazy(input);
    this.#stamp[id] = this.#generation;
    this.#value[id] = result ? 1 : 0;
    return result;
  }

  #pickGate(conjunctAtoms: number[]): number {
    for (const kind of GATE_ORDER) {
      const atom = conjunctAtoms.find((id) => this.#kind[id] === kind);
      if (atom !== undefined) return atom;
    }
    return -1;
  }

  /** `conjunctAtoms`: where to record indexed atoms that must hold, or null below any/not. */
  #compile(match: MatchConfig, conjunctAtoms: number[] | null): Compiled {
    const parts: Compiled[] = [];
    const atom = (key: string, kind: AtomKind, cost: number, lazy: Test | null, register?: (id: number) => void): void => {
      const id = this.#atomFor(key, kind, lazy, register);
      if (kind !== AtomKind.LAZY) conjunctAtoms?.push(id);
      parts.push({ test: (input) => this.#atom(id, input), cost });
    };
    const { host, path } = match;
    if (host !== undefined) {
      if ('regex' in host) {
        const regex = this.#regex(host.regex);
        atom(`host~${host.regex}`, AtomKind.LAZY, Cost.REGEX, (input) => regex.test(input.host));
      } else {
        atom(`host=${[...host.names].sort().join(' ')}`, AtomKind.HOST_NAMES, Cost.INDEXED, null, (id) => {
          for (const name of host.names) {
            if (name.startsWith('*.')) this.#wildcards.add(name.slice(2), id);
            else this.#hosts.add(name, id);
          }
        });
      }
    }
    if (path !== undefined) {
      if ('exact' in path) {
        atom(`path=${JSON.stringify([...path.exact].sort())}`, AtomKind.PATH_EXACT, Cost.INDEXED, null, (id) => {
          for (const exact of path.exact) this.#paths.add(exact, id);
        });
      } else if ('prefix' in path) {
        atom(`path^${JSON.stringify([...path.prefix].sort())}`, AtomKind.PATH_PREFIX, Cost.INDEXED, null, (id) => {
          for (const prefix of path.prefix) this.#prefixes.add(prefix, id);
        });
      } else if ('suffix' in path) {
        const suffixes = path.suffix;
        atom(`path$${JSON.stringify(suffixes)}`, AtomKind.LAZY, Cost.FIELD, (input) => suffixes.some((suffix) => input.path.endsWith(suffix)));
      } else {
        const regex = this.#regex(path.regex);
        atom(`path~${path.regex}`, AtomKind.LAZY, Cost.REGEX, (input) => regex.test(input.path));
      }
    }
    if (match.method !== undefined) {
      const methods = new Set(match.method);
      atom(`method=${[...methods].sort().join(' ')}`, AtomKind.LAZY, Cost.CHEAP, (input) => methods.has(input.method));
    }
    if (match.header !== undefined) this.#fieldAtom(match.header, this.#headers, 'header', atom);
    if (match.query !== undefined) this.#fieldAtom(match.query, this.#queries, 'query', atom);
    if (match.cookie !== undefined) this.#fieldAtom(match.cookie, this.#cookies, 'cookie', atom);
    if (match.clientAddress !== undefined) {
      const networks = CidrSet.fromText(match.clientAddress);
      atom(`client=${[...match.clientAddress].sort().join(' ')}`, AtomKind.LAZY, Cost.CHEAP, (input) => networks.has(input.clientFamily, input.clientBytes));
    }
    if (match.country !== undefined) {
      const countries = new Set(match.country);
      atom(`country=${[...countries].sort().join(' ')}`, AtomKind.LAZY, Cost.FIELD, (input) => {
        const country = this.#countryOf(input);
        return country !== null && countries.has(country);
      });
    }
    if (match.clientCertificate !== undefined) {
      // Facts of the connection, already read: one property read, plus a regex on the subject.
      const { verified, subject } = match.clientCertificate;
      const regex = subject !== undefined && 'regex' in subject ? this.#regex(subject.regex) : null;
      const equals = subject !== undefined && 'equals' in subject ? subject.equals : null;
      atom(`cert:${JSON.stringify(match.clientCertificate)}`, AtomKind.LAZY, regex === null ? Cost.CHEAP : Cost.REGEX, (input) => {
        const facts = input.clientCertificate();
        const ok = facts !== null && facts.verified;
        if (verified !== undefined && verified !== ok) return false;
        if (subject === undefined) return true;
        return ok && (regex === null ? facts.subject === equals : regex.test(facts.subject));
      });
    }
    if (match.all !== undefined) for (const inner of match.all) parts.push(this.#compile(inner, conjunctAtoms));
    if (match.any !== undefined) parts.push(disjunction(match.any.map((inner) => this.#compile(inner, null))));
    if (match.not !== undefined) {
      const inner = this.#compile(match.not, null);
      const test = inner.test;
      parts.push({ test: (input) => !test(input), cost: inner.cost });
    }
    return conjunction(parts);
  }

  #fieldAtom(condition: FieldCondition, cache: FieldCache, source: string, atom: (key: string, kind: AtomKind, cost: number, lazy: Test) => void): void {
    const id = cache.idOf(condition.name);
    const read = (input: MatchInput): string | null => cache.read(id, this.#generation, input);
    const key = `${source}:${JSON.stringify(condition)}`;
    if ('present' in condition) {
      const wanted = condition.present;
      atom(key, AtomKind.LAZY, Cost.FIELD, (input) => (read(input) !== null) === wanted);
    } else if ('equals' in condition) {
      const expected = condition.equals;
      if (condition.ignoreCase) {
        const lower = asciiLower(expected);
        atom(key, AtomKind.LAZY, Cost.FIELD, (input) => {
          const value = read(input);
          return value !== null && equalsIgnoringAsciiCase(value, lower);
        });
      } else {
        atom(key, AtomKind.LAZY, Cost.FIELD, (input) => read(input) === expected);
      }
    } else {
      const regex = this.#regex(condition.regex);
      atom(key, AtomKind.LAZY, Cost.REGEX, (input) => {
        const value = read(input);
        return value !== null && regex.test(value);
      });
    }
  }

  #atomFor(key: string, kind: AtomKind, lazy: Test | null, register?: (id: number) => void): number {
    let id = this.#atomIds.get(key);
    if (id === undefined) {
      id = this.#kind.length;
      this.#atomIds.set(key, id);
      this.#kind.push(kind);
      this.#lazy.push(lazy);
      register?.(id);
    }
    return id;
  }

  /** One RegExp per source: the patterns were accepted by compileSafeRegex when the config loaded. */
  #regex(source: string): RegExp {
    let regex = this.#regexes.get(source);
    if (regex === undefined) {
      regex = new RegExp(source);
      this.#regexes.set(source, regex);
    }
    return regex;
  }

  #countryOf(input: MatchInput): string | null {
    if (this.#countryStamp !== this.#generation) {
      this.#country = input.country();
      this.#countryStamp = this.#generation;
    }
    return this.#country;
  }
}

function conjunction(parts: Compiled[]): Compiled {
  const sorted = [...parts].sort((a, b) => a.cost - b.cost);
  const cost = Math.max(Cost.INDEXED, ...sorted.map((part) => part.cost));
  const tests = sorted.map((part) => part.test);
  if (tests.length === 1) return { test: tests[0]!, cost };
  if (tests.length === 2) {
    const [a, b] = tests as [Test, Test];
    return { test: (input) => a(input) && b(input), cost };
  }
  return {
    test: (input) => {
      for (let i = 0; i < tests.length; i++) if (!tests[i]!(input)) return false;
      return true;
    },
    cost,
  };
}

function disjunction(parts: Compiled[]): Compiled {
  const sorted = [...parts].sort((a, b) => a.cost - b.cost);
  const cost = Math.max(Cost.INDEXED, ...sorted.map((part) => part.cost));
  const tests = sorted.map((part) => part.test);
  if (tests.length === 1) return { test: tests[0]!, cost };
  return {
    test: (input) => {
      for (let i = 0; i < tests.length; i++) if (tests[i]!(input)) return true;
      return false;
    },
    cost,
  };
}

function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}
