/**
 * The words a check result speaks: what happened, where, and when we can tell, what to change.
 * The status view and the log show these to someone who has to fix a server or a config, so
 * each names the request, the address or the setting involved (the user story of issue 3: a
 * check that failed for days with no visible reason).
 */
import { isIP } from 'node:net';
import { formatDuration } from '../config/duration.ts';
import { hostWithoutPort } from './target.ts';

/** Statuses a host-name based server (IIS host-header bindings, nginx server_name) gives a request for a name it does not serve. */
const WRONG_SITE_STATUSES = new Set([400, 404, 421]);

export function formatLatency(ms: number): string {
  return ms < 1 ? '<1 ms' : `${Math.round(ms)} ms`;
}

/** A line a server sent, trimmed and cut to `max` characters. */
export function trimLine(line: string, max = 100): string {
  const text = line.trim();
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** A line a server sent, quoted for a reason: trimmed, cut, with escapes for control characters. */
export function quoteLine(line: string, max = 100): string {
  return JSON.stringify(trimLine(line, max));
}

export function timeoutReason(phase: 'connect' | 'tls' | 'response' | 'body', timeoutMs: number, target: string, request: string | null): string {
  const within = formatDuration(timeoutMs);
  switch (phase) {
    case 'connect':
      return `no connection within ${within} to ${target}`;
    case 'tls':
      return `no TLS handshake within ${within} with ${target}`;
    case 'response':
      return request === null ? `no answer within ${within} from ${target}` : `no answer within ${within} to "${request}" on ${target}`;
    case 'body':
      return `the response body did not arrive within ${within} from ${target}`;
  }
}

export function socketErrorReason(error: NodeJS.ErrnoException, target: string, host: string, phase: 'connect' | 'tls' | 'response'): string {
  const during = phase === 'tls' ? ' during the TLS handshake' : phase === 'response' ? ' before a complete response' : '';
  switch (error.code) {
    case 'ECONNREFUSED':
      return `connection refused on ${target}`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `connection reset by ${target}${during}`;
    case 'EHOSTUNREACH':
      return `no route to host ${target}`;
    case 'ENETUNREACH':
      return `network unreachable for ${target}`;
    case 'ENOTFOUND':
      return `cannot resolve host name "${host}"`;
    case 'EAI_AGAIN':
      return `DNS lookup of "${host}" failed (temporary failure); checking again`;
    case 'ETIMEDOUT':
      return `connection to ${target} timed out`;
  }
  if (phase === 'tls' || error.code?.startsWith('ERR_SSL_') === true) {
    // TLS 1.3: the server says so after our side of the handshake, so this may come as a response error.
    if (error.code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED') {
      return `TLS handshake failed on ${target}: the server asks for a client certificate; give the pool's tls a cert and key`;
    }
    if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST|UNKNOWN_PROTOCOL|record layer failure/i.test(`${error.code ?? ''} ${error.message}`)) {
      return `TLS handshake failed on ${target}: the port does not speak TLS; use type http, or the port that serves https`;
    }
    return `TLS handshake failed on ${target}: ${error.message}`;
  }
  return `connection to ${target} failed${during}: ${error.message}`;
}

export function notHttpReason(start: Buffer, target: string, request: string): string {
  const first = start[0];
  if (first === 0x15 || first === 0x16) {
    return `the answer to "${request}" on ${target} is TLS, not HTTP: the port serves https; use type https`;
  }
  return `the answer to "${request}" on ${target} is not HTTP; it began ${JSON.stringify(start.toString('latin1', 0, 40))}`;
}

export function incompleteReason(received: number, target: string, request: string, plainHttp: boolean): string {
  // A TLS server that gets plain HTTP often just closes (Node, OpenSSL s_server).
  return received === 0
    ? `${target} closed the connection without answering "${request}"${plainHttp ? '; if this port serves https, use type https' : ''}`
    : `${target} closed the connection in the middle of its answer to "${request}" (${received} bytes)`;
}

/**
 * `HTTP 400 to "HEAD / HTTP/1.0" (expected 200-299, 301, 302, 401); if this server serves sites by
 * host name, use httpVersion "1.1" with host`. The hint comes when the status is what a host-name
 * based server answers for a name it does not serve and the check sent no name (no Host, or an IP).
 */
export function statusReason(status: number, request: string, hostHeader: string | null, expected: string): string {
  const sent = hostHeader === null ? `"${request}"` : `"${request}" with Host: ${hostHeader}`;
  let reason = `HTTP ${status} to ${sent} (expected ${expected})`;
  if (WRONG_SITE_STATUSES.has(status)) {
    if (hostHeader === null) reason += '; if this server serves sites by host name, use httpVersion "1.1" with host';
    else if (isIP(hostWithoutPort(hostHeader)) !== 0) reason += "; if this server serves sites by host name, set host to the site's name";
  }
  return reason;
}

export function bodyMismatchReason(pattern: string, body: Buffer): string {
  const text = body.toString('utf8');
  const start = text.length === 0 ? 'the body was empty' : `it began ${JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text)}`;
  return `body did not match /${pattern}/; ${start}`;
}

/** "expired on 2026-01-02 (3 days ago)" or "expires on 2026-03-04 (in 12 days)"; `validTo` is ISO 8601. */
export function expiryWords(validTo: string, now: number): string {
  const day = validTo.slice(0, 10);
  const ms = Date.parse(validTo) - now;
  const days = Math.trunc(Math.abs(ms) / 86_400_000);
  const count = `${days} ${days === 1 ? 'day' : 'days'}`;
  if (ms <= 0) return `expired on ${day} (${days === 0 ? 'today' : `${count} ago`})`;
  return `expires on ${day} (${days === 0 ? 'today' : `in ${count}`})`;
}

/** Certificate chain problems as OpenSSL names them, in words. */
export function chainErrorReason(code: string, issuer: string): string {
  switch (code) {
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
      return 'TLS: the certificate is self-signed and not trusted; trust its CA, or set tls.verify false';
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
      return `TLS: the certificate's issuer (${issuer}) is not trusted, or the server does not send its intermediate certificates`;
    case 'CERT_NOT_YET_VALID':
      return 'TLS: the certificate is not valid yet (check the clock of this host and the server)';
    case 'CERT_HAS_EXPIRED':
      return 'TLS: the certificate has expired';
    default:
      return `TLS: the certificate is not trusted (${code})`;
  }
}
