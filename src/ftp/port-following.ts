/**
 * port-following mode (explicit FTPS): the control connection is encrypted, so Fulcrum cannot
 * read which port a real server announces. Instead every real server uses the same passive range
 * and announces the virtual service's address; Fulcrum listens on the whole range and carries a
 * data connection from client X on port P to port P of the real server holding X's control
 * connection. Every worker listens on every port (SO_REUSEPORT), so a data connection may reach a
 * worker that does not hold the session: that worker asks source-ip persistence, whose consistent
 * hash gives the same server in every worker (see FtpListener).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { PortRange } from '../config/l4-services.ts';
import { listenShared } from '../worker/listen-shared.ts';

export class DataPortForwarder {
  readonly host: string;
  readonly range: PortRange;
  readonly #servers: Server[] = [];
  readonly #onConnection: (socket: Socket, port: number) => void;

  constructor(host: string, range: PortRange, onConnection: (socket: Socket, port: number) => void) {
    this.host = host;
    this.range = range;
    this.#onConnection = onConnection;
  }

  /** Bind every port of the range; rejects (with nothing left bound) when one cannot be. */
  async listen(): Promise<void> {
    const binds: Promise<void>[] = [];
    for (let port = this.range.first; port <= this.range.last; port++) binds.push(this.#bind(port));
    const results = await Promise.allSettled(binds);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      this.close();
      throw failed.reason;
    }
  }

  close(): void {
    for (const server of this.#servers) server.close();
    this.#servers.length = 0;
  }

  #bind(port: number): Promise<void> {
    const server = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (socket) => this.#onConnection(socket, port));
    this.#servers.push(server);
    return listenShared(server, this.host, port, 64).then(
      () => void server.on('error', ignore),
      (err: NodeJS.ErrnoException) => {
        throw Object.assign(new Error(`cannot listen on ftp.passivePorts port ${this.host}:${port}: ${err.message}`), { code: err.code });
      },
    );
  }
}

function ignore(): void {}
