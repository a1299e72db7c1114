/**
 * https checks: the http check over TLS, with SNI set to `host` (no SNI for an IP address), the
 * certificate read and reported (expiry, chain) whether or not it is verified, and verified
 * (expiry, chain, name) when tls.verify is on. Node's own verification is off so that a failing
 * certificate can still be described; this file verifies the same three things itself. A pool's
 * client certificate (tls.cert, tls.key) is sent when the server asks for one; its files are read
 * at each check, as the CA is, so that a renewed certificate is used from the next check on.
 */
import { checkServerIdentity, connect, type ConnectionOptions, type PeerCertificate, type TLSSocket } from 'node:tls';
import type { HostPort } from '../config/address.ts';
import type { HealthCheckConfig } from '../config/health-check.ts';
import { runHttpCheck } from './probe-http.ts';
import { chainErrorReason, expiryWords } from './reason.ts';
import { hostHeaderValue, hostWithoutPort, serverName } from './target.ts';
import type { CertificateInfo, ProbeResult } from './types.ts';
import { readFileSync } from 'node:fs';

const DAY_MS = 86_400_000;
const NAME_ERROR = 'ERR_TLS_CERT_ALTNAME_INVALID';
/** A passing check mentions the certificate's expiry from this many days before it. */
export const EXPIRY_WARNING_DAYS = 30;

export interface HttpsProbeOptions {
  /** CAs to trust instead of Node's bundled list (tests; later a `tls.ca` setting). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** The clock that expiry is measured by. */
  now?: () => number;
}

export function probeHttps(address: HostPort, check: HealthCheckConfig, signal?: AbortSignal, options: HttpsProbeOptions = {}): Promise<ProbeResult> {
  const name = serverName(address, check);
  const identity = hostWithoutPort(hostHeaderValue(address, check));
  const now = options.now ?? Date.now;
  let files: Pick<ConnectionOptions, 'ca' | 'cert' | 'key'>;
  try {
    files = {
      ca: check.tls.ca !== undefined ? readFileSync(check.tls.ca) : options.ca,
      ...(check.tls.cert !== undefined && check.tls.key !== undefined ? { cert: readFileSync(check.tls.cert), key: readFileSync(check.tls.key) } : {}),
    };
  } catch (error) {
    const failed = error as NodeJS.ErrnoException;
    return Promise.resolve({ ok: false, latencyMs: 0, reason: `cannot read ${failed.path ?? 'a TLS file'} (${failed.code ?? failed.message}): the pool's tls files must stay readable by Fulcrum` });
  }
  return runHttpCheck(address, check, signal, (target, attempt) => {
    // servername '' rather than undefined: Node would otherwise send the connect host as SNI.
    const socket = connect({ host: target.host, port: target.port, servername: name ?? '', rejectUnauthorized: false, ...files });
    attempt.detail.serverName = name;
    socket.once('connect', () => {
      attempt.phase = 'tls';
    });
    let certificate: CertificateInfo | null = null;
    return {
      socket,
      readyEvent: 'secureConnect',
      inspect: () => {
        const peer = socket.getPeerCertificate();
        if (peer === null || Object.keys(peer).length === 0) return check.tls.verify ? 'TLS: the server sent no certificate' : null;
        certificate = certificateInfo(peer, socket, now());
        attempt.detail.certificate = certificate;
        if (!check.tls.verify) return null;
        if (Date.parse(certificate.validTo) <= now()) return `TLS: certificate ${expiryWords(certificate.validTo, now())}`;
        if (!certificate.chainValid) return chainErrorReason(certificate.chainError ?? 'UNKNOWN', certificate.issuer);
        if (checkServerIdentity(identity, peer) !== undefined) {
          return `TLS: the certificate does not name "${identity}"; it names ${peer.subjectaltname ?? `CN=${String(peer.subject?.CN)}`}; set host to one of those names`;
        }
        return null;
      },
      note: () => {
        if (certificate === null || certificate.daysToExpiry >= EXPIRY_WARNING_DAYS) return '';
        return `; certificate ${expiryWords(certificate.validTo, now())}`;
      },
    };
  });
}

function certificateInfo(peer: PeerCertificate, socket: TLSSocket, now: number): CertificateInfo {
  const validTo = new Date(Date.parse(peer.valid_to));
  const info: CertificateInfo = {
    subject: distinguishedName(peer.subject),
    issuer: distinguishedName(peer.issuer),
    validTo: validTo.toISOString(),
    daysToExpiry: wholeDays(validTo.getTime() - now),
    chainValid: socket.authorized,
  };
  const error = socket.authorizationError as Error | string | null | undefined;
  const code = error === null || error === undefined ? undefined : typeof error === 'string' ? error : ((error as NodeJS.ErrnoException).code ?? error.message);
  // Node checks the name only once the chain verified, so a name error means the chain is good;
  // the name is checked against host below, not against Node's idea of it (the connect address).
  if (code === NAME_ERROR) info.chainValid = true;
  else if (!socket.authorized && code !== undefined) info.chainError = code;
  return info;
}

/** Whole days, toward zero: 1.9 days left is 1, 1.9 days ago is -1. */
function wholeDays(ms: number): number {
  return Math.trunc(ms / DAY_MS) || 0;
}

function distinguishedName(name: Record<string, string | string[] | undefined> | undefined): string {
  if (name === undefined) return '';
  return Object.entries(name)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : String(value)}`)
    .join(', ');
}
