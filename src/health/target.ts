/**
 * Where a check goes and what it calls itself: the address and port to connect to, the Host
 * header, the TLS server name, and the words the status view shows.
 */
import { isIP } from 'node:net';
import { formatAddress, type HostPort } from '../config/address.ts';
import { DEFAULT_DNS_QUESTION, type HealthCheckConfig, type StatusRange } from '../config/health-check.ts';

/** The address a check connects to: the real server's host, at the check port when one is set. */
export function checkTarget(address: HostPort, check: HealthCheckConfig): HostPort {
  return { host: address.host, port: check.port ?? address.port };
}

/** The Host header value: `host`, else the real server's address as written (host:port). */
export function hostHeaderValue(address: HostPort, check: HealthCheckConfig): string {
  return check.host ?? formatAddress(address);
}

/** The host part of a Host header value: "www.example.com:8443" -> "www.example.com", "[::1]:80" -> "::1". */
export function hostWithoutPort(host: string): string {
  const bracketed = /^\[([^\]]+)\](?::[0-9]+)?$/.exec(host);
  if (bracketed !== null) return bracketed[1] ?? host;
  const colon = host.lastIndexOf(':');
  return colon === -1 || host.indexOf(':') !== colon ? host : host.slice(0, colon);
}

/** SNI is a DNS name only (RFC 6066 section 3): none when the host is an IP address. */
export function serverName(address: HostPort, check: HealthCheckConfig): string | null {
  const name = hostWithoutPort(hostHeaderValue(address, check));
  return isIP(name) === 0 ? name : null;
}

/** `HEAD / HTTP/1.0` */
export function requestLine(check: HealthCheckConfig): string {
  return `${check.method} ${check.path} HTTP/${check.httpVersion}`;
}

/** "200-299, 301, 302, 401" */
export function formatStatusRanges(ranges: readonly StatusRange[]): string {
  return ranges.map(([low, high]) => (low === high ? String(low) : `${low}-${high}`)).join(', ');
}

export function statusExpected(ranges: readonly StatusRange[], status: number): boolean {
  return ranges.some(([low, high]) => status >= low && status <= high);
}

/** "www.example.com A", ". NS": the question a dns check asks, as dig prints it. */
export function dnsQuestionText(check: HealthCheckConfig): string {
  const question = check.dns ?? DEFAULT_DNS_QUESTION;
  return `${question.query} ${question.queryType}`;
}

/** One line for the status view: what is sent where. */
export function describeCheck(address: HostPort, check: HealthCheckConfig): string {
  const target = formatAddress(checkTarget(address, check));
  switch (check.type) {
    case 'none':
      return 'not checked (healthCheck type none)';
    case 'tcp':
      return `tcp connect to ${target}`;
    case 'ftp':
      return `ftp to ${target}`;
    case 'dns':
      return `dns ${dnsQuestionText(check)} to ${target}/udp`;
    case 'http':
    case 'https': {
      const host = check.httpVersion === '1.1' ? `, Host: ${hostHeaderValue(address, check)}` : ', no Host header';
      const sni = check.type === 'https' ? `, SNI: ${serverName(address, check) ?? 'none'}` : '';
      return `${check.type} "${requestLine(check)}" to ${target}${host}${sni}`;
    }
  }
}
