// Zone-file text for TXT and CAA values: quoted strings, \X and \DDD escapes (RFC 1035 section
// 5.1), UTF-8 only, and the split into 255-byte character-strings.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { quotedString, quotedStrings, splitCharacterString, unescapeText } from '../../src/config/gslb-text.ts';

function value<T>(result: { ok: true; value: T } | { ok: false; message: string }): T {
  assert.ok(result.ok, result.ok ? '' : result.message);
  return result.value;
}

function message(result: { ok: boolean; message?: string }): string {
  assert.equal(result.ok, false);
  return result.message ?? '';
}

describe('gslb text values', () => {
  it('reads \\X as X and \\DDD as the byte DDD', () => {
    assert.equal(value(unescapeText(String.raw`say \"hi\"\; a\\b`)), 'say "hi"; a\\b');
    assert.equal(value(unescapeText(String.raw`\059\0599`)), ';;9', 'exactly three digits');
    assert.equal(value(unescapeText(String.raw`caf\195\169 \226\130\172`)), 'café €');
    assert.equal(value(unescapeText('naïve, no escapes')), 'naïve, no escapes');
  });

  it('keeps a leading \\239\\187\\191: data, not a byte-order mark', () => {
    assert.equal(value(unescapeText(String.raw`\239\187\191x`)), '\uFEFFx');
  });

  it('refuses short or large \\DDD, bytes that are not UTF-8, and a lone backslash at the end', () => {
    assert.match(message(unescapeText(String.raw`\05`)), /"\\05" is not an escape/);
    assert.match(message(unescapeText(String.raw`\256`)), /"\\256" is not an escape/);
    assert.match(message(unescapeText(String.raw`\255`)), /not UTF-8/);
    assert.match(message(unescapeText(String.raw`\195`)), /not UTF-8/, 'half a character');
    assert.match(message(unescapeText('a\\')), /ends in a lone "\\"/);
  });

  it('splits quoted strings, each unescaped; one quoted string is exactly one', () => {
    assert.deepEqual(value(quotedStrings(String.raw`"a b"  "c\"d" ""`)), ['a b', 'c"d', '']);
    assert.match(message(quotedStrings('"a" b')), /mixes quoted and unquoted text/);
    assert.equal(value(quotedString(String.raw`"x; y=\"z\""`)), 'x; y="z"');
    assert.match(message(quotedString('"a" "b"')), /is not one quoted string/);
  });

  it('cuts text over 255 bytes between characters', () => {
    const text = `${'a'.repeat(254)}é${'b'.repeat(10)}`;
    assert.deepEqual(splitCharacterString(text), ['a'.repeat(254), `é${'b'.repeat(10)}`]);
    assert.deepEqual(splitCharacterString('a'.repeat(255)), ['a'.repeat(255)]);
  });
});
