/**
 * Virtual services built the way the worker runtime builds them (a PoolSet from the config's
 * pools, the front end over it), for tests that drive one listener without a runtime.
 */
import type { Config } from '../../src/config/schema.ts';
import { VirtualService } from '../../src/frontend/virtual-service.ts';
import { PoolSet } from '../../src/pool/pool-set.ts';
import type { PoolEventSink } from '../../src/pool/types.ts';
import { EngineContext } from '../../src/worker/engine-context.ts';

/**
 * The virtual service `name` (default: the first) of `config`. `previous`: the running service
 * whose pools hand over their state, as a reload does.
 */
export function serviceOf(config: Config, previous: VirtualService | null = null, events: PoolEventSink = () => {}, name?: string, ctx = new EngineContext()): VirtualService {
  const vs = name === undefined ? config.virtualServices[0]! : config.virtualServices.find((v) => v.name === name)!;
  const pools = PoolSet.build(config.pools, previous === null ? null : PoolSet.of([previous.pool]), events);
  return new VirtualService(vs, pools, ctx);
}

/**
 * A virtual service's config with its pool's keys beside its own (as the inline form writes them):
 * for tests that check what a config resolves to.
 */
export function withPool<V extends Config['virtualServices'][number]>(config: Config, vs: V | undefined): (V & Config['pools'][number]) | undefined {
  if (vs === undefined) return undefined;
  const pool = config.pools.find((p) => p.name === vs.pool);
  if (pool === undefined) throw new Error(`no pool ${vs.pool}`);
  return { ...pool, ...vs, name: vs.name } as V & Config['pools'][number];
}
