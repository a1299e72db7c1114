import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAddress, parseHostPort } from '../../src/config/address.ts';

const LISTEN = { wildcard: true };
const SERVER = { wildcard: false };

describe('parseHostPort', () => {
  it('reads IPv4, bracketed IPv6 and host names', () => {
    assert.deepEqual(parseHostPort('10.0.0.5:80', SERVER), { ok: true, value: { host: '10.0.0.5', port: 80 } });
    assert.deepEqual(parseHostPort('[2001:db8::1]:8080', SERVER), { ok: true, value: { host: '2001:db8::1', port: 8080 } });
    assert.deepEqual(parseHostPort('localhost:9001', SERVER), { ok: true, value: { host: 'localhost', port: 9001 } });
    assert.deepEqual(parseHostPort('Web-1.Example.COM:443', SERVER), { ok: true, value: { host: 'web-1.example.com', port: 443 } });
    assert.deepEqual(parseHostPort('my_service:8080', SERVER), { ok: true, value: { host: 'my_service', port: 8080 } });
  });

  it('writes an IPv6 address one way, so that duplicates are found', () => {
    assert.deepEqual(parseHostPort('[2001:DB8:0:0::1]:80', SERVER), { ok: true, value: { host: '2001:db8::1', port: 80 } });
  });

  it('reads * as every IPv4 address, for listen addresses only', () => {
    assert.deepEqual(parseHostPort('*:80', LISTEN), { ok: true, value: { host: '0.0.0.0', port: 80 } });
    assert.deepEqual(parseHostPort('0.0.0.0:80', LISTEN), { ok: true, value: { host: '0.0.0.0', port: 80 } });
    assert.deepEqual(parseHostPort('[::]:80', LISTEN), { ok: true, value: { host: '::', port: 80 } });
    assert.equal(parseHostPort('*:80', SERVER).ok, false);
  });

  it('requires a port in range', () => {
    assert.deepEqual(parseHostPort('10.0.0.5', SERVER), { ok: false, message: '"10.0.0.5" has no port; add one, e.g. 10.0.0.5:80' });
    assert.deepEqual(parseHostPort('x:0', SERVER), { ok: false, message: 'port 0 in "x:0" is out of range 1..65535' });
    assert.deepEqual(parseHostPort('x:65536', SERVER), { ok: false, message: 'port 65536 in "x:65536" is out of range 1..65535' });
    assert.deepEqual(parseHostPort('x:http', SERVER), { ok: false, message: 'port "http" in "x:http" is not a number' });
    assert.equal(parseHostPort('[::1]', SERVER).ok, false);
  });

  it('asks for brackets around IPv6 and suggests them when the port is clear', () => {
    const result = parseHostPort('2001:db8::1:80', SERVER);
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.suggestion, '[2001:db8::1]:80');
    assert.match(!result.ok ? result.message : '', /brackets/);
  });

  it('suggests * for a listen address without a host', () => {
    assert.deepEqual(parseHostPort(':8080', LISTEN), { ok: false, message: '":8080" has no host; use * for every address', suggestion: '*:8080' });
  });

  it('rejects bad hosts', () => {
    assert.deepEqual(parseHostPort('256.1.1.1:80', SERVER), { ok: false, message: '"256.1.1.1" is not a valid IPv4 address' });
    assert.deepEqual(parseHostPort('bad..name:80', SERVER), { ok: false, message: '"bad..name" is not a valid host name or IP address' });
    assert.deepEqual(parseHostPort('a b:80', SERVER), { ok: false, message: '"a b:80" contains spaces' });
    assert.deepEqual(parseHostPort('[zz::1]:80', SERVER), { ok: false, message: '"zz::1" is not a valid IPv6 address' });
  });
});

describe('formatAddress', () => {
  it('brackets IPv6 hosts so the text parses back', () => {
    assert.equal(formatAddress({ host: '127.0.0.1', port: 8080 }), '127.0.0.1:8080');
    assert.equal(formatAddress({ host: '::1', port: 8080 }), '[::1]:8080');
    for (const text of ['127.0.0.1:8080', '[::1]:8080', 'localhost:9001']) {
      const parsed = parseHostPort(text, SERVER);
      assert.ok(parsed.ok);
      assert.equal(formatAddress(parsed.value), text);
    }
  });
});
