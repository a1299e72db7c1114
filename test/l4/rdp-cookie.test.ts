// The RDP Connection Request reader (src/l4/rdp-cookie.ts) on the bytes real clients send: dumps
// from Microsoft's spec and from a public capture, and requests built byte by byte as FreeRDP and
// mstsc build them; then every split, garbage, and fuzz.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RDP_PEEK_LIMIT, decodeRoutingToken, encodeRoutingToken, parseRdpConnectionRequest, redirectTarget, type RdpParse } from '../../src/l4/rdp-cookie.ts';
import { RealServer } from '../../src/pool/real-server.ts';
import { RUNS, SEED } from '../fuzz/settings.ts';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** MS-RDPBCGR 4.1.1 "Client X.224 Connection Request PDU", Microsoft's annotated dump: mstshash=eltons, then an RDP_NEG_REQ for PROTOCOL_RDP. */
const MS_RDPBCGR_4_1_1 = hex(`
  03 00 00 2c 27 e0 00 00 00 00 00 43 6f 6f 6b 69
  65 3a 20 6d 73 74 73 68 61 73 68 3d 65 6c 74 6f
  6e 73 0d 0a 01 00 08 00 00 00 00 00`);

/**
 * rdesktop's first packet as captured by the Redemption RDP proxy (wallix/redemption,
 * tests/includes/fixtures/trace_rdesktop_client.hpp, "Recv done on RDP Client (4) 43 bytes"):
 * mstshash=rzhou, then an RDP_NEG_REQ for TLS | CredSSP (3).
 */
const RDESKTOP_CAPTURE = hex(`
  03 00 00 2b 26 e0 00 00 00 00 00 43 6f 6f 6b 69
  65 3a 20 6d 73 74 73 68 61 73 68 3d 72 7a 68 6f
  75 0d 0a 01 00 08 00 03 00 00 00`);

const PROTOCOL_SSL = 0x01;
const PROTOCOL_HYBRID = 0x02;
const PROTOCOL_HYBRID_EX = 0x08;

/** RDP_NEG_REQ (MS-RDPBCGR 2.2.1.1.1): type 1, flags 0, length 8 (LE), requestedProtocols (LE). */
function negotiationRequest(requestedProtocols: number): Buffer {
  const neg = Buffer.alloc(8);
  neg[0] = 0x01;
  neg[1] = 0x00;
  neg.writeUInt16LE(8, 2);
  neg.writeUInt32LE(requestedProtocols, 4);
  return neg;
}

/**
 * A Connection Request as FreeRDP's nego_send_negotiation_request (libfreerdp/core/nego.c)
 * writes it: TPKT (version 3, reserved 0, length big-endian), X.224 CR (LI = length - 5, 0xE0,
 * DST-REF 0, SRC-REF 0, class 0), then the routing token as given or "Cookie: mstshash=" + the
 * user + CRLF, then an RDP_NEG_REQ when the client asks for more than standard RDP security.
 */
function connectionRequest(opts: { cookie?: string; routingToken?: string; variable?: Buffer; requestedProtocols?: number }): Buffer {
  const parts: Buffer[] = [];
  if (opts.routingToken !== undefined) parts.push(Buffer.from(opts.routingToken, 'latin1'));
  else if (opts.cookie !== undefined) parts.push(Buffer.from(`Cookie: mstshash=${opts.cookie}\r\n`, 'latin1'));
  if (opts.variable !== undefined) parts.push(opts.variable);
  if (opts.requestedProtocols !== undefined) parts.push(negotiationRequest(opts.requestedProtocols));
  const variable = Buffer.concat(parts);
  const length = 11 + variable.length;
  const fixed = Buffer.from([0x03, 0x00, length >> 8, length & 0xff, length - 5, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00]);
  return Buffer.concat([fixed, variable]);
}

const request = (cookie: string | null, routingToken: string | null = null): RdpParse => ({ kind: 'request', cookie, routingToken });

function assertNotRdp(buf: Buffer, reason: RegExp): void {
  const parsed = parseRdpConnectionRequest(buf);
  assert.equal(parsed.kind, 'not-rdp', `${buf.toString('hex')} -> ${JSON.stringify(parsed)}`);
  if (parsed.kind === 'not-rdp') assert.match(parsed.reason, reason);
}

/** Every strict prefix needs more; the whole gives `expected`; bytes after the TPKT change nothing. */
function assertEverySplit(buf: Buffer, expected: RdpParse): void {
  for (let cut = 0; cut < buf.length; cut++) {
    assert.deepEqual(parseRdpConnectionRequest(buf.subarray(0, cut)), { kind: 'need-more' }, `prefix of ${cut} of ${buf.length} bytes`);
  }
  assert.deepEqual(parseRdpConnectionRequest(buf), expected);
  // A copy in a fresh Buffer (not a view) and with what a client might send after it.
  assert.deepEqual(parseRdpConnectionRequest(Buffer.concat([buf, hex('16 03 01 00 ff')])), expected);
}

describe('parseRdpConnectionRequest: real clients', () => {
  it("reads the user from Microsoft's own example (MS-RDPBCGR 4.1.1)", () => {
    assert.equal(MS_RDPBCGR_4_1_1.length, 44);
    assertEverySplit(MS_RDPBCGR_4_1_1, request('eltons'));
  });

  it('reads the user from a captured rdesktop request', () => {
    assertEverySplit(RDESKTOP_CAPTURE, request('rzhou'));
  });

  it('builds the same bytes as those dumps, so the requests built below are what clients send', () => {
    assert.deepEqual(connectionRequest({ cookie: 'eltons', requestedProtocols: 0 }), MS_RDPBCGR_4_1_1);
    assert.deepEqual(connectionRequest({ cookie: 'rzhou', requestedProtocols: PROTOCOL_SSL | PROTOCOL_HYBRID }), RDESKTOP_CAPTURE);
  });

  it('xfreerdp with NLA (requestedProtocols TLS | CredSSP | CredSSP-EX)', () => {
    const buf = connectionRequest({ cookie: 'alice', requestedProtocols: PROTOCOL_SSL | PROTOCOL_HYBRID | PROTOCOL_HYBRID_EX });
    assert.equal(buf.toString('hex', 0, 11), '0300002b26e00000000000');
    assertEverySplit(buf, request('alice'));
  });

  it('mstsc: "DOMAIN\\user" cut to 9 characters, kept as sent (the persistence key lowercases it)', () => {
    assertEverySplit(connectionRequest({ cookie: 'CONTOSO\\a', requestedProtocols: PROTOCOL_SSL | PROTOCOL_HYBRID }), request('CONTOSO\\a'));
  });

  it('standard RDP security without an RDP_NEG_REQ (older clients)', () => {
    assertEverySplit(connectionRequest({ cookie: 'bob' }), request('bob'));
  });

  it('a user name in the ANSI code page: one character per byte (latin1), never a control check failure', () => {
    const buf = connectionRequest({ variable: Buffer.concat([Buffer.from('Cookie: mstshash=J'), Buffer.from([0xfc]), Buffer.from('rgen\r\n')]) });
    assert.deepEqual(parseRdpConnectionRequest(buf), request('Jürgen'));
  });

  it('a broker-redirected client: the msts routing token (captured value for 192.168.0.89:3389)', () => {
    const buf = connectionRequest({ routingToken: 'Cookie: msts=1493215424.15629.0000\r\n', requestedProtocols: PROTOCOL_SSL | PROTOCOL_HYBRID });
    assertEverySplit(buf, request(null, '1493215424.15629.0000'));
  });

  it('no cookie: a bare Connection Request (11 bytes), or one with only an RDP_NEG_REQ', () => {
    assertEverySplit(hex('03 00 00 0b 06 e0 00 00 00 00 00'), request(null));
    assertEverySplit(connectionRequest({ requestedProtocols: PROTOCOL_SSL }), request(null));
  });

  it("an RD Connection Broker's tsv:// routing token names no user: no cookie", () => {
    const buf = connectionRequest({ routingToken: 'tsv://MS Terminal Services Plugin.1.Sessions\r\n', requestedProtocols: PROTOCOL_SSL | PROTOCOL_HYBRID });
    assertEverySplit(buf, request(null));
  });

  it('reads the cookie line as HAProxy does: "Cookie:" and the name in any case, spaces skipped', () => {
    assert.deepEqual(parseRdpConnectionRequest(connectionRequest({ variable: Buffer.from('COOKIE:   MSTSHASH=Carol\r\n') })), request('Carol'));
    assert.deepEqual(parseRdpConnectionRequest(connectionRequest({ variable: Buffer.from('cookie:mstshash=dave\r\n') })), request('dave'));
    assert.deepEqual(parseRdpConnectionRequest(connectionRequest({ variable: Buffer.from('Cookie: MSTS=16777226.15629.0000\r\n') })), request(null, '16777226.15629.0000'));
  });

  it('an empty value or another cookie name is no cookie; a space inside a user name is kept', () => {
    assert.deepEqual(parseRdpConnectionRequest(connectionRequest({ cookie: '', requestedProtocols: 3 })), request(null));
    assert.deepEqual(parseRdpConnectionRequest(connectionRequest({ variable: Buffer.from('Cookie: other=x\r\n') })), request(null));
    assert.deepEqual(parseRdpConnectionRequest(connectionRequest({ variable: Buffer.from('Cookie: mstshashx=x\r\n') })), request(null));
    assert.deepEqual(parseRdpConnectionRequest(connectionRequest({ cookie: 'Ann Lee' })), request('Ann Lee'));
  });

  it('reads the cookie only at the start of the variable part, and only the first line', () => {
    const after = connectionRequest({ variable: Buffer.concat([negotiationRequest(3), Buffer.from('Cookie: mstshash=eve\r\n')]) });
    assert.deepEqual(parseRdpConnectionRequest(after), request(null));
    const two = connectionRequest({ variable: Buffer.from('Cookie: mstshash=first\r\nCookie: mstshash=second\r\n') });
    assert.deepEqual(parseRdpConnectionRequest(two), request('first'));
  });

  it('decides at the first byte that rules RDP out, without waiting for more', () => {
    assertNotRdp(Buffer.from('G'), /first byte 0x47/);
    assertNotRdp(hex('16'), /first byte 0x16/);
    assertNotRdp(hex('03 01'), /reserved byte 0x01/);
    assertNotRdp(hex('03 00 00 2c 28'), /length indicator 40/);
    assertNotRdp(hex('03 00 00 2c 27 d0'), /0xd0 is not a Connection Request/);
  });
});

describe('parseRdpConnectionRequest: what is not an RDP Connection Request', () => {
  it('an HTTP request', () => {
    assertNotRdp(Buffer.from('GET / HTTP/1.1\r\nHost: rdp.example\r\n\r\n'), /not a TPKT/);
  });

  it('a TLS ClientHello (an RDP client never starts with TLS: it negotiates it in the Connection Request)', () => {
    assertNotRdp(hex('16 03 01 02 00 01 00 01 fc 03 03 5a 3b 8e'), /not a TPKT: first byte 0x16/);
  });

  it('other X.224 TPDUs: a Data TPDU (MCS), a Connection Confirm', () => {
    // A Data TPDU's LI counts its header only (2), never the MCS payload after it.
    assertNotRdp(hex('03 00 00 0c 02 f0 80 04 01 00 01 00'), /length indicator 2 does not match/);
    assertNotRdp(hex('03 00 00 07 02 f0 80'), /TPKT length 7 is shorter/);
    assertNotRdp(hex('03 00 00 0b 06 f0 00 00 00 00 00'), /TPDU code 0xf0/);
    assertNotRdp(hex('03 00 00 13 0e d0 00 00 12 34 00 02 00 08 00 02 00 00 00'), /TPDU code 0xd0/);
  });

  it('lengths that no Connection Request has: too short, longer than the one-byte LI can count, the largest TPKT', () => {
    assert.equal(RDP_PEEK_LIMIT, 259);
    assertNotRdp(hex('03 00 00 0a'), /shorter than an X.224 Connection Request/);
    assertNotRdp(hex('03 00 00 00'), /shorter/);
    assertNotRdp(hex('03 00 01 04'), /TPKT length 260 is longer/);
    assertNotRdp(hex('03 00 ff ff'), /TPKT length 65535 is longer/);
    // 259 is the longest: LI 254.
    const longest = connectionRequest({ cookie: 'x'.repeat(259 - 11 - 19) });
    assert.equal(longest.length, 259);
    assert.deepEqual(parseRdpConnectionRequest(longest), request('x'.repeat(229)));
  });

  it('a length indicator that disagrees with the TPKT length', () => {
    const buf = Buffer.from(MS_RDPBCGR_4_1_1);
    buf[4] = 0x26;
    assertNotRdp(buf, /length indicator 38 does not match the TPKT length 44 \(expected 39\)/);
  });

  it('an X.224 class other than 0', () => {
    const buf = Buffer.from(MS_RDPBCGR_4_1_1);
    buf[10] = 0x40;
    assertNotRdp(buf, /class 4/);
  });

  it('a broken cookie line: no CRLF inside the request, CR without LF, a control byte, no "="', () => {
    // The TPKT length ends the request in the middle of the cookie line (a truncated line).
    const truncated = Buffer.from(MS_RDPBCGR_4_1_1.subarray(0, 30));
    truncated.writeUInt16BE(30, 2);
    truncated[4] = 25;
    assertNotRdp(truncated, /does not end with CRLF/);
    assertNotRdp(connectionRequest({ variable: Buffer.from('Cookie: mstshash=bob\r') }), /does not end with CRLF/);
    assertNotRdp(connectionRequest({ variable: Buffer.from('Cookie: mstshash=bob\rX\n') }), /does not end with CRLF/);
    assertNotRdp(connectionRequest({ variable: Buffer.from('Cookie: mstshash=b\x00b\r\n') }), /control byte 0x00/);
    assertNotRdp(connectionRequest({ variable: Buffer.from('Cookie: mstshash=b\tb\r\n') }), /control byte 0x09/);
    assertNotRdp(connectionRequest({ variable: Buffer.from('Cookie: mstshash=b\nb\r\n') }), /control byte 0x0a/);
    assertNotRdp(connectionRequest({ variable: Buffer.from('Cookie: mstshash=b\x7fb\r\n') }), /control byte 0x7f/);
    assertNotRdp(connectionRequest({ variable: Buffer.from('Cookie: mstshash\r\n') }), /control byte 0x0d before its '='/);
    assertNotRdp(connectionRequest({ variable: Buffer.from('Cookie: mstshash') }), /no '='/);
  });
});

describe('parseRdpConnectionRequest: fuzz', () => {
  const kinds = new Set(['need-more', 'not-rdp', 'request']);

  it('never throws on any bytes, and needs more only while the declared TPKT has not all arrived', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const buf = Buffer.from(bytes);
        const parsed = parseRdpConnectionRequest(buf);
        assert.ok(kinds.has(parsed.kind));
        if (parsed.kind === 'need-more') assert.ok(buf.length < 4 || buf.length < buf.readUInt16BE(2));
        if (parsed.kind === 'request') assert.ok(buf.length >= 11 && buf[0] === 3);
      }),
      { numRuns: RUNS * 3, seed: SEED },
    );
  });

  it('a verdict never changes when more bytes arrive (a split anywhere reads like the whole)', () => {
    // Mutations of real requests reach the deep branches that random bytes rarely do.
    const seeds = [MS_RDPBCGR_4_1_1, RDESKTOP_CAPTURE, connectionRequest({ routingToken: 'Cookie: msts=1493215424.15629.0000\r\n', requestedProtocols: 3 })];
    const mutated = fc
      .tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.uint8Array({ maxLength: 20 }))
      .map(([seed, edits, tail]) => {
        const buf = Buffer.concat([seed, tail]);
        for (const [at, byte] of edits) buf[at % buf.length] = byte;
        return buf;
      });
    fc.assert(
      fc.property(mutated, fc.nat(), (buf, cutAt) => {
        const cut = cutAt % (buf.length + 1);
        const early = parseRdpConnectionRequest(buf.subarray(0, cut));
        if (early.kind !== 'need-more') assert.deepEqual(parseRdpConnectionRequest(buf), early);
      }),
      { numRuns: RUNS * 3, seed: SEED },
    );
  });

  it('any user name without control bytes comes back as sent', () => {
    const userChar = fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(fc.string({ unit: userChar, minLength: 1, maxLength: 200 }), fc.option(fc.integer({ min: 0, max: 0xff })), (user, protocols) => {
        const buf = connectionRequest({ cookie: user, requestedProtocols: protocols ?? undefined });
        assert.deepEqual(parseRdpConnectionRequest(buf), request(user));
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

describe('routing tokens', () => {
  it('decodes the address and port as Windows writes them (IP and port bytes in network order, read little-endian)', () => {
    assert.deepEqual(decodeRoutingToken('1493215424.15629.0000'), { address: '192.168.0.89', port: 3389 });
    assert.deepEqual(decodeRoutingToken('16777226.15629.0000'), { address: '10.0.0.1', port: 3389 });
    assert.deepEqual(decodeRoutingToken('4294967295.65535.0'), { address: '255.255.255.255', port: 65535 });
    assert.deepEqual(decodeRoutingToken('16777343.36895.'), { address: '127.0.0.1', port: 8080 });
  });

  it('encodes the inverse', () => {
    assert.equal(encodeRoutingToken('192.168.0.89', 3389), '1493215424.15629.0000');
    assert.equal(encodeRoutingToken('10.0.0.1', 3389), '16777226.15629.0000');
    assert.throws(() => encodeRoutingToken('::1', 3389), RangeError);
    assert.throws(() => encodeRoutingToken('10.0.0.1', 0), RangeError);
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 1, max: 65535 }), (address, port) => {
        assert.deepEqual(decodeRoutingToken(encodeRoutingToken(address, port)), { address, port });
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('refuses what is not IP.PORT.RESERVED: no reserved part, words, overflow, port 0', () => {
    for (const token of ['1493215424.15629', '1493215424', 'abc.15629.0000', '4294967296.15629.0000', '1493215424.65536.0000', '1493215424.0.0000', '-1.15629.0000', ' 1493215424.15629.0000', '1493215424.15629.0000x']) {
      assert.equal(decodeRoutingToken(token), null, token);
    }
  });

  it('redirectTarget: the configured server the token names, when it may take the client', () => {
    const servers = [new RealServer(0, '10.0.0.1', 3389, 100, true), new RealServer(1, '10.0.0.2', 3389, 100, true), new RealServer(2, '10.0.0.2', 3390, 100, true)];
    const [first, second, third] = servers as [RealServer, RealServer, RealServer];
    assert.equal(redirectTarget(encodeRoutingToken('10.0.0.2', 3389), servers), second);
    assert.equal(redirectTarget(encodeRoutingToken('10.0.0.2', 3390), servers), third);
    assert.equal(redirectTarget(encodeRoutingToken('10.0.0.3', 3389), servers), null, 'not configured');
    assert.equal(redirectTarget('tsv://MS Terminal Services Plugin.1.Sessions', servers), null, 'not an address');
    first.state = 'drain';
    assert.equal(redirectTarget(encodeRoutingToken('10.0.0.1', 3389), servers), first, 'a draining server keeps the sessions it holds');
    first.state = 'disabled';
    assert.equal(redirectTarget(encodeRoutingToken('10.0.0.1', 3389), servers), null, 'disabled');
    second.up = false;
    assert.equal(redirectTarget(encodeRoutingToken('10.0.0.2', 3389), servers), null, 'down');
    third.ejectedUntil = Date.now() + 30_000;
    assert.equal(redirectTarget(encodeRoutingToken('10.0.0.2', 3390), servers), null, 'ejected');
  });
});
