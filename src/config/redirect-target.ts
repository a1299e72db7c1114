/**
 * The `to` of a redirect: an absolute http or https URL whose path and query may use $host,
 * $path, $query and $1..$9, and whose host may be $host. A target without a scheme is refused
 * with the fix: "www.example.com/x" sent as a Location is a relative path, so the browser asks
 * for /www.example.com/x on the same site, which matches the same rule again (a LoadMaster user
 * lost hours to exactly that loop).
 */
import { parseTemplate, type Template } from '../rules/template.ts';
import type { ParseResult } from './problem.ts';

export interface RedirectTarget {
  /** The URL as written, with the scheme and a literal host lower-cased. */
  url: string;
  scheme: 'http' | 'https';
  /** The literal host (lower case), or null for $host (the host the client asked for). */
  host: string | null;
  /** An explicit port, or null for the scheme's default. */
  port: number | null;
  /** Path, query and fragment, with their variables. */
  rest: Template;
}

const EXAMPLE = '"https://www.example.com/new"';

export function parseRedirectTarget(text: string): ParseResult<RedirectTarget> {
  const bad = /[^\x21-\x7e]/.exec(text);
  if (bad !== null) {
    const what = bad[0] === ' ' ? 'a space' : bad[0].charCodeAt(0) > 0x7e ? 'a non-ASCII character' : 'a control character';
    return { ok: false, message: `${JSON.stringify(text)} contains ${what}; percent-encode it (a space is %20)` };
  }
  const schemed = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(text);
  if (schemed === null) return missingScheme(text);
  const scheme = schemed[1]!.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') {
    return { ok: false, message: `a redirect goes to an http:// or https:// URL, not ${scheme}://` };
  }
  const afterScheme = schemed[2]!;
  // The host ends at the path, query or fragment, or at a variable: "https://$host$path".
  const skip = afterScheme.startsWith('$host') ? 5 : 0;
  const found = afterScheme.slice(skip).search(/[/?#$]/);
  const authorityEnd = found === -1 ? afterScheme.length : found + skip;
  const authority = afterScheme.slice(0, authorityEnd);
  const restText = afterScheme.slice(authorityEnd);
  const rest = parseTemplate(restText, 'url');
  if (!rest.ok) return rest;
  if (restText.startsWith('$host') || authority.includes('$host', 1)) {
    return { ok: false, message: `in ${JSON.stringify(text)}, the host is either written out or is $host as a whole; other variables belong in the path` };
  }
  if (restText.startsWith('$') && !restText.startsWith('$path')) {
    return { ok: false, message: `in ${JSON.stringify(text)}, only $path may follow the host directly; start the path with "/", e.g. "${text.slice(0, text.length - restText.length)}/${restText}"` };
  }
  const hostPort = parseAuthority(authority, text);
  if (!hostPort.ok) return hostPort;
  const { host, port } = hostPort.value;
  const url = `${scheme}://${host ?? '$host'}${port === null ? '' : `:${port}`}${restText}`;
  return { ok: true, value: { url, scheme, host, port, rest: rest.value } };
}

function missingScheme(text: string): ParseResult<RedirectTarget> {
  if (text.startsWith('//')) {
    return { ok: false, message: `${JSON.stringify(text)} has no scheme; write "http:${text}" or "https:${text}"`, suggestion: `http:${text}` };
  }
  if (text.startsWith('/') || text === '') {
    return {
      ok: false,
      message: `${JSON.stringify(text)} has no scheme or host; write "https://$host${text}" to stay on the host the client asked for, or a full URL such as ${EXAMPLE}`,
    };
  }
  const halfScheme = /^(https?):\/?(?!\/)(.*)$/i.exec(text);
  if (halfScheme !== null) {
    const fixed = `${halfScheme[1]!.toLowerCase()}://${halfScheme[2]}`;
    return { ok: false, message: `${JSON.stringify(text)} needs "//" after the scheme; write "${fixed}"`, suggestion: fixed };
  }
  return {
    ok: false,
    message: `${JSON.stringify(text)} has no scheme; write "http://${text}" or "https://${text}" (without one, browsers read it as a path on the same site and may loop)`,
    suggestion: `http://${text}`,
  };
}

function parseAuthority(authority: string, text: string): ParseResult<{ host: string | null; port: number | null }> {
  if (authority === '') return { ok: false, message: `${JSON.stringify(text)} has no host; write a URL such as ${EXAMPLE}` };
  if (authority.includes('@')) return { ok: false, message: `${JSON.stringify(text)} contains user information ("...@"); write the host alone` };
  const split = /^(\[[^\]]*\]|[^:]*)(?::([0-9]*))?$/.exec(authority);
  if (split === null) return { ok: false, message: `${JSON.stringify(authority)} in ${JSON.stringify(text)} is not a host with an optional port` };
  const hostText = split[1]!;
  const portText = split[2];
  let port: number | null = null;
  if (portText !== undefined) {
    port = Number(portText);
    if (portText === '' || port < 1 || port > 65_535) return { ok: false, message: `port "${portText}" in ${JSON.stringify(text)} is not a number from 1 to 65535` };
  }
  if (hostText === '$host') return { ok: true, value: { host: null, port } };
  if (hostText.includes('$')) {
    return { ok: false, message: `in ${JSON.stringify(text)}, the host is either written out or is $host as a whole; other variables belong in the path` };
  }
  const host = hostText.toLowerCase();
  const valid = /^\[[0-9a-f:.]+\]$/.test(host) || (host.length <= 253 && host.split('.').every((label) => /^[a-z0-9_-]{1,63}$/.test(label)));
  if (!valid || !URL.canParse(`http://${host}/`)) return { ok: false, message: `${JSON.stringify(hostText)} in ${JSON.stringify(text)} is not a host name or IP address` };
  return { ok: true, value: { host, port } };
}
