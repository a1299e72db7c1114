import { createServer, type Server, type Socket } from 'node:net';
import { ClientConnection, type ServiceSource } from './client-connection.ts';
import type { EngineContext } from './engine-context.ts';
import type { VirtualService } from './virtual-service.ts';

/**
 * A listening socket for one virtual service. The service it serves can be swapped on reload;
 * connections read `service` at each new request, so keep-alive clients move to the new config
 * at their next request while requests in flight finish on the old one.
 */
export class Listener implements ServiceSource {
  service: VirtualService;
  readonly server: Server;
  readonly connections = new Set<ClientConnection>();
  readonly #ctx: EngineContext;

  constructor(service: VirtualService, ctx: EngineContext) {
    this.service = service;
    this.#ctx = ctx;
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, this.#onConnection);
    this.server.maxConnections = service.limits.maxConnections;
  }

  /** Listen with SO_REUSEPORT so every worker process binds the same address; the kernel spreads connections. */
  listen(): Promise<void> {
    const { host, port } = this.service.config.listen;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host, port, reusePort: true, backlog: 4096 }, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
  }

  update(service: VirtualService): void {
    this.service = service;
    this.server.maxConnections = service.limits.maxConnections;
  }

  readonly #onConnection = (socket: Socket): void => {
    const conn = new ClientConnection(socket, this, this.#ctx, this.#onClosed);
    this.connections.add(conn);
  };

  readonly #onClosed = (conn: ClientConnection): void => {
    this.connections.delete(conn);
  };

  /**
   * Stop accepting at once. Resolves only when every connection has closed as well (net.Server
   * semantics), so callers that drain must not wait for it before telling connections to close.
   */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  drain(): void {
    for (const c of this.connections) c.drain();
  }
}
