import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIpInto } from '../../src/ip/bytes.ts';
import { CidrSet } from '../../src/ip/cidr-set.ts';

function has(set: CidrSet, address: string): boolean {
  const bytes = new Uint8Array(16);
  const family = parseIpInto(address, bytes);
  assert.notEqual(family, 0, address);
  return set.has(family, bytes.subarray(0, family === 4 ? 4 : 16));
}

describe('CidrSet', () => {
  it('holds the addresses of its IPv4 networks and no others', () => {
    const set = CidrSet.fromText(['10.0.0.0/8', '192.168.1.0/24', '203.0.113.7']);
    for (const inside of ['10.0.0.0', '10.255.255.255', '10.1.2.3', '192.168.1.0', '192.168.1.255', '203.0.113.7']) assert.ok(has(set, inside), inside);
    for (const outside of ['9.255.255.255', '11.0.0.0', '192.168.0.255', '192.168.2.0', '203.0.113.6', '203.0.113.8', '0.0.0.0', '255.255.255.255']) {
      assert.ok(!has(set, outside), outside);
    }
  });

  it('holds the addresses of its IPv6 networks, with prefixes inside and across 32-bit words', () => {
    const set = CidrSet.fromText(['2001:db8::/32', 'fd00:1:2:3::/64', '2001:db9:8000::/33', '::1', 'fe80::/10']);
    for (const inside of ['2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', 'fd00:1:2:3::42', '2001:db9:8000::1', '2001:db9:ffff::', '::1', 'fe80::1', 'febf:ffff::']) {
      assert.ok(has(set, inside), inside);
    }
    for (const outside of ['2001:db7:ffff::', '2001:db9:7fff:ffff::', '2001:dba::', 'fd00:1:2:4::', '::2', '::', 'fec0::']) assert.ok(!has(set, outside), outside);
  });

  it('keeps the families apart: 10.0.0.0/8 does not hold ::a00:1', () => {
    const set = CidrSet.fromText(['10.0.0.0/8']);
    assert.ok(!has(set, '::a00:1'));
    assert.ok(!CidrSet.fromText(['::/8']).has(4, new Uint8Array([0, 0, 0, 1])));
  });

  it('looks an IPv4-mapped IPv6 address up as IPv4, whichever form the caller passes', () => {
    const set = CidrSet.fromText(['10.0.0.0/8']);
    // parseIpInto already gives family 4 for ::ffff:10.1.2.3 ...
    assert.ok(has(set, '::ffff:10.1.2.3'));
    // ... and a caller holding the 16 raw bytes gets the same answer.
    const mapped = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3]);
    assert.ok(set.has(6, mapped));
    mapped[14] = 0;
    mapped[12] = 11;
    assert.ok(!set.has(6, mapped));
  });

  it('/0 holds every address of its family', () => {
    const v4 = CidrSet.fromText(['0.0.0.0/0']);
    const v6 = CidrSet.fromText(['::/0']);
    for (const address of ['0.0.0.0', '255.255.255.255', '8.8.8.8']) assert.ok(has(v4, address) && !has(v6, address), address);
    for (const address of ['::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db8::1']) assert.ok(has(v6, address) && !has(v4, address), address);
  });

  it('never holds an unknown address (family 0), and an empty set holds nothing', () => {
    assert.ok(!CidrSet.fromText(['0.0.0.0/0']).has(0, new Uint8Array(4)));
    assert.ok(!has(CidrSet.fromText([]), '10.0.0.1'));
    assert.ok(!has(CidrSet.fromText([]), '::1'));
  });

  it('merges overlapping and nested networks', () => {
    const set = CidrSet.fromText(['10.0.0.0/8', '10.1.0.0/16', '10.0.0.0/8', '2001:db8::/32', '2001:db8:1::/48']);
    assert.equal(set.size, 2);
    assert.ok(has(set, '10.1.2.3') && has(set, '2001:db8:1::5'));
  });

  it('answers for thousands of networks as a linear scan would', () => {
    const texts: string[] = [];
    for (let i = 0; i < 5_000; i++) texts.push(`${(i * 7) % 256}.${(i * 13) % 256}.${i % 256}.0/24`);
    for (let i = 0; i < 2_000; i++) texts.push(`2001:db8:${i.toString(16)}::/48`);
    const set = CidrSet.fromText(texts);
    const v4Networks = texts.filter((text) => !text.includes(':')).map((text) => text.split('.').slice(0, 3).join('.'));
    const known = new Set(v4Networks);
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) >>> 0;
      return seed >>> 8;
    };
    for (let i = 0; i < 20_000; i++) {
      const a = random() % 256;
      const b = random() % 256;
      const c = random() % 256;
      assert.equal(has(set, `${a}.${b}.${c}.${random() % 256}`), known.has(`${a}.${b}.${c}`));
    }
    assert.ok(has(set, '2001:db8:7cf::1'));
    assert.ok(!has(set, '2001:db8:7d0::1'));
  });
});
