/**
 * The path rules match on, and the real server then gets: percent-encoded unreserved characters
 * decoded, dot segments removed (RFC 3986 §6.2.2.2, §5.2.4) and runs of slashes merged, so
 * `/%61dmin`, `/static/../admin` and `//admin` are the `/admin` a deny rule names, as IIS and
 * nginx (merge_slashes, on by default) would resolve them. Other escapes (%2F, %20, ...) stay as
 * they are: decoding them changes what the path means.
 */

/** A path (no query) that needs none of this comes back as the same string (no allocation). */
export function normalizePath(path: string): string {
  if (path.indexOf('%') === -1 && path.indexOf('/.') === -1 && path.indexOf('//') === -1) return path;
  return removeDotSegments(mergeSlashes(decodeUnreserved(path)));
}

function mergeSlashes(path: string): string {
  return path.indexOf('//') === -1 ? path : path.replace(/\/{2,}/g, '/');
}

function decodeUnreserved(path: string): string {
  if (path.indexOf('%') === -1) return path;
  let out = '';
  let from = 0;
  for (let i = path.indexOf('%'); i !== -1 && i + 2 < path.length; i = path.indexOf('%', i + 1)) {
    const value = hexValue(path.charCodeAt(i + 1), path.charCodeAt(i + 2));
    if (value < 0 || !isUnreserved(value)) continue;
    out += path.slice(from, i) + String.fromCharCode(value);
    from = i + 3;
    i += 2;
  }
  return from === 0 ? path : out + path.slice(from);
}

/** RFC 3986 §5.2.4, for an absolute path ("*" and "" stay as they are). */
function removeDotSegments(path: string): string {
  if (path.charCodeAt(0) !== 0x2f /* / */) return path;
  const segments = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === '.') {
      if (last) out.push('');
    } else if (segment === '..') {
      out.pop();
      if (last) out.push('');
    } else {
      out.push(segment);
    }
  }
  return `/${out.join('/')}`;
}

function isUnreserved(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}

function hexValue(a: number, b: number): number {
  const h = hexDigit(a);
  const l = hexDigit(b);
  return h < 0 || l < 0 ? -1 : h * 16 + l;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}
