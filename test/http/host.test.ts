// The Host grammar (src/http/host.ts): what we accept as `uri-host [ ":" port ]`, where the host
// name ends, and what we refuse, with the reason for each refusal beside it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scanHost } from '../../src/http/host.ts';

function nameOf(value: string): string | null {
  const buf = Buffer.from(`>${value}<`, 'latin1'); // offsets inside a larger buffer, as in a head
  const end = scanHost(buf, 1, 1 + value.length);
  return end < 0 ? null : buf.toString('latin1', 1, end);
}

describe('Host grammar', () => {
  const ACCEPTED: Array<[string, string]> = [
    ['a', 'a'],
    ['example.com', 'example.com'],
    ['Shop.Example.TEST:8080', 'Shop.Example.TEST'],
    ['a.example.', 'a.example'], // an FQDN: the root dot is not part of the name rules see
    ['a.example.:443', 'a.example'],
    ['a:', 'a'], // empty port (RFC 3986 §3.2.3): the default port
    ['a:0', 'a'],
    ['a:65535', 'a'],
    ['a:00080', 'a'],
    ['127.0.0.1', '127.0.0.1'],
    ['127.0.0.1:80', '127.0.0.1'],
    ['h_o-st~1', 'h_o-st~1'], // underscore: common in internal names
    ["x!$&'()*+;=y", "x!$&'()*+;=y"], // sub-delims but ","
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['[::1]', '[::1]'],
    ['[::1]:80', '[::1]'],
    ['[::]', '[::]'],
    ['[2001:DB8::1]', '[2001:DB8::1]'],
    ['[1:2:3:4:5:6:7:8]', '[1:2:3:4:5:6:7:8]'],
    ['[1::]', '[1::]'],
    ['[1:2:3:4:5:6::8]', '[1:2:3:4:5:6::8]'],
    ['[::ffff:192.0.2.1]:443', '[::ffff:192.0.2.1]'],
    ['[1:2:3:4:5:6:1.2.3.4]', '[1:2:3:4:5:6:1.2.3.4]'],
  ];
  for (const [value, name] of ACCEPTED) {
    it(`accepts ${JSON.stringify(value)} (host name ${JSON.stringify(name)})`, () => {
      assert.equal(nameOf(value), name);
    });
  }

  const REFUSED: Array<[string, string]> = [
    ['', 'empty: nothing to route on (nginx: 400)'],
    [' ', 'whitespace'],
    ['a b', 'whitespace inside'],
    ['a,b', 'a comma: two folded Host lines'],
    ['a, b', 'a comma and a space'],
    ['user@a', 'userinfo (RFC 9110 §4.2.4)'],
    ['a/b', 'a path (nginx: 400)'],
    ['a?b', 'a query'],
    ['a#b', 'a fragment'],
    ['a\\b', 'a backslash'],
    ['%61', 'pct-encoded: a decoding server sees another name'],
    ['a%2eexample', 'pct-encoded dot'],
    ['a..b', 'an empty label (nginx: 400)'],
    ['.a', 'a leading empty label'],
    ['.', 'the root alone'],
    ['a.example..', 'two trailing dots'],
    [':80', 'a port without a host'],
    ['a:b', 'a port that is not digits'],
    ['a:8x', 'a port with a letter'],
    ['a:65536', 'a port over 16 bits'],
    ['a:123456', 'a port of 6 digits'],
    ['a:1:2', 'two colons outside brackets'],
    ['::1', 'an IPv6 address without brackets'],
    ['[::1', 'an unclosed literal'],
    ['[::1]x', 'bytes after the literal'],
    ['[]', 'an empty literal'],
    ['[:1]', 'a single colon at the start'],
    ['[1:]', 'a single colon at the end'],
    ['[1::2::3]', 'two "::"'],
    ['[1:::2]', 'three colons'],
    ['[1:2:3:4:5:6:7]', '7 groups without "::"'],
    ['[1:2:3:4:5:6:7:8:9]', '9 groups'],
    ['[1::2:3:4:5:6:7:8]', '"::" with 8 groups besides'],
    ['[12345::1]', 'a group of 5 digits'],
    ['[::1.2.3.04]', 'an IPv4 octet with a leading zero'],
    ['[::1.2.3.256]', 'an IPv4 octet over 255'],
    ['[::1.2.3]', 'an IPv4 tail of 3 octets'],
    ['[1.2.3.4::]', 'an IPv4 part before the end'],
    ['[fe80::1%25eth0]', 'a zone ID (RFC 6874)'],
    ['[v1.x]', 'IPvFuture'],
    ['a\u00e9', 'obs-text (IDNs travel as xn--)'],
    ['a\u0000b', 'NUL'],
    ['a"b', 'a quote'],
    ['a<b>', 'angle brackets'],
    ['a{b}', 'braces'],
    ['a|b', 'a bar'],
    ['a^b', 'a caret'],
    ['a`b', 'a backquote'],
  ];
  for (const [value, why] of REFUSED) {
    it(`refuses ${JSON.stringify(value)}: ${why}`, () => {
      assert.equal(nameOf(value), null);
    });
  }

  it('accepts an empty port after a literal', () => {
    assert.equal(nameOf('[::1]:'), '[::1]');
  });

  it('reads only inside [start, end): bytes around the value do not matter', () => {
    const buf = Buffer.from('Host: [::1]]:80x', 'latin1');
    assert.equal(scanHost(buf, 6, 11), 11); // "[::1]"
    assert.equal(scanHost(buf, 6, 10), -1); // "[::1" (the "]" lies past the end)
    const port = Buffer.from('a:655359', 'latin1');
    assert.equal(scanHost(port, 0, 7), 1); // "a:65535"
  });
});
