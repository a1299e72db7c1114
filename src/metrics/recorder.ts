/**
 * One worker's metrics (it hangs off the EngineContext, as ruleHits does): the meters of every
 * virtual service and real server it has served, by name, and their snapshot for the stats IPC
 * answer (WorkerRuntime.stats, WorkerStats.metrics).
 *
 * Meters are found by name once per config apply (a front end takes its service's meter when it
 * is built) or once per RealServer object (cached on it), never per request. A reload keeps the
 * counters of every name it keeps; a name that leaves the config keeps its meter for the life of
 * the worker (a few hundred bytes each; the supervisor renders only the names the running config
 * has), so that a name that comes back continues its counters instead of restarting them.
 */
import type { RealServer } from '../pool/real-server.ts';
import { ServerMeter, ServiceMeter, type ServerMeterSource } from './meters.ts';
import type { MetricsSnapshot } from './types.ts';

export class MetricsRecorder implements ServerMeterSource {
  readonly #services = new Map<string, ServiceMeter>();
  /** By "pool|address". */
  readonly #servers = new Map<string, ServerMeter>();

  /** The meter of a virtual service, made the first time the name is seen. */
  service(name: string): ServiceMeter {
    let meter = this.#services.get(name);
    if (meter === undefined) this.#services.set(name, (meter = new ServiceMeter(name, this)));
    return meter;
  }

  /**
   * The meter of a real server of `pool`, cached on the RealServer: a RealServer belongs to one
   * pool name for its life (pool.ts hands it only to the pool of the same name on a reload).
   */
  serverMeter(pool: string, server: RealServer): ServerMeter {
    const key = `${pool}|${server.id}`;
    let meter = this.#servers.get(key);
    if (meter === undefined) this.#servers.set(key, (meter = new ServerMeter(pool, server.id)));
    server.meter = meter;
    return meter;
  }

  snapshot(): MetricsSnapshot {
    return {
      services: Array.from(this.#services.values(), (m) => m.snapshot()),
      realServers: Array.from(this.#servers.values(), (m) => m.snapshot()),
    };
  }
}
