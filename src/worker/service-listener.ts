/**
 * Types only: what the worker runtime asks of every protocol's listener (HTTP in src/http1, TCP and
 * UDP in src/l4, FTP in src/ftp), so that it runs, reloads, ticks and drains them alike.
 */
import type { VirtualService } from '../frontend/virtual-service.ts';
import type { EngineContext, EventSink } from './engine-context.ts';

export interface ServiceListener {
  /** The service it serves now; a reload swaps it (update). Connections read it when they pick a server. */
  readonly service: VirtualService;
  /** Bind the virtual service's address (SO_REUSEPORT, shared by every worker). Rejects when it cannot. */
  listen(): Promise<void>;
  /** A reload: the same address (and protocol), a new config. Established connections carry on. */
  update(service: VirtualService): void;
  /** Stop accepting. Resolves when the listening socket(s) are closed (not when clients have gone). */
  close(): Promise<void>;
  /** Shutdown or retirement: finish what is in flight, take nothing new, end idle clients. */
  drain(): void;
  /** The worker's 100 ms timer: deadlines, idle timeouts, queues, the service's own tick. */
  tick(now: number): void;
  /** Client connections (TCP) or sessions (UDP) open now. */
  readonly connectionCount: number;
  /** Past the drain grace period: cut whatever is left. */
  destroyAll(): void;
}

/** Which worker this is, for resources that must not be shared between workers (FTP passive ports). */
export interface WorkerIdentity {
  /** 0-based. */
  readonly index: number;
  readonly count: number;
}

/** What every listener is built from. */
export interface ListenerEnv {
  readonly ctx: EngineContext;
  readonly events: EventSink;
  readonly worker: WorkerIdentity;
}
