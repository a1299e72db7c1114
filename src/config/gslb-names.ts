/**
 * Domain names as the gslb section writes them. Every name leaves the config absolute, in lower
 * case and without its final dot ("www.surveyor.lab"); the root is "". DNS compares names without
 * regard to case (RFC 4343), so one spelling keeps the engine's lookups to a plain Map.
 *
 * Three ways to write a name, each where users expect it:
 * - zone-file style (record names and names inside record values): "@" is the zone, a final
 *   dot makes a name absolute, anything else is under the zone, as in a BIND zone file;
 * - host style (zones, FQDNs, name servers): absolute with or without the final dot;
 *   nameServers also take a single label ("ns1") as a name under the zone.
 */
import type { ParseResult } from './problem.ts';

/** RFC 1035 2.3.4: 63 bytes a label, 255 a name on the wire, so 253 characters written. */
const MAX_NAME_LENGTH = 253;
const MAX_NAME_WIRE_LENGTH = 255;
/** Letters, digits, "-" and "_" (SRV and DKIM owner names use "_"). */
const LABEL_RE = /^[a-z0-9_-]{1,63}$/;

export const DOMAIN_NAME_PATTERN = '^(@|\\.|[A-Za-z0-9_.-]+)$';
export const DOMAIN_NAME_ALLOWED = 'a domain name such as www.example.com (letters, digits, "-" and "_", labels of at most 63 characters)';

/** A name written in host style: "surveyor.lab" or "surveyor.lab.". */
export function parseAbsoluteName(text: string): ParseResult<string> {
  const bare = text.endsWith('.') ? text.slice(0, -1) : text;
  return checkLabels(bare.toLowerCase(), text);
}

/** The zone-file reading of `text` inside `zone`: "@", "www", "www.sub", "mail.example.net.". */
export function parseZoneFileName(text: string, zone: string, options: { root?: boolean } = {}): ParseResult<string> {
  if (text === '@') return { ok: true, value: zone };
  if (text === '.') return options.root === true ? { ok: true, value: '' } : fail(`"." (the root) cannot be used here; write a name`);
  if (text.endsWith('.')) return checkLabels(text.slice(0, -1).toLowerCase(), text);
  const lower = text.toLowerCase();
  // BIND would read "mail.surveyor.lab" as mail.surveyor.lab.surveyor.lab; nobody means that.
  if (zone !== '' && (lower === zone || lower.endsWith(`.${zone}`))) {
    const relative = lower === zone ? '@' : text.slice(0, text.length - zone.length - 1);
    return fail(
      `${JSON.stringify(text)} has no final dot, so it is relative to the zone and would mean ${lower}.${zone}; write ${JSON.stringify(relative)} or ${JSON.stringify(`${text}.`)}`,
      `${text}.`,
    );
  }
  return checkLabels(zone === '' ? lower : `${lower}.${zone}`, text);
}

/** A name server: host style, except that a single label ("ns1") is a name under the zone. */
export function parseNameServerName(text: string, zone: string): ParseResult<string> {
  if (!text.endsWith('.') && !text.includes('.')) return checkLabels(`${text.toLowerCase()}.${zone}`, text);
  return parseAbsoluteName(text);
}

/** True when `name` is `zone` or a name below it. */
/** A name as the config and the API compare FQDNs: lower case, no final dot. */
export function fqdnKey(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

export function isInZone(name: string, zone: string): boolean {
  return zone === '' || name === zone || name.endsWith(`.${zone}`);
}

/**
 * The SOA RNAME of a mailbox (RFC 1035 section 8): "hostmaster@surveyor.lab" is
 * hostmaster.surveyor.lab, and a dot in the local part is escaped, so "john.doe@surveyor.lab" is
 * john\.doe.surveyor.lab. The result is in presentation form (escapes included).
 */
export function parseMailbox(text: string): ParseResult<string> {
  const at = text.lastIndexOf('@');
  if (at === -1) {
    const dot = text.indexOf('.');
    const suggestion = dot > 0 ? `${text.slice(0, dot)}@${text.slice(dot + 1).replace(/\.$/, '')}` : undefined;
    return fail(`${JSON.stringify(text)} is not an email address; write the zone's contact as hostmaster@example.com`, suggestion);
  }
  const local = text.slice(0, at);
  const domain = parseAbsoluteName(text.slice(at + 1));
  if (!domain.ok || domain.value === '') return fail(`the domain of ${JSON.stringify(text)} is not a domain name`);
  // The local part becomes one label: 63 bytes, and only characters that need no other escape.
  if (!/^[A-Za-z0-9_+.-]{1,63}$/.test(local) || local.startsWith('.') || local.endsWith('.') || local.includes('..')) {
    return fail(`the mailbox ${JSON.stringify(local)} of ${JSON.stringify(text)} must be 1 to 63 letters, digits, ".", "_", "+" or "-"`);
  }
  // On the wire: the local part's length byte and bytes, then the domain's labels and the root.
  const wire = 1 + local.length + domain.value.length + 2;
  if (wire > MAX_NAME_WIRE_LENGTH) return fail(`${JSON.stringify(text)} makes an SOA RNAME of ${wire} bytes; the most a name holds is ${MAX_NAME_WIRE_LENGTH}, so use a shorter address`);
  return { ok: true, value: `${local.toLowerCase().replaceAll('.', '\\.')}.${domain.value}` };
}

function checkLabels(name: string, written: string): ParseResult<string> {
  const shown = JSON.stringify(written);
  if (name === '') return fail(`${shown} is not a domain name`);
  if (name.length > MAX_NAME_LENGTH) return fail(`${shown} is longer than ${MAX_NAME_LENGTH} characters`);
  for (const label of name.split('.')) {
    if (label === '*') return fail(`${shown}: wildcard names are not supported; list each name`);
    if (label.length > 63) return fail(`${shown} has a label longer than 63 characters`);
    if (!LABEL_RE.test(label)) return fail(`${shown} is not a domain name; labels are letters, digits, "-" and "_", separated by single dots`);
  }
  return { ok: true, value: name };
}

function fail<T>(message: string, suggestion?: string): ParseResult<T> {
  return suggestion === undefined ? { ok: false, message } : { ok: false, message, suggestion };
}
