/**
 * Every scheduling method's name, description and needs, declared once: the config schema (its
 * enum, its description, the generated docs), validation (what each protocol can offer) and the
 * scheduler factories (index.ts) all read this list. Metadata only, so the config can import it
 * without the data path.
 */
import type { MethodNeed } from '../pool/needs.ts';

export interface SchedulerInfo {
  readonly name: string;
  readonly needs: readonly MethodNeed[];
  readonly description: string;
}

export const SCHEDULER_REGISTRY = [
  { name: 'round-robin', needs: ['address'], description: 'Each available real server in turn, one request each; weights are ignored.' },
  {
    name: 'weighted-round-robin',
    needs: ['address'],
    description: 'Smooth weighted round robin (as nginx): each real server gets requests in proportion to its weight, interleaved rather than in bursts.',
  },
  { name: 'least-connections', needs: ['address'], description: 'The real server with the fewest requests (or connections) in flight; equal servers take turns. Weights are ignored.' },
  { name: 'weighted-least-connections', needs: ['address'], description: 'The real server with the fewest requests in flight relative to its weight; idle servers take turns.' },
  {
    name: 'source-ip-hash',
    needs: ['address'],
    description: 'The same client address always reaches the same real server (Maglev consistent hashing); a server leaving or joining moves only about 1/n of the clients.',
  },
  { name: 'fixed-weight', needs: ['address'], description: 'All traffic to the available real server with the highest weight; the next highest takes over when it fails (primary/backup).' },
  {
    name: 'random-two-choices',
    needs: ['address'],
    description: 'Two real servers drawn at random, the one with fewer requests in flight wins (power of two choices); weights break ties.',
  },
  {
    name: 'adaptive',
    needs: ['address'],
    description:
      "Resource-based: weighted round robin in proportion to each real server's spare capacity, as its agent reports it (LoadMaster's HTTP load agent or HAProxy's agent-check; needs adaptive). Weights move smoothly.",
  },
] as const satisfies readonly SchedulerInfo[];

export type SchedulingMethod = (typeof SCHEDULER_REGISTRY)[number]['name'];

export const SCHEDULING_METHODS = SCHEDULER_REGISTRY.map((m) => m.name) as unknown as readonly [SchedulingMethod, ...SchedulingMethod[]];

export function schedulerInfo(name: string): SchedulerInfo | undefined {
  return SCHEDULER_REGISTRY.find((m) => m.name === name);
}
