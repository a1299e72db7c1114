import { createServer, type AddressInfo, type Server, type ServerOpts, type Socket } from 'node:net';
import { listenShared } from './listen-shared.ts';

/**
 * Listening sockets bound to one address per worker, all feeding one connection handler.
 *
 * libuv accepts one connection per listening socket per event-loop turn (since libuv 1.45:
 * "unix: don't accept() connections in a loop", PR 3696). A worker busy with its clients turns
 * slowly: under `h2load -c 100 -m 10` over TLS, a turn took 50-100 ms, so a single socket took
 * in about 15 connections a second and the last of 100 clients waited 2 s in the kernel's
 * accept queue before its handshake began (measured; HAProxy accepts up to 64 per turn,
 * `tune.maxaccept`). Each socket of the group is bound with SO_REUSEPORT like the other workers'
 * and the kernel spreads connections over all of them, so a worker takes in up to `SOCKETS`
 * connections a turn, and a burst (a reload, an HA failover that moves every client at once)
 * does not queue behind the traffic already being served.
 *
 * `maxConnections` bounds the group as a whole (net.Server's own count is per socket).
 */
export const SOCKETS = 8;

export class AcceptGroup {
  readonly #servers: Server[] = [];
  readonly #onConnection: (socket: Socket) => void;
  #open = 0;
  /** Connections open at once over the whole group; past it a new one is closed at once (as net.Server's maxConnections does). */
  maxConnections = Infinity;

  constructor(options: ServerOpts, onConnection: (socket: Socket) => void, sockets = SOCKETS) {
    this.#onConnection = onConnection;
    for (let i = 0; i < sockets; i++) this.#servers.push(createServer(options, this.#accept));
  }

  readonly #accept = (socket: Socket): void => {
    if (this.#open >= this.maxConnections) {
      socket.destroy();
      return;
    }
    this.#open++;
    socket.once('close', this.#closed);
    this.#onConnection(socket);
  };

  readonly #closed = (): void => {
    this.#open--;
  };

  /** Bind every socket; if one fails, the ones already bound are closed and the bind error is thrown. */
  async listen(host: string, port: number, backlog?: number): Promise<void> {
    try {
      let bound = port;
      for (const server of this.#servers) {
        await listenShared(server, host, bound, backlog);
        // Port 0: the first socket's port, for every other one.
        bound = (server.address() as AddressInfo).port;
      }
    } catch (err) {
      for (const server of this.#servers) if (server.listening) server.close();
      throw err;
    }
  }

  get listening(): boolean {
    return this.#servers[0]!.listening;
  }

  /** Connections accepted and not yet closed. */
  get open(): number {
    return this.#open;
  }

  address(): AddressInfo {
    return this.#servers[0]!.address() as AddressInfo;
  }

  /** Stop accepting at once; resolves once every connection of the group has closed (net.Server semantics). */
  close(): Promise<void> {
    return Promise.all(this.#servers.map((server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())))).then(() => undefined);
  }
}
