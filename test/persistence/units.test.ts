// The pieces under the persistence types: the LRU table, the cookie signer, source masks and the
// key readers, each on its own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FieldTable } from '../../src/http/fields.ts';
import { RequestHead, parseRequestHead } from '../../src/http/request-head.ts';
import { ResponseHead, parseResponseHead } from '../../src/http/response-head.ts';
import { COOKIE_VALUE_LENGTH, CookieSigner, cookieKey } from '../../src/persistence/cookie-signer.ts';
import { LruTable } from '../../src/persistence/lru-table.ts';
import { cookieValue, headerValue, pathOf, queryValue, setCookieValue } from '../../src/persistence/request-keys.ts';
import { sourceKey } from '../../src/persistence/source-mask.ts';

describe('LruTable', () => {
  it('finds what it holds, and forgets an entry at its timeout', () => {
    const t = new LruTable(10, 1000);
    t.set('a', 1, 0);
    assert.equal(t.valueAt(t.find('a', 999)), 1);
    assert.equal(t.find('a', 1000), -1, 'expired at now + timeout');
    assert.equal(t.size, 0, 'an expired entry found is removed');
  });

  it('refresh renews the expiry; set on an existing key replaces the value and renews', () => {
    const t = new LruTable(10, 1000);
    t.set('a', 1, 0);
    t.refresh(t.find('a', 500), 500);
    assert.notEqual(t.find('a', 1400), -1);
    t.set('a', 2, 1400);
    assert.equal(t.valueAt(t.find('a', 2300)), 2);
    assert.equal(t.size, 1);
  });

  it('evicts the least recently used entry when full; a refresh counts as a use', () => {
    const t = new LruTable(3, 0);
    t.set('a', 1, 0);
    t.set('b', 2, 0);
    t.set('c', 3, 0);
    t.refresh(t.find('a', 1), 1); // a is now the most recent; b the least
    t.set('d', 4, 2);
    assert.equal(t.size, 3);
    assert.equal(t.find('b', 3), -1);
    for (const key of ['a', 'c', 'd']) assert.notEqual(t.find(key, 3), -1, key);
  });

  it('holds exactly maxEntries under a flood of 10x as many keys, and keeps the newest', () => {
    const t = new LruTable(1000, 60_000);
    for (let i = 0; i < 10_000; i++) t.set(`client-${i}`, i % 7, i);
    assert.equal(t.size, 1000);
    assert.equal(t.find('client-8999', 10_000), -1);
    assert.notEqual(t.find('client-9000', 10_000), -1);
    assert.notEqual(t.find('client-9999', 10_000), -1);
  });

  it('timeout 0 never expires; sweep removes expired entries from the oldest end, within its budget', () => {
    const forever = new LruTable(10, 0);
    forever.set('a', 1, 0);
    assert.notEqual(forever.find('a', Number.MAX_SAFE_INTEGER), -1);
    const t = new LruTable(100, 100);
    for (let i = 0; i < 50; i++) t.set(`k${i}`, 0, i); // k0 expires at 100, k49 at 149
    assert.equal(t.sweep(120, 1000), 21); // k0..k20 (expiry <= 120)
    assert.equal(t.size, 29);
    assert.equal(t.sweep(1000, 5), 5);
    assert.equal(t.size, 24);
  });

  it('reuses freed positions: a long run of churn stays within maxEntries of storage', () => {
    const t = new LruTable(64, 10);
    for (let i = 0; i < 100_000; i++) {
      t.set(`k${i}`, 1, i);
      if (i % 3 === 0) t.delete(`k${i}`);
      t.sweep(i, 10);
    }
    assert.ok(t.size <= 64);
  });
});

describe('CookieSigner', () => {
  const key = cookieKey('web', 'a-secret-of-sixteen-chars');
  const make = (): { signer: CookieSigner; token: string } => {
    const signer = new CookieSigner(key);
    const token = signer.addServer('web', '10.0.0.1:80', 7);
    signer.addServer('web', '10.0.0.2:80', 8);
    return { signer, token };
  };

  it('issues opaque values that verify to the server, until their expiry', () => {
    const { signer, token } = make();
    const value = signer.issue(token, 2000);
    assert.equal(value.length, COOKIE_VALUE_LENGTH);
    assert.match(value, /^[A-Za-z0-9_-]+$/);
    assert.ok(!value.includes('10.0.0.1') && !Buffer.from(value, 'base64url').toString('latin1').includes('10.0.0.1'));
    assert.equal(signer.verify(value, 1999), 7);
    assert.equal(signer.lastExpiry, 2000);
    assert.equal(signer.verify(value, 2000), -1);
    assert.equal(signer.verify(signer.issue(token, 0), 4_000_000_000), 7, 'expiry 0: a session value that does not expire');
  });

  it('refuses a changed character anywhere, a wrong length, and another key or virtual service', () => {
    const { signer, token } = make();
    const value = signer.issue(token, 5000);
    for (let i = 0; i < value.length; i++) {
      const c = value[i] === 'A' ? 'B' : 'A';
      assert.equal(signer.verify(value.slice(0, i) + c + value.slice(i + 1), 1), -1, `changed at ${i}`);
    }
    assert.equal(signer.verify(value.slice(1), 1), -1);
    assert.equal(signer.verify(`${value}A`, 1), -1);
    const other = new CookieSigner(cookieKey('web', 'another-secret-of-16+'));
    assert.equal(signer.verify(other.issue(other.addServer('web', '10.0.0.1:80', 7), 5000), 1), -1);
    const otherService = new CookieSigner(key);
    assert.equal(signer.verify(otherService.issue(otherService.addServer('shop', '10.0.0.1:80', 7), 5000), 1), -1);
  });

  it('derives the same key from the same name (nodes agree), a different one per name, and takes the environment', () => {
    assert.deepEqual(cookieKey('web', null, {}), cookieKey('web', null, {}));
    assert.notDeepEqual(cookieKey('web', null, {}), cookieKey('shop', null, {}));
    assert.deepEqual(cookieKey('web', null, { FULCRUM_COOKIE_SECRET: 's3cret-from-the-env' }), Buffer.from('s3cret-from-the-env'));
    assert.deepEqual(cookieKey('web', 'from-the-config-1234', { FULCRUM_COOKIE_SECRET: 'env' }), Buffer.from('from-the-config-1234'));
  });
});

describe('sourceKey', () => {
  it('masks IPv4 and IPv6 addresses to their prefix, and keeps full-length ones as they are', () => {
    assert.equal(sourceKey('192.0.2.77', 32, 128), '192.0.2.77');
    assert.equal(sourceKey('192.0.2.77', 24, 128), '192.0.2.0/24');
    assert.equal(sourceKey('192.0.2.77', 16, 128), '192.0.0.0/16');
    assert.equal(sourceKey('192.0.2.77', 1, 128), '128.0.0.0/1');
    assert.equal(sourceKey('2001:db8:1:2:3:4:5:6', 32, 128), '2001:db8:1:2:3:4:5:6');
    assert.equal(sourceKey('2001:db8:1:2:3:4:5:6', 32, 64), '2001:db8:1:2:0:0:0:0/64');
    assert.equal(sourceKey('2001:db8::ff', 32, 120), '2001:db8:0:0:0:0:0:0/120');
    assert.equal(sourceKey('::ffff:10.1.2.3', 32, 112), '0:0:0:0:0:ffff:a01:0/112');
  });
});

describe('key readers', () => {
  const request = (head: string): { head: RequestHead; fields: FieldTable } => {
    const buf = Buffer.from(head, 'latin1');
    const parsed = new RequestHead();
    const fields = new FieldTable(64);
    const end = buf.indexOf('\r\n\r\n');
    assert.equal(parseRequestHead(buf, 0, end + 2, parsed, fields, { maxHeaderBytes: 65536, maxHeaders: 64, maxUriBytes: 8192 }), 0);
    return { head: parsed, fields };
  };

  it('reads a header case-insensitively (first occurrence); empty means absent', () => {
    const { head, fields } = request('GET / HTTP/1.1\r\nHost: a\r\nx-session-ID:  abc \r\nX-Session-Id: second\r\nX-Empty:\r\n\r\n');
    assert.equal(headerValue(head.buf, fields, 'x-session-id', null), 'abc');
    assert.equal(headerValue(head.buf, fields, 'x-empty', null), null);
    assert.equal(headerValue(head.buf, fields, 'x-none', null), null);
  });

  it('reads a cookie by its exact name from any Cookie field, refusing values longer than asked', () => {
    const { head, fields } = request('GET / HTTP/1.1\r\nHost: a\r\nCookie: xFULCRUMID=no; FULCRUMIDx=no\r\nCookie: a=1;FULCRUMID=yes ; b=2\r\n\r\n');
    const name = Buffer.from('FULCRUMID');
    assert.equal(cookieValue(head.buf, fields, name, 0, null), 'yes');
    assert.equal(cookieValue(head.buf, fields, name, 2, null), null);
    assert.equal(cookieValue(head.buf, fields, Buffer.from('fulcrumid'), 0, null), null, 'cookie names are case-sensitive');
    const folded = request('GET / HTTP/1.1\r\nHost: a\r\nCookie: a=1, FULCRUMID=z\r\n\r\n');
    assert.equal(cookieValue(folded.head.buf, folded.fields, name, 0, null), 'z');
  });

  it('reads a query parameter, and the path without query or scheme', () => {
    const { head } = request('GET /app/x?a=1&sid=42&sidx=9#frag HTTP/1.1\r\nHost: a\r\n\r\n');
    const { buf, targetStart, targetEnd } = head;
    assert.equal(queryValue(buf, targetStart, targetEnd, Buffer.from('sid'), null), '42');
    assert.equal(queryValue(buf, targetStart, targetEnd, Buffer.from('a'), null), '1');
    assert.equal(queryValue(buf, targetStart, targetEnd, Buffer.from('id'), null), null);
    assert.equal(pathOf(buf, targetStart, targetEnd, null), '/app/x');
    const absolute = request('GET http://example.com/b/c?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n').head;
    assert.equal(pathOf(absolute.buf, absolute.targetStart, absolute.targetEnd, null), '/b/c');
  });

  it('hands back the previous key string itself when the bytes are the same (no allocation), a new one when not', () => {
    const { head, fields } = request('GET / HTTP/1.1\r\nHost: a\r\nX-Id: session-1\r\n\r\n');
    const first = headerValue(head.buf, fields, 'x-id', null)!;
    assert.equal(headerValue(head.buf, fields, 'x-id', first), first);
    const previous = 'session-2';
    assert.equal(headerValue(head.buf, fields, 'x-id', previous), 'session-1');
  });

  it('learns the value a response sets for a cookie (the last Set-Cookie for it wins)', () => {
    const buf = Buffer.from(
      'HTTP/1.1 200 OK\r\nSet-Cookie: other=1\r\nSet-Cookie: JSESSIONID=first; Path=/\r\nset-cookie: JSESSIONID=abc123 ; HttpOnly\r\nContent-Length: 0\r\n\r\n',
      'latin1',
    );
    const fields = new FieldTable(64);
    assert.equal(parseResponseHead(buf, 0, buf.indexOf('\r\n\r\n') + 2, new ResponseHead(), fields, 64, false), 0);
    assert.equal(setCookieValue(buf, fields, Buffer.from('JSESSIONID')), 'abc123');
    assert.equal(setCookieValue(buf, fields, Buffer.from('JSESSION')), null);
  });
});
