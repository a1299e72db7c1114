/**
 * IP address text <-> bytes, for PROXY headers. Node has no public inet_pton/inet_ntop, and the
 * v2 header carries raw bytes, so both directions live here. Text comes out exactly as Node
 * writes socket addresses (libuv's inet_ntop: RFC 5952 compression, lower case, dotted tail for
 * IPv4-mapped and IPv4-compatible addresses), so an address read from a header and the same
 * address read from a socket are the same string (persistence keys, logs).
 */

const HEX = '0123456789abcdef';

/** "a.b.c.d": four decimal numbers 0-255, no leading zeros (proxy-protocol.txt 2.1; so is Node's net.isIPv4). */
export function writeIPv4(text: string, out: Uint8Array, at: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e; // a virtual dot closes the last part
    if (c === 0x2e) {
      if (digits === 0 || part > 3) return false;
      out[at + part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value === 0) return false; // leading zero
      value = value * 10 + (c - 0x30);
      if (value > 255) return false;
      digits++;
    } else {
      return false;
    }
  }
  return part === 4;
}

/** One group of 1-4 hex digits, or -1. */
function hexGroup(text: string, from: number, to: number): number {
  if (to <= from || to - from > 4) return -1;
  let value = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i) | 0x20; // ASCII lower case; maps no non-hex character onto a hex digit
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x61 + 10 : -1;
    if (d < 0) return -1;
    value = value * 16 + d;
  }
  return value;
}

const scratch = new Uint8Array(16);

/**
 * An IPv6 literal as inet_pton reads it: 8 groups of 1-4 hex digits, at most one "::" for one or
 * more zero groups, an optional dotted IPv4 tail as the last 32 bits. No zone ("%eth0"): a PROXY
 * header has none. Writes 16 bytes at out[at] only when the whole text is valid.
 */
export function writeIPv6(text: string, out: Uint8Array, at: number): boolean {
  const gap = text.indexOf('::');
  if (gap >= 0 && text.indexOf('::', gap + 1) >= 0) return false;
  const words = scratch; // 8 words as 16 bytes
  let count = 0;
  let gapAt = -1;
  let i = 0;
  const n = text.length;
  if (gap === 0) {
    gapAt = 0;
    i = 2;
  }
  while (i < n) {
    let end = i;
    while (end < n && text.charCodeAt(end) !== 0x3a) end++;
    const last = end === n;
    if (last && text.indexOf('.', i) >= 0) {
      if (count > 6 || !writeIPv4(text.slice(i, end), words, count * 2)) return false;
      count += 2;
      i = end;
      break;
    }
    const value = hexGroup(text, i, end);
    if (value < 0 || count === 8) return false;
    words[count * 2] = value >> 8;
    words[count * 2 + 1] = value & 0xff;
    count++;
    if (last) {
      i = end;
      break;
    }
    // end is at a ':'
    if (end === gap) {
      gapAt = count;
      i = end + 2;
    } else {
      i = end + 1;
      if (i === n) return false; // a trailing single ':'
    }
  }
  if (gapAt < 0) {
    if (count !== 8) return false;
    out.set(words, at);
    return true;
  }
  if (count > 7) return false;
  const zeros = 8 - count;
  for (let w = 0; w < gapAt; w++) {
    out[at + w * 2] = words[w * 2]!;
    out[at + w * 2 + 1] = words[w * 2 + 1]!;
  }
  for (let w = gapAt; w < gapAt + zeros; w++) {
    out[at + w * 2] = 0;
    out[at + w * 2 + 1] = 0;
  }
  for (let w = gapAt; w < count; w++) {
    out[at + (w + zeros) * 2] = words[w * 2]!;
    out[at + (w + zeros) * 2 + 1] = words[w * 2 + 1]!;
  }
  return true;
}

export function formatIPv4(buf: Uint8Array, at: number): string {
  return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
}

function hex(word: number): string {
  if (word < 0x10) return HEX[word]!;
  return word.toString(16);
}

/** 16 bytes at buf[at] as libuv's inet_ntop writes them (so as net.Socket#remoteAddress shows them). */
export function formatIPv6(buf: Uint8Array, at: number): string {
  // The longest run of zero words (the first of equals), if at least 2 long, becomes "::".
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let w = 0; w < 8; w++) {
    if (buf[at + w * 2] === 0 && buf[at + w * 2 + 1] === 0) {
      if (curBase < 0) {
        curBase = w;
        curLen = 1;
      } else curLen++;
      if (curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
    } else curBase = -1;
  }
  if (bestLen < 2) bestBase = -1;
  let text = '';
  for (let w = 0; w < 8; w++) {
    if (bestBase >= 0 && w >= bestBase && w < bestBase + bestLen) {
      if (w === bestBase) text += ':';
      continue;
    }
    if (w !== 0) text += ':';
    // IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) end in a dotted quad.
    if (w === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && buf[at + 10] === 0xff && buf[at + 11] === 0xff))) {
      return text + formatIPv4(buf, at + 12);
    }
    text += hex((buf[at + w * 2]! << 8) | buf[at + w * 2 + 1]!);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) text += ':';
  return text;
}

const normalizeBuf = new Uint8Array(16);

/** An IPv6 literal in Node's form ("0:0::1" -> "::1"), or null when it is not one. */
export function normalizeIPv6(text: string): string | null {
  return writeIPv6(text, normalizeBuf, 0) ? formatIPv6(normalizeBuf, 0) : null;
}
