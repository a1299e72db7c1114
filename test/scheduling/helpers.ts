import { RealServer } from '../../src/pool/real-server.ts';
import type { PickContext, Scheduler } from '../../src/scheduling/scheduler.ts';

export interface ServerSpec {
  weight: number;
  enabled?: boolean;
  up?: boolean;
  inflight?: number;
}

/**
 * Real servers named a, b, c ... (host = the letter, port 80) from weights or specs, so that
 * expected orders read like HAProxy's reg-tests/balance: "a a b a c a a".
 */
export function makeServers(specs: ReadonlyArray<number | ServerSpec>): RealServer[] {
  return specs.map((spec, index) => {
    const s = typeof spec === 'number' ? { weight: spec } : spec;
    const server = new RealServer(index, String.fromCharCode(97 + index), 80, s.weight, s.enabled ?? true);
    server.up = s.up ?? true;
    server.inflight = s.inflight ?? 0;
    return server;
  });
}

export function ctx(clientAddress = '192.0.2.1', exclude: readonly RealServer[] | null = null): PickContext {
  return { clientAddress, exclude };
}

/** `count` picks as a space-separated string of server letters, "-" for null. */
export function sequence(scheduler: Scheduler, count: number, context: PickContext = ctx()): string {
  const picks: string[] = [];
  for (let i = 0; i < count; i++) picks.push(scheduler.pick(context)?.host ?? '-');
  return picks.join(' ');
}

/** How many of `count` picks each server got, by letter (servers never picked are absent). */
export function tally(scheduler: Scheduler, count: number, context: PickContext = ctx()): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const host = scheduler.pick(context)?.host ?? '-';
    counts.set(host, (counts.get(host) ?? 0) + 1);
  }
  return counts;
}

/** mulberry32: a seeded PRNG so that "random" inputs are the same on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` distinct IPv4 addresses drawn from a seeded PRNG. */
export function randomIPv4s(count: number, seed: number): string[] {
  const random = seededRandom(seed);
  const seen = new Set<string>();
  while (seen.size < count) {
    const n = Math.floor(random() * 4294967296);
    seen.add(`${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`);
  }
  return [...seen];
}
