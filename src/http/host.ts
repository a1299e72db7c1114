import { COLON, HEX_VALUE } from './chars.ts';

/**
 * The Host grammar we accept, for the Host field and for the authority of an absolute-form
 * target alike: `uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2-3), narrowed where two
 * parsers could read one value as two different hosts. Host-based rules are only as safe as the
 * host they match, and the real server must see the host the rules saw.
 *
 * - reg-name: unreserved and sub-delims, except "," (a comma is what two folded Host lines look
 *   like, and servers that split it take different halves) and pct-encoded ("%2e" is "." to a
 *   server that decodes it and not to our rules; real host names are LDH ASCII, RFC 1123 §2.1,
 *   and IDNs travel as "xn--" labels). No empty label (".a", "a..b", "."): DNS has none but the
 *   root, so one trailing "." is allowed (an FQDN) and left out of the host name, as nginx does.
 * - IPv4address: a reg-name as far as the bytes go ("1.2.3.4" is made of unreserved).
 * - IP-literal: an IPv6address in brackets, checked to RFC 3986's grammar (8 groups, or fewer
 *   with one "::", an IPv4 tail allowed). No IPvFuture and no zone ID ("%25eth0", RFC 6874):
 *   no HTTP client sends them to a server.
 * - port: at most 5 digits, at most 65535 (a TCP port is 16 bits). An empty port after ":" is
 *   allowed (RFC 3986 §3.2.3; nginx and WHATWG URL parsers read it as the default port); the
 *   host name ends before the ":" either way.
 * - Empty, whitespace, "@" (userinfo, RFC 9110 §4.2.4), "/", "?", "#", "\\", controls, obs-text:
 *   refused. nginx refuses "/", whitespace, controls, ".." and an empty name; HAProxy refuses an
 *   authority that does not match Host; we refuse a superset of the nginx list.
 */
const NAME_BYTE = 1;
const DOT_BYTE = 2;
/** One read per byte of a reg-name: NAME_BYTE, DOT_BYTE, or 0 for a byte that ends or breaks it. */
const REG_NAME = (() => {
  const t = new Uint8Array(256);
  const allowed = "-_~!$&'()*+;=";
  for (let b = 0; b < 256; b++) {
    const alnum = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
    t[b] = alnum || allowed.includes(String.fromCharCode(b)) ? NAME_BYTE : 0;
  }
  t[0x2e] = DOT_BYTE;
  return t;
})();

const DOT = 0x2e;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MAX_PORT = 65_535;
const MAX_PORT_DIGITS = 5;

/**
 * Validate buf[start, end) as a host we accept (see above). Returns the offset where the host
 * name ends (before ":port", and before the trailing "." of an FQDN), or -1 when the value is
 * not one. Allocation-free: it runs on every request.
 */
export function scanHost(buf: Uint8Array, start: number, end: number): number {
  if (start >= end) return -1;
  let i = start;
  let nameEnd: number;
  if (buf[i] === OPEN_BRACKET) {
    i = ipv6LiteralEnd(buf, i + 1, end);
    if (i < 0) return -1;
    nameEnd = i;
  } else {
    let labelStart = i;
    while (i < end) {
      const kind = REG_NAME[buf[i]!];
      if (kind === NAME_BYTE) {
        i++;
        continue;
      }
      if (kind !== DOT_BYTE) break;
      if (i === labelStart) return -1;
      labelStart = ++i;
    }
    if (i === start) return -1;
    nameEnd = labelStart === i ? i - 1 : i;
  }
  if (i === end) return nameEnd;
  if (buf[i] !== COLON) return -1;
  i++;
  if (end - i > MAX_PORT_DIGITS) return -1;
  let port = 0;
  for (; i < end; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    port = port * 10 + d;
  }
  return port > MAX_PORT ? -1 : nameEnd;
}

/**
 * buf[from] is just past "[": returns the offset just past the closing "]" of an IPv6address
 * (RFC 3986 §3.2.2), or -1.
 */
function ipv6LiteralEnd(buf: Uint8Array, from: number, end: number): number {
  let i = from;
  let groups = 0;
  let compressed = false;
  if (i + 1 < end && buf[i] === COLON) {
    if (buf[i + 1] !== COLON) return -1;
    compressed = true;
    i += 2;
    if (i < end && buf[i] === CLOSE_BRACKET) return i + 1; // "[::]"
  }
  for (;;) {
    const groupStart = i;
    while (i < end && i - groupStart < 5 && HEX_VALUE[buf[i]!]! >= 0) i++;
    if (i < end && buf[i] === DOT) {
      // ls32 as an IPv4address: the last 32 bits, so two groups, and the literal ends here.
      i = ipv4End(buf, groupStart, end);
      if (i < 0) return -1;
      groups += 2;
      if (i >= end || buf[i] !== CLOSE_BRACKET) return -1;
      break;
    }
    const digits = i - groupStart;
    if (digits === 0 || digits > 4) return -1;
    groups++;
    if (i >= end) return -1;
    if (buf[i] === CLOSE_BRACKET) break;
    if (buf[i] !== COLON) return -1;
    i++;
    if (i < end && buf[i] === COLON) {
      if (compressed) return -1;
      compressed = true;
      i++;
      if (i < end && buf[i] === CLOSE_BRACKET) break;
    }
  }
  // "::" stands for at least one group of zeros.
  if (compressed ? groups > 7 : groups !== 8) return -1;
  return i + 1;
}

/** Four dec-octets (0-255, no leading zero) separated by "."; returns the offset past them, or -1. */
function ipv4End(buf: Uint8Array, from: number, end: number): number {
  let i = from;
  for (let octet = 0; octet < 4; octet++) {
    if (octet > 0) {
      if (i >= end || buf[i] !== DOT) return -1;
      i++;
    }
    const octetStart = i;
    let value = 0;
    while (i < end && i - octetStart < 3) {
      const d = buf[i]! - 0x30;
      if (d < 0 || d > 9) break;
      value = value * 10 + d;
      i++;
    }
    const digits = i - octetStart;
    if (digits === 0 || value > 255 || (digits > 1 && buf[octetStart] === 0x30)) return -1;
  }
  return i;
}
