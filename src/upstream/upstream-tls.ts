/**
 * The tls.connect options of a real server spoken to over TLS (a pool's or a server's `tls:`),
 * built once per config apply: the CA file read once, the name for SNI and verification. The
 * last session the server gave is kept on the RealServer and offered on the next connection, so
 * a new keep-alive connection costs an abbreviated handshake.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity as checkIdentity, type ConnectionOptions } from 'node:tls';
import type { UpstreamTlsConfig } from '../config/upstream-tls.ts';

export interface UpstreamTls {
  /** What identifies these settings: a reload that changes it retires the server's idle connections. */
  readonly key: string;
  readonly options: ConnectionOptions;
}

export function upstreamTlsOptions(tls: UpstreamTlsConfig | null, host: string): UpstreamTls | null {
  if (tls === null) return null;
  // No SNI for an IP address (RFC 6066 3); the certificate is then checked against the IP.
  const name = tls.serverName ?? (isIP(host) === 0 ? host : null);
  const options: ConnectionOptions = {
    rejectUnauthorized: tls.verify,
    servername: name ?? '',
    // The real servers speak HTTP/1.1 (HTTP/2 to them is not built).
    ALPNProtocols: ['http/1.1'],
  };
  if (tls.ca !== null) options.ca = readFileSync(tls.ca);
  if (name !== null && name !== host) {
    // Verify against the configured name, not the address connected to.
    options.checkServerIdentity = (_host, cert) => checkIdentity(name, cert);
  }
  return { key: JSON.stringify(tls), options };
}

