// The client behind trusted proxies, as nginx real_ip_recursive on finds it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AddressFamily, commonPrefixLength, parseCidr, parseIpInto, type Cidr } from '../../src/ip/bytes.ts';
import { clientFromForwardedFor, type AddressSet } from '../../src/limits/forwarded-for.ts';

/** A linear stand-in for src/ip/cidr-set.ts's CidrSet. */
class ListSet implements AddressSet {
  readonly #cidrs: Cidr[];
  constructor(texts: string[]) {
    this.#cidrs = texts.map((t) => {
      const r = parseCidr(t);
      if (!r.ok) throw new Error(r.message);
      return r.value;
    });
  }
  has(family: AddressFamily, bytes: Uint8Array): boolean {
    return this.#cidrs.some((c) => c.family === family && commonPrefixLength(c.bytes, bytes, c.prefixLength) >= c.prefixLength);
  }
}

const trusted = new ListSet(['10.0.0.0/8', '2001:db8:ffff::/48']);

function client(peer: string, ...forwardedFor: string[]): string | null {
  const bytes = new Uint8Array(16);
  const family = parseIpInto(peer, bytes);
  assert.ok(family !== 0);
  return clientFromForwardedFor(family, bytes, forwardedFor, trusted);
}

describe('clientFromForwardedFor', () => {
  it('ignores the header from a peer that is not a trusted proxy', () => {
    assert.equal(client('198.51.100.1', '203.0.113.5'), null);
  });

  it('takes the first untrusted hop from the right', () => {
    assert.equal(client('10.0.0.1', '203.0.113.5'), '203.0.113.5');
    assert.equal(client('10.0.0.1', '192.0.2.66, 203.0.113.5, 10.1.1.1, 10.2.2.2'), '203.0.113.5', 'a forged left part is never reached');
    assert.equal(client('10.0.0.1', '192.0.2.66', '203.0.113.5, 10.1.1.1'), '203.0.113.5', 'field lines join in order');
  });

  it('stops at a malformed hop: the last trusted hop is the client', () => {
    assert.equal(client('10.0.0.1', 'unknown'), null, 'right behind the peer: the peer itself');
    assert.equal(client('10.0.0.1', '203.0.113.5, unknown, 10.9.9.9'), '10.9.9.9');
    assert.equal(client('10.0.0.1', '203.0.113.5, 999.1.1.1, 10.9.9.9'), '10.9.9.9');
  });

  it('takes the leftmost hop when every hop is trusted', () => {
    assert.equal(client('10.0.0.1', '10.5.5.5, 10.6.6.6'), '10.5.5.5');
  });

  it('reads ports, brackets, IPv6 and IPv4-mapped hops, and skips empty entries', () => {
    assert.equal(client('10.0.0.1', '203.0.113.5:41234'), '203.0.113.5');
    assert.equal(client('10.0.0.1', '[2001:db8::7]:443'), '2001:db8::7');
    assert.equal(client('10.0.0.1', '2001:db8::7'), '2001:db8::7');
    assert.equal(client('10.0.0.1', '[2001:DB8:0::7]'), '2001:db8::7', 'canonical text, so one client is one key');
    assert.equal(client('10.0.0.1', '::ffff:203.0.113.5'), '203.0.113.5');
    assert.equal(client('2001:db8:ffff::1', '203.0.113.5, , 2001:db8:ffff::2,'), '203.0.113.5');
    assert.equal(client('::ffff:10.0.0.1', '203.0.113.5'), '203.0.113.5', 'a dual-stack socket\'s mapped peer is trusted as IPv4');
  });

  it('treats a hop with a zone, a bad port or a stray bracket as malformed', () => {
    assert.equal(client('10.0.0.1', 'fe80::1%eth0'), null);
    assert.equal(client('10.0.0.1', '203.0.113.5:http'), null);
    assert.equal(client('10.0.0.1', '[2001:db8::7'), null);
    assert.equal(client('10.0.0.1', '[203.0.113.5]'), null);
  });

  it('gives null for an absent or empty header', () => {
    assert.equal(client('10.0.0.1'), null);
    assert.equal(client('10.0.0.1', ''), null);
    assert.equal(client('10.0.0.1', ' , '), null);
  });
});
