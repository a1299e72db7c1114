import { ErrorCode, FulcrumError } from '../errors.ts';
import type { RealServer } from '../pool/real-server.ts';
import { adaptive } from './adaptive.ts';
import { fixedWeight } from './fixed-weight.ts';
import { leastConnections } from './least-connections.ts';
import { randomTwoChoices } from './random-two-choices.ts';
import { roundRobin } from './round-robin.ts';
import type { Scheduler, SchedulerModule } from './scheduler.ts';
import { sourceIpHash } from './source-ip-hash.ts';
import { weightedLeastConnections } from './weighted-least-connections.ts';
import { weightedRoundRobin } from './weighted-round-robin.ts';

export type { PickContext, Scheduler, SchedulerModule } from './scheduler.ts';

/** Every scheduling method by its config name. */
export const schedulers: ReadonlyMap<string, SchedulerModule> = new Map(
  [
    roundRobin,
    weightedRoundRobin,
    leastConnections,
    weightedLeastConnections,
    sourceIpHash,
    fixedWeight,
    randomTwoChoices,
    adaptive,
  ].map((module) => [module.name, module]),
);

/**
 * A scheduler of the named method over `servers`. Config validation should have rejected an
 * unknown name already; this throws FULCRUM_ERR_CONFIG_INVALID for callers that skipped it.
 */
export function createScheduler(name: string, servers: readonly RealServer[]): Scheduler {
  const module = schedulers.get(name);
  if (module === undefined) {
    throw new FulcrumError(
      ErrorCode.CONFIG_INVALID,
      `Unknown scheduling method "${name}". Use one of: ${[...schedulers.keys()].join(', ')}.`,
    );
  }
  return module.create(servers);
}
