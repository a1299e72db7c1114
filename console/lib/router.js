/**
 * Hash routes: "#/pools/web?tab=edit" -> {page: "pools", args: ["web"], query: {tab: "edit"}}.
 * Hash routing needs no server support (every page is "/"), and the back button works.
 */

export function parseRoute(hash) {
  const raw = (hash ?? '').replace(/^#/, '');
  const [pathPart, queryPart = ''] = raw.split('?');
  const segments = (pathPart ?? '').split('/').filter((s) => s !== '').map(safeDecode);
  const query = Object.fromEntries(new URLSearchParams(queryPart));
  return { page: segments[0] ?? '', args: segments.slice(1), query };
}

/** The hash for a page: href('pools', 'web pool') -> "#/pools/web%20pool". */
export function href(...segments) {
  return `#/${segments.map((s) => encodeURIComponent(String(s))).join('/')}`;
}

function safeDecode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
