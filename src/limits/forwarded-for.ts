/**
 * The client behind trusted proxies, as nginx's realip module finds it with
 * `real_ip_recursive on`: the peer and then X-Forwarded-For from the right are hops, each added
 * by the one after it; the first hop that is not a trusted proxy is the client. A client can
 * write anything into the header it sends, so only hops vouched for by trusted proxies count,
 * and a hop that is not an address (an "unknown" from Squid, garbage) ends the walk at the last
 * trusted hop.
 */
import { type AddressFamily, formatBytes, parseIpInto } from '../ip/bytes.ts';

/** What this needs of src/ip/cidr-set.ts's CidrSet (kept as an interface so the two files do not depend on each other). */
export interface AddressSet {
  has(family: AddressFamily, bytes: Uint8Array): boolean;
}

const hop = new Uint8Array(16);

/**
 * The client address (canonical text) for a request whose immediate peer is `peerFamily`/`peerBytes`
 * and whose X-Forwarded-For field lines are `forwardedFor` (in order), or null when the peer
 * itself is the client: it is not a trusted proxy, the header is absent or empty, or its
 * rightmost entry is not an address.
 */
export function clientFromForwardedFor(
  peerFamily: AddressFamily,
  peerBytes: Uint8Array,
  forwardedFor: readonly string[],
  trusted: AddressSet,
): string | null {
  if (!trusted.has(peerFamily, peerBytes)) return null;
  let lastTrusted: string | null = null;
  for (let line = forwardedFor.length - 1; line >= 0; line--) {
    const value = forwardedFor[line]!;
    let end = value.length;
    while (end > 0) {
      let start = end;
      while (start > 0 && value.charCodeAt(start - 1) !== 44 /* , */) start--;
      const entry = value.slice(start, end).trim();
      end = start - 1;
      // "a,,b" or a trailing comma: nginx skips empty entries as separators.
      if (entry === '') continue;
      const family = parseHop(entry, hop);
      if (family === 0) return lastTrusted;
      const text = formatBytes(family, hop);
      if (!trusted.has(family, hop)) return text;
      lastTrusted = text;
    }
  }
  // Every hop is a trusted proxy: the leftmost is as far as the header can be believed.
  return lastTrusted;
}

/** An address as proxies write it: 192.0.2.1, 192.0.2.1:5000, 2001:db8::1, [2001:db8::1], [2001:db8::1]:5000. */
function parseHop(entry: string, out: Uint8Array): 0 | AddressFamily {
  if (entry.charCodeAt(0) === 91 /* [ */) {
    const close = entry.indexOf(']');
    if (close === -1 || !isPortSuffix(entry, close + 1)) return 0;
    const inside = entry.slice(1, close);
    return inside.indexOf(':') === -1 || inside.indexOf('%') !== -1 ? 0 : parseIpInto(inside, out);
  }
  // A zone id (fe80::1%eth0) names an interface of the proxy's host: not a client's address.
  if (entry.indexOf('%') !== -1) return 0;
  const colon = entry.indexOf(':');
  if (colon !== -1 && colon === entry.lastIndexOf(':') && entry.indexOf('.') !== -1) {
    if (!isPortSuffix(entry, colon)) return 0;
    return parseIpInto(entry.slice(0, colon), out) === 4 ? 4 : 0;
  }
  return parseIpInto(entry, out);
}

/** Nothing at `at`, or ":" and 1 to 5 digits to the end. */
function isPortSuffix(text: string, at: number): boolean {
  if (at === text.length) return true;
  return /^:[0-9]{1,5}$/.test(text.slice(at));
}
