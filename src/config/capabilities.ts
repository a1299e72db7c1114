/**
 * What a pool's methods need against what its users' protocols offer, checked at load from the
 * registries (src/scheduling/registry.ts, src/persistence/registry.ts): `persistence: { type:
 * header }` in a pool that a tcp virtual service uses is refused here, with the values that would
 * work, instead of persisting nothing at run time.
 */
import type { z } from 'zod';
import { NEED_WORDS, PROTOCOL_OFFERS, offers, type FrontEndProtocol, type MethodNeed } from '../pool/needs.ts';
import { PERSISTENCE_REGISTRY, persistenceInfo } from '../persistence/registry.ts';
import { SCHEDULER_REGISTRY, schedulerInfo } from '../scheduling/registry.ts';
import { FALLBACK_TYPES } from './persistence.ts';
import type { PathSegment } from './problem.ts';

/** "a, b and c" */
function words(list: readonly string[], last: 'and' | 'or'): string {
  return list.length <= 1 ? (list[0] ?? '') : `${list.slice(0, -1).join(', ')} ${last} ${list.at(-1)}`;
}

/** One use of a pool: a virtual service's default pool, or a rule's. */
export interface PoolUser {
  protocol: FrontEndProtocol;
  virtualService: string;
  /** The rule that routes to the pool; null for the virtual service's default pool. */
  rule: string | null;
}

interface MethodsOf {
  scheduler: string;
  persistence: false | { type: string; fallback: string | null };
}

/**
 * Report every method of `pool` that some user cannot feed. `at` is where the pool's keys are
 * written (['pools', 2] or, for an inline pool, ['virtualServices', 0]); `inline` words the
 * message for a virtual service's own pool.
 */
export function checkPoolCapabilities(pool: MethodsOf, poolName: string, inline: boolean, users: readonly PoolUser[], at: readonly PathSegment[], ctx: z.RefinementCtx): void {
  const check = (needs: readonly MethodNeed[] | undefined, what: string, path: PathSegment[], allowedFor: (p: FrontEndProtocol) => string[]): void => {
    if (needs === undefined) return;
    const misfit = users.find((user) => !offers(user.protocol, needs));
    if (misfit === undefined) return;
    const allowed = allowedFor(misfit.protocol);
    const missing = words(needs.filter((need) => !PROTOCOL_OFFERS[misfit.protocol].includes(need)).map((need) => NEED_WORDS[need]), 'and');
    const offered = words(PROTOCOL_OFFERS[misfit.protocol].map((need) => NEED_WORDS[need]), 'and');
    const user = inline
      ? `a${misfit.protocol.startsWith('http') || misfit.protocol === 'ftp' ? 'n' : ''} ${misfit.protocol} virtual service`
      : `pool "${poolName}" is used by ${misfit.protocol} virtual service "${misfit.virtualService}"${misfit.rule === null ? '' : ` (rule "${misfit.rule}")`}, which`;
    const message = inline
      ? `${what} does not apply to ${user}: it reads ${missing}, and ${user} offers only ${offered}; it can use ${words(allowed, 'or') || 'none'}`
      : `${what} reads ${missing}, but ${user} offers only ${offered}; for it use ${words(allowed, 'or') || 'none'}`;
    ctx.addIssue({ code: 'custom', path: [...at, ...path], input: undefined, message, params: { allowed: allowed.join(', ') } });
  };
  check(schedulerInfo(pool.scheduler)?.needs, `scheduler ${pool.scheduler}`, ['scheduler'], (p) => SCHEDULER_REGISTRY.filter((m) => offers(p, m.needs)).map((m) => m.name));
  if (pool.persistence === false) return;
  const { type, fallback } = pool.persistence;
  const persistenceFor = (p: FrontEndProtocol): string[] => PERSISTENCE_REGISTRY.filter((m) => offers(p, m.needs)).map((m) => m.type);
  check(persistenceInfo(type)?.needs, `persistence type ${type}`, ['persistence', 'type'], persistenceFor);
  // A fallback is read before any response, so only the fallback types may stand in (persistence.ts).
  const fallbackFor = (p: FrontEndProtocol): string[] => persistenceFor(p).filter((t) => t !== type && (FALLBACK_TYPES as readonly string[]).includes(t));
  if (fallback !== null) check(persistenceInfo(fallback)?.needs, `fallback ${fallback}`, ['persistence', 'fallback'], fallbackFor);
}
