/**
 * The admin listener's socket: HTTP on loopback, HTTPS elsewhere (admin.tls). Reloads can move
 * it (admin.listen changed) or turn it on and off; `open` binds before anything is committed, so
 * a reload whose admin address is taken fails as a whole, like one whose virtual service address is.
 * New certificates reach a running listener through setSecureContext, without a rebind.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import { formatAddress, type HostPort } from '../config/address.ts';
import type { AdminTls } from './admin-tls.ts';

export type AdminHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** A control plane's requests are small and quick; these bound what a stuck client holds. */
const TIMEOUTS = { headersTimeout: 10_000, requestTimeout: 60_000, keepAliveTimeout: 5_000 };

export class AdminServer {
  readonly address: HostPort;
  readonly secure: boolean;
  readonly #server: Server | TlsServer;
  #certificates: AdminTls | null;

  private constructor(address: HostPort, server: Server | TlsServer, certificates: AdminTls | null) {
    this.address = address;
    this.#server = server;
    this.secure = certificates !== null;
    this.#certificates = certificates;
  }

  /** Bind `address` and serve; rejects with a message that names the address. */
  static open(address: HostPort, handler: AdminHandler, certificates: AdminTls | null = null): Promise<AdminServer> {
    let admin: AdminServer | null = null;
    const server =
      certificates === null
        ? createServer(TIMEOUTS, handler)
        : createTlsServer(
            {
              ...TIMEOUTS,
              ...certificates.defaultOptions,
              // The store of the moment: a certificate change swaps it (updateCertificates).
              SNICallback: (name, done) => done(null, (admin === null ? certificates : admin.#certificates ?? certificates).store.contextFor(name)),
              ALPNProtocols: ['http/1.1'],
            },
            handler,
          );
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        const why = error.code === 'EADDRINUSE' ? 'the address is in use' : error.code === 'EADDRNOTAVAIL' ? 'no interface has this address' : error.message;
        reject(new Error(`admin API cannot listen on ${formatAddress(address)}: ${why} (${error.code ?? 'error'})`));
      };
      server.once('error', onError);
      server.listen({ host: address.host, port: address.port }, () => {
        server.off('error', onError);
        admin = new AdminServer(address, server, certificates);
        resolve(admin);
      });
    });
  }

  /** New admin.tls certificates (a reload, a renewed file): new handshakes use them. */
  updateCertificates(certificates: AdminTls): void {
    this.#certificates = certificates;
    (this.#server as TlsServer).setSecureContext(certificates.defaultOptions);
  }

  /** Stop accepting; requests in flight (a PUT that moved the API) finish, idle connections close. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeIdleConnections();
    });
  }
}

/** The key that tells whether a reload moved the API (or turned TLS on or off): "" when off. */
export function adminKey(address: HostPort | undefined, secure = false): string {
  return address === undefined ? '' : `${secure ? 'https' : 'http'}://${formatAddress(address)}`;
}
