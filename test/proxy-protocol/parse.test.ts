// parseProxyHeader: every field of v1 and v2, incremental reads (every split point), early
// errors, and fuzzed input that must never throw nor change its mind.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseProxyHeader, type ProxyHeader, type ProxyParse } from '../../src/proxy-protocol/parse.ts';
import { ipv4Block, ipv6Block, tlv, unixBlock, v2 } from './helpers.ts';

const REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n');

function ok(buf: Buffer): { length: number; header: ProxyHeader } {
  const r = parseProxyHeader(buf);
  assert.equal(r.kind, 'ok', `expected ok, got ${JSON.stringify(r)}`);
  return r as { kind: 'ok'; length: number; header: ProxyHeader };
}

function reason(buf: Buffer | string): string {
  const r = parseProxyHeader(typeof buf === 'string' ? Buffer.from(buf, 'latin1') : buf);
  assert.equal(r.kind, 'error', `expected an error for ${JSON.stringify(buf.toString())}, got ${JSON.stringify(r)}`);
  return (r as { reason: string }).reason;
}

/** Every proper prefix is need-more; the whole is ok; more bytes after it change nothing. */
function assertIncremental(header: Buffer): ProxyParse {
  for (let n = 0; n < header.length; n++) {
    assert.deepEqual(parseProxyHeader(header.subarray(0, n)), { kind: 'need-more' }, `prefix of ${n} of ${header.length} bytes`);
  }
  const whole = parseProxyHeader(header);
  assert.equal(whole.kind, 'ok');
  assert.deepEqual(parseProxyHeader(Buffer.concat([header, REQUEST])), whole);
  assert.equal((whole as { length: number }).length, header.length);
  return whole;
}

const ip6 = (hex: string): Buffer => Buffer.from(hex.replace(/:/g, ''), 'hex');

describe('PROXY v1', () => {
  it('reads TCP4 with every field, and stops at the CRLF', () => {
    const line = 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n';
    const r = ok(Buffer.from(line + 'GET / HTTP/1.1\r\n'));
    assert.equal(r.length, line.length);
    assert.deepEqual(r.header, {
      version: 1,
      command: 'proxy',
      transport: 'stream',
      source: { address: '192.168.0.1', port: 56324 },
      destination: { address: '192.168.0.11', port: 443 },
    });
  });

  it('reads TCP6 and writes the addresses as Node does', () => {
    const r = ok(Buffer.from('PROXY TCP6 2001:DB8:0:0:0:0:0:1 0:0::1 0 65535\r\n'));
    assert.deepEqual(r.header.source, { address: '2001:db8::1', port: 0 });
    assert.deepEqual(r.header.destination, { address: '::1', port: 65535 });
    assert.equal(r.header.transport, 'stream');
  });

  it('keeps an IPv4-mapped TCP6 address as given (HAProxy sends those for mixed families)', () => {
    const r = ok(Buffer.from('PROXY TCP6 ::ffff:10.0.0.1 2001:db8::7 5555 80\r\n'));
    assert.deepEqual(r.header.source, { address: '::ffff:10.0.0.1', port: 5555 });
  });

  it('reads UNKNOWN, short or with anything before the CRLF, as no address', () => {
    for (const line of ['PROXY UNKNOWN\r\n', 'PROXY UNKNOWN ffff::1 ffff::2 65535 65535\r\n', 'PROXY UNKNOWN whatever  the sender put\r\n']) {
      const r = ok(Buffer.from(line));
      assert.equal(r.length, line.length);
      assert.deepEqual(r.header, { version: 1, command: 'proxy', transport: 'unspec', source: null, destination: null });
    }
  });

  it('accepts the longest lines the spec allows and nothing longer than 107 bytes', () => {
    const f = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
    const tcp6 = `PROXY TCP6 ${f} ${f} 65535 65535\r\n`;
    assert.equal(tcp6.length, 104);
    assert.equal(ok(Buffer.from(tcp6)).length, 104);
    const unknown = `PROXY UNKNOWN ${f} ${f} 65535 65535\r\n`;
    assert.equal(unknown.length, 107);
    assert.equal(ok(Buffer.from(unknown)).length, 107);
    const longer = `PROXY UNKNOWN ${f} ${f} 65535 655350\r\n`;
    assert.match(reason(longer), /longer than 107 bytes/);
    // ... decided as soon as 107 bytes without a CRLF are in, and when the CR comes too late.
    assert.match(reason(longer.slice(0, 107)), /longer than 107 bytes/);
    assert.match(reason(longer.slice(0, 106) + '\r'), /longer than 107 bytes/);
  });

  it('refuses what does not match the grammar exactly', () => {
    const cases: Array<[string, RegExp]> = [
      ['PROXY TCP4 ::1 ::1 1 2\r\n', /invalid source address "::1"/],
      ['PROXY TCP6 1.2.3.4 ::1 1 2\r\n', /invalid source address "1.2.3.4"/],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 080 80\r\n', /invalid source port "080"/],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 80 65536\r\n', /invalid destination port "65536"/],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 +80 80\r\n', /invalid source port/],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 0x50 80\r\n', /invalid source port/],
      ['PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n', /invalid source address "01.2.3.4"/],
      ['PROXY TCP4 1.2.3.4 256.6.7.8 1 2\r\n', /invalid destination address/],
      ['PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n', /invalid source address/],
      ['PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n', /invalid source address "": empty/],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n', /too many fields/],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n', /too many fields/],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n', /3 of 4 fields/],
      ['PROXY TCP4\r\n', /0 of 4 fields/],
      ['PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n', /unknown protocol "tcp4"/],
      ['PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n', /unknown protocol "UDP4"/],
      ['PROXY UNKNOWNX\r\n', /unknown protocol "UNKNOWNX"/],
      ['PROXY \r\n', /unknown protocol ""/],
      ['PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n', /unknown protocol ""/],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n', /bare LF/],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX', /bare CR/],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n', /bare CR/],
      ['PROXY UNKNOWN \n\r\n', /bare LF/],
      ['PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n', /not a PROXY protocol header: starts with "PROXY"/],
      ['proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n', /not a PROXY protocol header/],
    ];
    for (const [line, expected] of cases) assert.match(reason(line), expected, line);
  });

  it('says error as soon as the line can no longer become valid', () => {
    const early: Array<[string, RegExp]> = [
      ['G', /not a PROXY protocol header: starts with "G"/],
      ['GET / HTTP/1.1\r\n', /not a PROXY protocol header: starts with "GET \/"/],
      ['PROXY X', /unknown protocol "X"/],
      ['PROXY TCP5', /unknown protocol "TCP5"/],
      ['PROXY TCP4 1.2.3.4:', /invalid source address/],
      ['PROXY TCP4 1.2.3.4.5.6.7.8.9.1', /invalid source address/],
      ['PROXY TCP6 fe80::g', /invalid source address/],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 01', /invalid source port "01"/],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 65536', /invalid source port "65536"/],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 123456', /invalid source port/],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2 ', /too many fields/],
      ['PROXY TCP4  ', /empty/],
      ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r', /^$/], // complete and valid so far: waits for the LF
    ];
    for (const [text, expected] of early) {
      const r = parseProxyHeader(Buffer.from(text, 'latin1'));
      if (expected.source === '^$') assert.deepEqual(r, { kind: 'need-more' }, text);
      else assert.match(reason(text), expected, text);
    }
    // A complete line that is wrong is refused at its CR, without waiting for the LF.
    assert.match(reason('PROXY TCP4 1.2.3.4 5.6.7.8 1\r'), /3 of 4 fields/);
  });

  it('needs more at every split point of valid lines', () => {
    for (const line of [
      'PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n',
      'PROXY TCP4 0.0.0.0 1.1.1.1 0 1\r\n',
      'PROXY TCP6 2001:db8::1 ::ffff:1.2.3.4 56324 443\r\n',
      'PROXY UNKNOWN\r\n',
      'PROXY UNKNOWN ffff::1 ffff::2 65535 65535\r\n',
    ]) {
      assertIncremental(Buffer.from(line, 'latin1'));
    }
  });
});

describe('PROXY v2', () => {
  it('reads TCP over IPv4 with every field', () => {
    const header = v2(0x21, 0x11, ipv4Block([10, 0, 0, 1], [192, 168, 1, 2], 5555, 443));
    assert.equal(header.length, 28);
    const r = assertIncremental(header) as { header: ProxyHeader };
    assert.deepEqual(r.header, {
      version: 2,
      command: 'proxy',
      transport: 'stream',
      source: { address: '10.0.0.1', port: 5555 },
      destination: { address: '192.168.1.2', port: 443 },
    });
  });

  it('reads UDP over IPv4 as dgram', () => {
    const r = ok(v2(0x21, 0x12, ipv4Block([1, 2, 3, 4], [5, 6, 7, 8], 53, 5353)));
    assert.equal(r.header.transport, 'dgram');
    assert.deepEqual(r.header.source, { address: '1.2.3.4', port: 53 });
  });

  it('reads TCP and UDP over IPv6, compressed as Node writes them, IPv4-mapped kept as given', () => {
    const src = ip6('2001:0db8:0000:0000:0000:0000:0000:0001');
    const dst = ip6('0000:0000:0000:0000:0000:ffff:0a00:0001');
    const tcp = assertIncremental(v2(0x21, 0x21, ipv6Block(src, dst, 65535, 0))) as { length: number; header: ProxyHeader };
    assert.equal(tcp.length, 52);
    assert.deepEqual(tcp.header.source, { address: '2001:db8::1', port: 65535 });
    assert.deepEqual(tcp.header.destination, { address: '::ffff:10.0.0.1', port: 0 });
    assert.equal(tcp.header.transport, 'stream');
    assert.equal(ok(v2(0x21, 0x22, ipv6Block(src, dst, 1, 2))).header.transport, 'dgram');
  });

  it('skips TLVs, counting them in the length', () => {
    const tlvs = Buffer.concat([tlv(0x01, Buffer.from('h2')), tlv(0x04, Buffer.alloc(0)), tlv(0x20, Buffer.alloc(300, 7)), tlv(0xe0, Buffer.from('x'))]);
    const header = v2(0x21, 0x11, Buffer.concat([ipv4Block([1, 1, 1, 1], [2, 2, 2, 2], 1, 2), tlvs]));
    const r = assertIncremental(header) as { length: number; header: ProxyHeader };
    assert.equal(r.length, 16 + 12 + tlvs.length);
    assert.deepEqual(r.header.source, { address: '1.1.1.1', port: 1 });
  });

  it('refuses a TLV that overruns the header, or a partial TLV head at its end', () => {
    const block = ipv4Block([1, 1, 1, 1], [2, 2, 2, 2], 1, 2);
    const overrun = Buffer.concat([block, tlv(0x01, Buffer.from('abc')).subarray(0, 5)]); // says 3 bytes, has 2
    assert.match(reason(v2(0x21, 0x11, overrun)), /TLV that overruns the header at offset 28/);
    assert.match(reason(v2(0x21, 0x11, Buffer.concat([block, Buffer.from([0x04, 0x00])]))), /TLV that overruns/);
    assert.match(reason(v2(0x21, 0x11, Buffer.concat([block, tlv(1, Buffer.alloc(1)), Buffer.from([0x04])]))), /at offset 32/);
  });

  it('reads LOCAL as no address, whatever the block holds, and skips the block', () => {
    const empty = assertIncremental(v2(0x20, 0x00, Buffer.alloc(0))) as { length: number; header: ProxyHeader };
    assert.equal(empty.length, 16);
    assert.deepEqual(empty.header, { version: 2, command: 'local', transport: 'unspec', source: null, destination: null });
    // "Receivers MUST always consider this field to skip the appropriate number of bytes".
    const withBlock = ok(v2(0x20, 0x11, ipv4Block([1, 2, 3, 4], [5, 6, 7, 8], 1, 2)));
    assert.equal(withBlock.length, 28);
    assert.equal(withBlock.header.source, null);
    assert.equal(withBlock.header.command, 'local');
    // The address block is ignored for LOCAL: even one too short for its family.
    assert.equal(ok(v2(0x20, 0x21, Buffer.alloc(3))).length, 19);
  });

  it('reads PROXY with AF_UNSPEC as no address, skipping the block unread', () => {
    const r = ok(v2(0x21, 0x00, Buffer.from([1, 2, 3])));
    assert.equal(r.length, 19);
    assert.deepEqual(r.header, { version: 2, command: 'proxy', transport: 'unspec', source: null, destination: null });
  });

  it('reads AF_UNIX (216-byte block) as no address, with TLVs after it', () => {
    const header = v2(0x21, 0x31, Buffer.concat([unixBlock('/run/a.sock', '/run/b.sock'), tlv(0x02, Buffer.from('example.com'))]));
    const r = assertIncremental(header) as { length: number; header: ProxyHeader };
    assert.equal(r.length, 16 + 216 + 14);
    assert.deepEqual(r.header, { version: 2, command: 'proxy', transport: 'stream', source: null, destination: null });
    assert.equal(ok(v2(0x21, 0x32, unixBlock('', ''))).header.transport, 'dgram');
  });

  it('refuses a length too short for the family', () => {
    assert.match(reason(v2(0x21, 0x11, Buffer.alloc(8))), /too short for its addresses: length 8, IPv4 needs 12/);
    assert.match(reason(v2(0x21, 0x21, Buffer.alloc(12))), /length 12, IPv6 needs 36/);
    assert.match(reason(v2(0x21, 0x31, Buffer.alloc(200))), /length 200, AF_UNIX needs 216/);
    // ... decided from the 16 fixed bytes alone, without waiting for the block.
    assert.match(reason(v2(0x21, 0x21, Buffer.alloc(0), 12)), /IPv6 needs 36/);
  });

  it('refuses bad version, command, family and transport at the byte that carries them', () => {
    const header = v2(0x21, 0x11, ipv4Block([1, 1, 1, 1], [2, 2, 2, 2], 1, 2));
    const withByte = (at: number, value: number): Buffer => {
      const b = Buffer.from(header.subarray(0, at + 1));
      b[at] = value;
      return b;
    };
    assert.match(reason(withByte(12, 0x11)), /unsupported version 1 \(byte 0x11\)/);
    assert.match(reason(withByte(12, 0x31)), /unsupported version 3/);
    assert.match(reason(withByte(12, 0x22)), /unsupported command 0x2/);
    assert.match(reason(withByte(12, 0x2f)), /unsupported command 0xf/);
    assert.match(reason(withByte(13, 0x41)), /unsupported address family 0x41/);
    assert.match(reason(withByte(13, 0xf1)), /unsupported address family 0xf1/);
    assert.match(reason(withByte(13, 0x13)), /unsupported transport protocol 0x13/);
  });

  it('refuses a broken signature at the first wrong byte', () => {
    const sig = v2(0x21, 0x00, Buffer.alloc(0)).subarray(0, 12);
    for (let i = 1; i < 12; i++) {
      const b = Buffer.from(sig.subarray(0, i + 1));
      b[i] = b[i]! ^ 0x40;
      assert.match(reason(b), /not a PROXY protocol header/, `byte ${i}`);
    }
    // A TLS ClientHello and an SSH banner, as a misrouted client would send them.
    assert.match(reason(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])), /starts with "\\u0016\\u0003\\u0001\\u0002\\u0000"/);
    assert.match(reason('SSH-2.0-OpenSSH'), /starts with "SSH-2"/);
  });

  it('needs more while truncated, up to the last byte of the block', () => {
    const header = v2(0x21, 0x21, ipv6Block(Buffer.alloc(16, 1), Buffer.alloc(16, 2), 1, 2));
    assert.deepEqual(parseProxyHeader(header.subarray(0, header.length - 1)), { kind: 'need-more' });
    assert.deepEqual(parseProxyHeader(header.subarray(0, 16)), { kind: 'need-more' });
  });

  it('takes the largest length field (64 KiB of TLVs)', () => {
    const block = Buffer.concat([ipv4Block([1, 1, 1, 1], [2, 2, 2, 2], 1, 2), tlv(0x04, Buffer.alloc(65535 - 12 - 3))]);
    assert.equal(ok(v2(0x21, 0x11, block)).length, 16 + 65535);
  });
});

describe('fuzzing', () => {
  const valid = [
    Buffer.from('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n'),
    Buffer.from('PROXY TCP6 2001:db8::1 ::ffff:1.2.3.4 1 2\r\n'),
    Buffer.from('PROXY UNKNOWN\r\n'),
    v2(0x21, 0x11, ipv4Block([1, 2, 3, 4], [5, 6, 7, 8], 9, 10)),
    v2(0x21, 0x21, Buffer.concat([ipv6Block(Buffer.alloc(16, 0xab), Buffer.alloc(16), 1, 2), tlv(1, Buffer.from('h2'))])),
    v2(0x20, 0x00, Buffer.alloc(0)),
  ];

  /** Results of every prefix: an error never turns into something else, and an ok never changes. */
  function assertConsistent(buf: Buffer): void {
    let settled: ProxyParse | null = null;
    for (let n = 0; n <= buf.length; n++) {
      const r = parseProxyHeader(buf.subarray(0, n));
      if (r.kind === 'ok') {
        assert.ok(r.length > 0 && r.length <= n);
        assert.ok(r.header.version === 1 || r.header.version === 2);
      }
      if (settled !== null) {
        // An error's reason may quote more of the bytes as they arrive; its kind stays.
        if (settled.kind === 'error') assert.equal(r.kind, 'error', `prefix ${n} of ${buf.toString('hex')}`);
        else assert.deepEqual(r, settled, `prefix ${n} of ${buf.toString('hex')}`);
      } else if (r.kind !== 'need-more') {
        settled = r;
      }
    }
  }

  it('never throws on random bytes, nor changes its mind as more arrive', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => assertConsistent(Buffer.from(bytes))),
      { numRuns: 2000 },
    );
  });

  it('never throws on valid headers with bytes changed, inserted or cut', () => {
    const mutated = fc
      .record({
        base: fc.constantFrom(...valid),
        edits: fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), op: fc.constantFrom('set', 'insert', 'delete') }), { maxLength: 4 }),
        tail: fc.uint8Array({ maxLength: 20 }),
      })
      .map(({ base, edits, tail }) => {
        const bytes = [...base];
        for (const e of edits) {
          const at = e.at % (bytes.length + 1);
          if (e.op === 'set' && at < bytes.length) bytes[at] = e.byte;
          else if (e.op === 'insert') bytes.splice(at, 0, e.byte);
          else bytes.splice(at, 1);
        }
        return Buffer.concat([Buffer.from(bytes), Buffer.from(tail)]);
      });
    fc.assert(fc.property(mutated, assertConsistent), { numRuns: 3000 });
  });

  it('never throws on v2 headers with any version, family, length and block', () => {
    const header = fc
      .record({ verCmd: fc.integer({ min: 0, max: 255 }), fam: fc.integer({ min: 0, max: 255 }), block: fc.uint8Array({ maxLength: 260 }), length: fc.option(fc.integer({ min: 0, max: 300 })) })
      .map(({ verCmd, fam, block, length }) => v2(verCmd, fam, Buffer.from(block), length ?? block.length));
    fc.assert(fc.property(header, assertConsistent), { numRuns: 1000 });
  });
});
