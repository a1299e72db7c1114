// IP text <-> bytes against Node's own: formatIPv6 must write what net.SocketAddress (libuv's
// inet_ntop) writes, and writeIPv6 must accept exactly what net.isIPv6 accepts (zones aside).
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatIPv4, formatIPv6, normalizeIPv6, writeIPv4, writeIPv6 } from '../../src/proxy-protocol/ip.ts';

/** 8 words, biased to zero so that runs of zeros (and "::") are common. */
const words = fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff })), {
  minLength: 8,
  maxLength: 8,
});

function bytesOf(ws: number[]): Buffer {
  const b = Buffer.alloc(16);
  ws.forEach((w, i) => b.writeUInt16BE(w, i * 2));
  return b;
}

function nodeFormat(b: Buffer): string {
  const full = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2).toString(16)).join(':');
  return new net.SocketAddress({ address: full, family: 'ipv6' }).address;
}

describe('formatIPv6', () => {
  it('writes what Node writes, for any 16 bytes', () => {
    fc.assert(
      fc.property(words, (ws) => {
        const b = bytesOf(ws);
        assert.equal(formatIPv6(b, 0), nodeFormat(b));
      }),
      { numRuns: 5000 },
    );
  });

  it('keeps IPv4-mapped and IPv4-compatible tails dotted, like socket.remoteAddress', () => {
    assert.equal(formatIPv6(bytesOf([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]), 0), '::ffff:1.2.3.4');
    assert.equal(formatIPv6(bytesOf([0, 0, 0, 0, 0, 0, 0x0102, 0x0304]), 0), '::1.2.3.4');
    assert.equal(formatIPv6(bytesOf([0, 0, 0, 0, 0, 0, 0, 1]), 0), '::1');
    assert.equal(formatIPv6(bytesOf([0, 0, 0, 0, 0, 0, 0, 0]), 0), '::');
    assert.equal(formatIPv6(bytesOf([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]), 0), '2001:db8::1:0:0:1');
    assert.equal(formatIPv6(bytesOf([1, 0, 2, 3, 4, 5, 6, 7]), 0), '1:0:2:3:4:5:6:7');
  });

  it('reads at an offset', () => {
    const b = Buffer.concat([Buffer.from([9, 9, 9]), bytesOf([0xfe80, 0, 0, 0, 0, 0, 0, 0xabcd])]);
    assert.equal(formatIPv6(b, 3), 'fe80::abcd');
  });
});

describe('writeIPv6', () => {
  it('accepts exactly what net.isIPv6 accepts (zones aside), and round-trips to Node\'s form', () => {
    const text = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.'.split('')), maxLength: 45 });
    fc.assert(
      fc.property(text, (t) => {
        const out = Buffer.alloc(16);
        const ok = writeIPv6(t, out, 0);
        assert.equal(ok, net.isIPv6(t), t);
        if (ok) assert.equal(formatIPv6(out, 0), new net.SocketAddress({ address: t, family: 'ipv6' }).address);
      }),
      { numRuns: 20000 },
    );
  });

  it('accepts every address formatIPv6 writes, giving back the same bytes', () => {
    fc.assert(
      fc.property(words, (ws) => {
        const b = bytesOf(ws);
        const out = Buffer.alloc(16);
        assert.ok(writeIPv6(formatIPv6(b, 0), out, 0));
        assert.deepEqual(out, b);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads the other valid spellings (padding, upper case, "::" anywhere in a zero run, dotted tail) as Node does', () => {
    const spelling = fc.record({
      ws: words,
      pad: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 8, maxLength: 8 }),
      upper: fc.boolean(),
      gap: fc.nat(),
      gapLength: fc.nat(),
      dotted: fc.boolean(),
    });
    fc.assert(
      fc.property(spelling, ({ ws, pad, upper, gap, gapLength, dotted }) => {
        let parts = ws.map((w, i) => w.toString(16).padStart(Math.min(4, w.toString(16).length + pad[i]!), '0'));
        if (upper) parts = parts.map((p) => p.toUpperCase());
        if (dotted) parts = [...parts.slice(0, 6), `${ws[6]! >> 8}.${ws[6]! & 0xff}.${ws[7]! >> 8}.${ws[7]! & 0xff}`];
        const zeroRuns: Array<[number, number]> = [];
        for (let i = 0; i < parts.length; i++) {
          for (let j = i; j < parts.length && j < (dotted ? 6 : 8) && ws[j] === 0; j++) zeroRuns.push([i, j + 1]);
        }
        let text = parts.join(':');
        if (zeroRuns.length > 0) {
          const [from, to] = zeroRuns[gap % zeroRuns.length]!;
          const cut = Math.max(from + 1, to - (gapLength % (to - from)));
          text = `${parts.slice(0, from).join(':')}::${parts.slice(cut).join(':')}`;
        }
        const out = Buffer.alloc(16);
        assert.ok(net.isIPv6(text), text); // the generator makes valid text only
        assert.ok(writeIPv6(text, out, 0), text);
        assert.deepEqual(out, bytesOf(ws), text);
      }),
      { numRuns: 5000 },
    );
  });

  it('handles the tricky forms', () => {
    const cases: Array<[string, string | null]> = [
      ['::', '::'],
      ['::1', '::1'],
      ['1::', '1::'],
      ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
      ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['::FFFF:1.2.3.4', '::ffff:1.2.3.4'],
      ['0:0:0:0:0:ffff:0102:0304', '::ffff:1.2.3.4'],
      ['2001:DB8::A', '2001:db8::a'],
      ['1:2:3:4:5:6:7:8:9', null],
      ['1::2::3', null],
      [':1::', null],
      ['1::2:', null],
      ['12345::', null],
      ['::1.2.3.04', null],
      ['::1.2.3', null],
      ['1.2.3.4::', null],
      ['fe80::1%eth0', null],
      ['', null],
    ];
    for (const [input, expected] of cases) assert.equal(normalizeIPv6(input), expected, input);
  });
});

describe('IPv4', () => {
  it('writes and formats dotted quads, refusing what net.isIPv4 refuses', () => {
    const text = fc.string({ unit: fc.constantFrom(...'0123456789.'.split('')), maxLength: 16 });
    fc.assert(
      fc.property(text, (t) => {
        const out = Buffer.alloc(4);
        const ok = writeIPv4(t, out, 0);
        assert.equal(ok, net.isIPv4(t), t);
        if (ok) assert.equal(formatIPv4(out, 0), t);
      }),
      { numRuns: 20000 },
    );
    for (const bad of ['1.2.3', '1.2.3.4.5', '01.2.3.4', '256.1.1.1', '1..2.3', ' 1.2.3.4', '1.2.3.4 ']) {
      assert.equal(writeIPv4(bad, Buffer.alloc(4), 0), false, bad);
    }
  });
});
