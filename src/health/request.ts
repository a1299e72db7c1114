/**
 * The bytes an http(s) check sends, written out by hand so that "what the check sent" is exact:
 * the request line, Host only for HTTP/1.1 (an HTTP/1.0 request has none, which is what trips
 * host-name based servers), the configured headers, Content-Length for a body, Connection: close.
 */
import type { HostPort } from '../config/address.ts';
import type { HealthCheckConfig } from '../config/health-check.ts';
import { hostHeaderValue, requestLine } from './target.ts';

export interface CheckRequest {
  bytes: Buffer;
  /** `HEAD / HTTP/1.0` */
  line: string;
  /** The Host header sent, or null for HTTP/1.0. */
  hostHeader: string | null;
}

export function buildRequest(address: HostPort, check: HealthCheckConfig): CheckRequest {
  const line = requestLine(check);
  const hostHeader = check.httpVersion === '1.1' ? hostHeaderValue(address, check) : null;
  const body = Buffer.from(check.body, 'utf8');
  let head = `${line}\r\n`;
  if (hostHeader !== null) head += `Host: ${hostHeader}\r\n`;
  for (const [name, value] of Object.entries(check.headers)) head += `${name}: ${value}\r\n`;
  // POST always carries a length, even 0: some servers answer 411 Length Required without one.
  if (body.length > 0 || check.method === 'POST') head += `Content-Length: ${body.length}\r\n`;
  head += 'Connection: close\r\n\r\n';
  return { bytes: Buffer.concat([Buffer.from(head, 'utf8'), body]), line, hostHeader };
}
