/**
 * The admin API's listening socket. Reloads can move it (admin.listen changed) or turn it on and
 * off; `open` binds before anything is committed, so a reload whose admin address is taken fails
 * as a whole, like one whose virtual service address is.
 */
import { createServer, type Server } from 'node:http';
import { formatAddress, type HostPort } from '../config/address.ts';
import { createAdminHandler } from './api.ts';
import type { AdminBackend } from './types.ts';

export class AdminServer {
  readonly address: HostPort;
  readonly #server: Server;

  private constructor(address: HostPort, server: Server) {
    this.address = address;
    this.#server = server;
  }

  /** Bind `address` and serve the API; rejects with a message that names the address. */
  static open(address: HostPort, backend: AdminBackend): Promise<AdminServer> {
    const server = createServer(
      // A control plane's requests are small and quick; these bound what a stuck client holds.
      { headersTimeout: 10_000, requestTimeout: 60_000, keepAliveTimeout: 5_000 },
      createAdminHandler(backend),
    );
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        const why = error.code === 'EADDRINUSE' ? 'the address is in use' : error.code === 'EADDRNOTAVAIL' ? 'no interface has this address' : error.message;
        reject(new Error(`admin API cannot listen on ${formatAddress(address)}: ${why} (${error.code ?? 'error'})`));
      };
      server.once('error', onError);
      server.listen({ host: address.host, port: address.port }, () => {
        server.off('error', onError);
        resolve(new AdminServer(address, server));
      });
    });
  }

  /** Stop accepting; requests in flight (a PUT that moved the API) finish, idle connections close. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeIdleConnections();
    });
  }
}

/** The key that tells whether a reload moved the API: "" when off. */
export function adminKey(address: HostPort | undefined): string {
  return address === undefined ? '' : formatAddress(address);
}
