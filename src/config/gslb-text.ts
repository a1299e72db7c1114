/**
 * Text in TXT and CAA values, read as in a zone file (RFC 1035 section 5.1): "quoted strings"
 * with \X (the character X: \" and \\) and \DDD (the byte DDD, three decimal digits) escapes.
 *
 * Values stay strings, sent as UTF-8: the config is YAML, which is Unicode text, so "é" is the
 * two bytes 195 169 on the wire, and \DDD escapes are bytes that must spell UTF-8 too
 * ("\195\169" is also é). Bytes that are not UTF-8 are refused: a JavaScript string cannot hold
 * them, and decoding them into U+FFFD would send other bytes than the ones written.
 */
import type { ParseResult } from './problem.ts';

const MAX_CHARACTER_STRING = 255;

/** One quoted string, possibly escaped, as it stands between the quotes. */
const QUOTED = /\s*"((?:[^"\\]|\\.)*)"\s*/y;

/** `value` as one or more "quoted" "strings", each unescaped. */
export function quotedStrings(value: string): ParseResult<string[]> {
  const strings: string[] = [];
  let at = 0;
  while (at < value.length) {
    QUOTED.lastIndex = at;
    const match = QUOTED.exec(value);
    if (match === null) return fail(`${JSON.stringify(value)} mixes quoted and unquoted text; write "one" "or more" quoted strings, or plain text without quotes at the start`);
    const text = unescapeText(match[1]!);
    if (!text.ok) return text;
    strings.push(text.value);
    at = QUOTED.lastIndex;
  }
  return { ok: true, value: strings };
}

/** `value` as exactly one "quoted string", unescaped. */
export function quotedString(value: string): ParseResult<string> {
  const match = /^"((?:[^"\\]|\\.)*)"$/.exec(value);
  if (match === null) return fail(`${JSON.stringify(value)} is not one quoted string; write "text", with \\" for a quote inside`);
  return unescapeText(match[1]!);
}

/** The text between quotes with its escapes read; \DDD escapes must form UTF-8 (see the module comment). */
export function unescapeText(escaped: string): ParseResult<string> {
  if (!escaped.includes('\\')) return { ok: true, value: escaped };
  const bytes: number[] = [];
  const re = /\\([0-9]{1,3})|\\([^0-9])|[^\\]+/gsy;
  let read = 0;
  for (let match = re.exec(escaped); match !== null; match = re.exec(escaped)) {
    read = re.lastIndex;
    if (match[1] !== undefined) {
      const byte = Number(match[1]);
      if (match[1].length !== 3 || byte > 255) return fail(`"\\${match[1]}" is not an escape; write a byte as three decimal digits 000 to 255, e.g. \\059 for ";"`);
      bytes.push(byte);
    } else {
      for (const byte of Buffer.from(match[2] ?? match[0], 'utf8')) bytes.push(byte);
    }
  }
  if (read !== escaped.length) return fail(`${JSON.stringify(escaped)} ends in a lone "\\"; write \\\\ for a backslash`);
  try {
    // ignoreBOM: a leading \239\187\191 is data here, not a byte-order mark to drop.
    return { ok: true, value: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Uint8Array.from(bytes)) };
  } catch {
    return fail(`the \\DDD escapes in ${JSON.stringify(escaped)} are not UTF-8; values are sent as UTF-8 text (é is \\195\\169)`);
  }
}

/** `text` in pieces of at most 255 bytes of UTF-8, cut between characters (SPF and DKIM readers join them, RFC 7208 3.3). */
export function splitCharacterString(text: string): string[] {
  if (Buffer.byteLength(text) <= MAX_CHARACTER_STRING) return [text];
  const parts: string[] = [];
  let current = '';
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > MAX_CHARACTER_STRING) {
      parts.push(current);
      current = '';
      bytes = 0;
    }
    current += char;
    bytes += size;
  }
  parts.push(current);
  return parts;
}

function fail<T>(message: string): ParseResult<T> {
  return { ok: false, message };
}
