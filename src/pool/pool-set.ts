/**
 * Every pool of a config, as one worker runs them. Built at each config apply: a pool whose name
 * stays keeps its real servers' state (the Pool constructor takes it over), whoever uses it.
 */
import type { PoolConfig } from '../config/pool.ts';
import { Pool } from './pool.ts';
import type { PoolEventSink } from './types.ts';

export class PoolSet {
  readonly #pools: ReadonlyMap<string, Pool>;

  private constructor(pools: ReadonlyMap<string, Pool>) {
    this.#pools = pools;
  }

  /** `previous`: the running set, whose pools of the same name hand over their state. */
  static build(configs: readonly PoolConfig[], previous: PoolSet | null, events: PoolEventSink, now = Date.now()): PoolSet {
    const pools = new Map<string, Pool>();
    for (const config of configs) pools.set(config.name, new Pool(config, previous?.get(config.name) ?? null, events, now));
    return new PoolSet(pools);
  }

  static empty(): PoolSet {
    return new PoolSet(new Map());
  }

  /** A set of running pools (to hand as `previous` to build). */
  static of(pools: Iterable<Pool>): PoolSet {
    return new PoolSet(new Map([...pools].map((pool) => [pool.name, pool])));
  }

  get(name: string): Pool | undefined {
    return this.#pools.get(name);
  }

  /** The pool named by a validated config (resolve-pools.ts checked every reference). */
  require(name: string): Pool {
    const pool = this.#pools.get(name);
    if (pool === undefined) throw new Error(`no pool "${name}" in this config`);
    return pool;
  }

  values(): IterableIterator<Pool> {
    return this.#pools.values();
  }

  /** Pools of `previous` that this set does not keep: nothing runs on them once their last client has gone. */
  droppedFrom(previous: PoolSet): Pool[] {
    const dropped: Pool[] = [];
    for (const pool of previous.values()) if (this.#pools.get(pool.name) === undefined) dropped.push(pool);
    return dropped;
  }
}
