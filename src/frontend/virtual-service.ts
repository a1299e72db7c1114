/**
 * A virtual service as one worker runs it: the front end (listen address, protocol, limits,
 * timeouts, what the engine reads per request or connection) and the pool it routes to by
 * default. The pool is shared (pool-set.ts); the front end is rebuilt at every config apply and
 * handed to its listener, whose connections read it at each new request or connection.
 */
import type { VirtualServiceConfig } from '../config/schema.ts';
import type { Pool } from '../pool/pool.ts';
import type { PoolSet } from '../pool/pool-set.ts';
import type { EngineContext } from '../worker/engine-context.ts';
import { HttpFrontEnd } from './http-front-end.ts';
import { buildFilters } from './filter-chain.ts';
import { ConnectionGate } from '../filters/connection-gate.ts';
import { TlsFrontEnd } from './tls-front-end.ts';
import type { ServiceMeter } from '../metrics/meters.ts';

export class VirtualService {
  readonly name: string;
  readonly config: VirtualServiceConfig;
  /** The pool traffic goes to unless a rule routes it elsewhere. */
  readonly pool: Pool;
  /** The HTTP front end (filters, timeouts, answers); null for tcp, udp and ftp. */
  readonly http: HttpFrontEnd | null;
  /** What a new connection must pass (access for Layer 4, connection limits); null: nothing. */
  readonly gate: ConnectionGate | null;
  /** TLS termination (protocol https): certificates by SNI, the handshake; null: clear text. */
  readonly tls: TlsFrontEnd | null;
  /** Its metrics counters (the worker's, kept across reloads by name): the listeners count connections and their ends here. */
  readonly meter: ServiceMeter;

  /** `tls`: the front end's TLS termination when already built (the runtime builds it first, where a failure changes nothing). */
  constructor(config: VirtualServiceConfig, pools: PoolSet, ctx: EngineContext, tls: TlsFrontEnd | null = null) {
    this.name = config.name;
    this.config = config;
    this.pool = pools.require(config.pool);
    const tlsConfig = config.protocol === 'https' || config.protocol === 'tcp' ? config.tls : undefined;
    this.tls = tlsConfig === undefined ? null : (tls ?? new TlsFrontEnd(tlsConfig, ctx.ticketSecret, config.name));
    this.meter = ctx.metrics.service(config.name);
    if (this.tls !== null) this.tls.meter = this.meter;
    this.http = config.protocol === 'http' || config.protocol === 'https' ? new HttpFrontEnd(config, this.pool, pools, ctx) : null;
    if (this.http !== null) {
      this.http.countries = ctx.countries;
      this.http.setFilters(buildFilters(config, pools, ctx));
    }
    // HTTP checks its access list per request (a trusted proxy may name the client); Layer 4 per connection.
    const gate = new ConnectionGate(ctx.limits, config.name, config.rateLimit, config.protocol === 'http' || config.protocol === 'https' ? undefined : config.access, ctx.countries);
    this.gate = gate.empty ? null : gate;
  }
}
