/**
 * A port that waits for one FTP data connection from one expected address: the client, after a
 * passive reply Fulcrum rewrote, or the real server, after an active-mode PORT Fulcrum sent it.
 * A connection from any other address is refused and the port keeps waiting: that is the FTP
 * "port theft" and bounce protection (RFC 2577; vsftpd's pasv_promiscuous=NO). The first
 * connection from the expected address closes the port.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { normaliseAddress } from '../ip/client-address.ts';

/** How long a port announced to the client (or the server) waits for its connection. vsftpd waits 60 s; clients connect at once. */
export const DATA_ACCEPT_TIMEOUT_MS = 30_000;

export interface DataPortHandlers {
  /** The expected peer connected; the socket is paused until the relay starts. */
  accepted(socket: Socket): void;
  /** Someone else connected (already destroyed); for the log. */
  refused(peer: string): void;
  /** The port is closed (accepted, timed out, or closed by its owner). */
  closed(port: DataPort): void;
}

export class DataPort {
  readonly port: number;
  readonly expectedIp: string;
  readonly deadline: number;
  readonly #server: Server;
  readonly #handlers: DataPortHandlers;
  readonly #release: () => void;
  #open = true;

  constructor(server: Server, port: number, expectedIp: string, deadline: number, handlers: DataPortHandlers, release: () => void) {
    this.#server = server;
    this.port = port;
    this.expectedIp = expectedIp;
    this.deadline = deadline;
    this.#handlers = handlers;
    this.#release = release;
    server.on('error', () => this.close());
    server.on('connection', this.#onConnection);
  }

  get open(): boolean {
    return this.#open;
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#server.close();
    this.#release();
    this.#handlers.closed(this);
  }

  readonly #onConnection = (socket: Socket): void => {
    socket.on('error', ignore);
    const peer = normaliseAddress(socket.remoteAddress ?? '');
    if (!this.#open) {
      socket.destroy();
      return;
    }
    if (peer !== this.expectedIp) {
      socket.destroy();
      this.#handlers.refused(peer);
      return;
    }
    this.close();
    this.#handlers.accepted(socket);
  };
}

function ignore(): void {}

/** A listening socket on an ephemeral port of `host` (active mode: the real server connects to it). */
export function listenEphemeral(host: string, done: (server: Server | null, port: number) => void): void {
  const server = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true });
  server.once('error', () => {
    server.close();
    done(null, 0);
  });
  server.listen({ host, port: 0, exclusive: true, backlog: 8 }, () => {
    server.removeAllListeners('error');
    done(server, (server.address() as AddressInfo).port);
  });
}
