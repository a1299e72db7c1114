/**
 * Byte classes from RFC 9110 §5.6.2 (token) and §5.5 (field values), as lookup tables so that
 * the parser validates each byte with one array read.
 */
const TOKEN_EXTRAS = "!#$%&'*+-.^_`|~";

function table(predicate: (byte: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) t[b] = predicate(b) ? 1 : 0;
  return t;
}

const isAlnum = (b: number): boolean =>
  (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);

/** tchar: the bytes allowed in a method or a header name. */
export const TCHAR = table((b) => isAlnum(b) || TOKEN_EXTRAS.includes(String.fromCharCode(b)));

/** field-vchar / SP / HTAB / obs-text: the bytes allowed inside a header value. */
export const FIELD_VALUE = table((b) => b === 0x09 || (b >= 0x20 && b !== 0x7f));

/** The bytes we accept in a request-target: visible ASCII only (no spaces, no controls, no obs-text). */
export const TARGET = table((b) => b > 0x20 && b < 0x7f);

/** qdtext (RFC 9110 §5.6.4): inside a quoted-string, everything a field value allows but DQUOTE and "\\". */
export const QDTEXT = table((b) => FIELD_VALUE[b] === 1 && b !== 0x22 && b !== 0x5c);

export const HEX_VALUE = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let d = 0; d < 10; d++) t[0x30 + d] = d;
  for (let d = 0; d < 6; d++) {
    t[0x41 + d] = 10 + d;
    t[0x61 + d] = 10 + d;
  }
  return t;
})();

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;
export const HTAB = 0x09;
export const COLON = 0x3a;

/** Case-insensitive comparison of buf[start, start+lower.length) with an all-lowercase ASCII name. */
export function equalsLower(buf: Uint8Array, start: number, len: number, lower: string): boolean {
  if (len !== lower.length) return false;
  for (let i = 0; i < len; i++) {
    // |0x20 folds A-Z onto a-z; no other tchar folds onto a lowercase letter.
    if ((buf[start + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}
