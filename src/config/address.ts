import { isIPv4, isIPv6 } from 'node:net';
import type { ParseResult } from './problem.ts';

/** A host (IP address or DNS name) and a port, as listeners and real servers use them. */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * An editor hint for JSON Schema; looser than parseHostPort so that it never flags a valid
 * address: bracketed IPv6 or a bracket-free host, then a port.
 */
export const ADDRESS_PATTERN = '^(\\[[0-9A-Za-z:.%]+\\]|[^\\s:\\[\\]]+):[0-9]{1,5}$';

/** RFC 1123 labels; underscores are allowed because container and internal DNS names use them. */
const HOST_NAME_RE = /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

export interface AddressOptions {
  /** Listen addresses may be "*:port", meaning every IPv4 address (host 0.0.0.0). */
  wildcard: boolean;
}

/** Parse "10.0.0.5:80", "[2001:db8::1]:8080", "localhost:9001" (and "*:80" when wildcard). */
export function parseHostPort(text: string, options: AddressOptions): ParseResult<HostPort> {
  const shown = JSON.stringify(text);
  if (/\s/.test(text)) return fail(`${shown} contains spaces`);
  if (text.startsWith('[')) return parseBracketed(text);
  const colon = text.lastIndexOf(':');
  if (colon === -1) return fail(`${shown} has no port; add one, e.g. ${text}:80`);
  const hostText = text.slice(0, colon);
  if (hostText.includes(':')) {
    const message = `${shown} is ambiguous; write IPv6 addresses in brackets with a port, e.g. [2001:db8::1]:8080`;
    const portText = text.slice(colon + 1);
    return isIPv6(hostText) && /^[0-9]{1,5}$/.test(portText)
      ? fail(message, `[${hostText}]:${portText}`)
      : fail(message);
  }
  const port = parsePort(text.slice(colon + 1), text);
  if (!port.ok) return port;
  if (hostText === '*' && options.wildcard) return ok('0.0.0.0', port.value);
  if (hostText === '') {
    return options.wildcard
      ? fail(`${shown} has no host; use * for every address`, `*:${port.value}`)
      : fail(`${shown} has no host`);
  }
  if (/^[0-9.]+$/.test(hostText)) {
    return isIPv4(hostText) ? ok(hostText, port.value) : fail(`"${hostText}" is not a valid IPv4 address`);
  }
  if (!HOST_NAME_RE.test(hostText)) return fail(`"${hostText}" is not a valid host name or IP address`);
  return ok(hostText.toLowerCase(), port.value);
}

/** "host:port", with brackets around IPv6 hosts so the result parses back. */
export function formatAddress({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function parseBracketed(text: string): ParseResult<HostPort> {
  const match = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (match === null) return fail(`${JSON.stringify(text)} is not a valid [IPv6]:port address`);
  const [, host = '', portText] = match;
  if (!isIPv6(host)) return fail(`"${host}" is not a valid IPv6 address`);
  if (portText === undefined) return fail(`${JSON.stringify(text)} has no port; add one, e.g. ${text}:80`);
  const port = parsePort(portText, text);
  return port.ok ? ok(canonicalIPv6(host), port.value) : port;
}

function parsePort(portText: string, text: string): ParseResult<number> {
  if (!/^[0-9]{1,5}$/.test(portText)) return fail(`port "${portText}" in ${JSON.stringify(text)} is not a number`);
  const port = Number(portText);
  if (port < 1 || port > 65535) return fail(`port ${port} in ${JSON.stringify(text)} is out of range 1..65535`);
  return { ok: true, value: port };
}

/** 2001:DB8:0::1 and 2001:db8::1 are one address; compare and print them one way. */
function canonicalIPv6(host: string): string {
  if (host.includes('%')) return host; // zone ids (fe80::1%eth0) are not valid in URLs
  return new URL(`http://[${host}]/`).hostname.slice(1, -1);
}

function ok(host: string, port: number): ParseResult<HostPort> {
  return { ok: true, value: { host, port } };
}

function fail<T>(message: string, suggestion?: string): ParseResult<T> {
  return suggestion === undefined ? { ok: false, message } : { ok: false, message, suggestion };
}
