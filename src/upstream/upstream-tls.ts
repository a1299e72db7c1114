/**
 * The tls.connect options of a real server spoken to over TLS (a pool's or a server's `tls:`),
 * built once per config apply: the CA file and the client certificate read once into one secure
 * context that every connection shares (tls.connect would otherwise parse them for each
 * connection), the name for SNI and verification. The last session the server gave is kept on
 * the RealServer and offered on the next connection, so a new keep-alive connection costs an
 * abbreviated handshake.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity as checkIdentity, createSecureContext, type ConnectionOptions, type SecureContextOptions } from 'node:tls';
import type { UpstreamTlsConfig } from '../config/upstream-tls.ts';
import { loadCertificate } from '../tls/certificate-file.ts';

export interface UpstreamTls {
  /**
   * What identifies these settings, the files' contents included: a reload that changes it
   * (a renewed client certificate too) retires the server's idle connections and its session,
   * which a resumption would otherwise carry on under the old certificate.
   */
  readonly key: string;
  readonly options: ConnectionOptions;
}

export function upstreamTlsOptions(tls: UpstreamTlsConfig | null, host: string): UpstreamTls | null {
  if (tls === null) return null;
  // No SNI for an IP address (RFC 6066 3); the certificate is then checked against the IP.
  const name = tls.serverName ?? (isIP(host) === 0 ? host : null);
  const material = secureContextOptions(tls);
  const options: ConnectionOptions = {
    rejectUnauthorized: tls.verify,
    servername: name ?? '',
    // The real servers speak HTTP/1.1 (HTTP/2 to them is not built).
    ALPNProtocols: ['http/1.1'],
    secureContext: createSecureContext(material),
  };
  if (name !== null && name !== host) {
    // Verify against the configured name, not the address connected to.
    options.checkServerIdentity = (_host, cert) => checkIdentity(name, cert);
  }
  const digest = createHash('sha256');
  for (const part of [material.ca, material.cert, material.key]) digest.update(part === undefined ? '-' : (part as Buffer));
  return { key: `${JSON.stringify(tls)} ${digest.digest('hex')}`, options };
}

/**
 * The CA and the client certificate as the files hold them now. The config check read them
 * moments ago; a file broken since is an error naming it, as at load.
 */
function secureContextOptions(tls: UpstreamTlsConfig): SecureContextOptions {
  const material: SecureContextOptions = {};
  if (tls.ca !== null) material.ca = readFileSync(tls.ca);
  if (tls.cert !== null && tls.key !== null) {
    const { certificate, problems } = loadCertificate({ cert: tls.cert, key: tls.key }, new Date());
    if (certificate === null) throw new Error(problems.map((p) => `${p.message} (${p.code})`).join('; '));
    material.cert = certificate.certPem;
    material.key = certificate.keyPem;
  }
  return material;
}
