// Forwarding basics: what the real server sees of the client's request, and what the client sees
// of the real server's response. The Node real server reports raw header lines as received.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startBackends, startRawServer, type Backends, type EchoReply, type RawServer } from '../helpers/backends.ts';
import { RawClient, startProxy, type Proxy } from './harness.ts';

/** Header lines named `name` (any case) in a raw header list. */
function rawValues(rawHeaders: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) out.push(rawHeaders[i + 1]!);
  return out;
}

async function echo(proxy: Proxy, headers: Record<string, string | string[]>, path = '/echo'): Promise<EchoReply> {
  const res = await request(`${proxy.url}${path}`, { headers });
  assert.equal(res.statusCode, 200);
  return (await res.body.json()) as EchoReply;
}

/** Send a request head byte for byte (undici refuses hop-by-hop headers) and return the echo. */
async function rawEcho(proxy: Proxy, head: string): Promise<EchoReply> {
  const client = await RawClient.connect(proxy.port);
  try {
    client.write(head);
    const res = await client.response();
    assert.equal(res.status, 200, res.body.toString());
    return JSON.parse(res.body.toString('utf8')) as EchoReply;
  } finally {
    client.destroy();
  }
}

describe('forwarding headers (defaults: X-Forwarded-For append, -Proto and -Host on, Forwarded off)', () => {
  let backends: Backends;
  let proxy: Proxy;
  before(async () => {
    backends = await startBackends(1);
    proxy = await startProxy({ realServers: [backends.servers[0]!.address] });
  });
  after(async () => {
    await proxy.close();
    await backends.close();
  });

  it('appends the client address as X-Forwarded-For', async () => {
    const e = await echo(proxy, {});
    assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-for'), ['127.0.0.1']);
  });

  it('keeps a client-sent X-Forwarded-For list before our address, in one field', async () => {
    const e = await echo(proxy, { 'x-forwarded-for': '203.0.113.7, 198.51.100.2' });
    assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-for'), ['203.0.113.7, 198.51.100.2, 127.0.0.1']);
  });

  it('merges several client-sent X-Forwarded-For fields in order', async () => {
    const e = await rawEcho(proxy, 'GET /echo HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.7\r\nX-Forwarded-For: 198.51.100.2\r\n\r\n');
    assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-for'), ['203.0.113.7, 198.51.100.2, 127.0.0.1']);
  });

  it('a client cannot strip X-Forwarded-For (or -Proto, -Host) by naming it in Connection', async () => {
    const e = await rawEcho(
      proxy,
      'GET /echo HTTP/1.1\r\nHost: example.test\r\nConnection: X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host, Forwarded\r\n' +
        'X-Forwarded-For: 203.0.113.7\r\n\r\n',
    );
    assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-for'), ['203.0.113.7, 127.0.0.1']);
    assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-proto'), ['http']);
    assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-host'), ['example.test']);
  });

  it('sets X-Forwarded-Proto and X-Forwarded-Host, replacing client-sent ones', async () => {
    const e = await rawEcho(
      proxy,
      'GET /echo HTTP/1.1\r\nHost: shop.example.test:8443\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.test\r\n\r\n',
    );
    assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-proto'), ['http']);
    assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-host'), ['shop.example.test:8443']);
  });

  it('passes Host through unchanged (case and port kept), and adds no Forwarded when it is off', async () => {
    const e = await rawEcho(proxy, 'GET /echo?q=1&r=%20 HTTP/1.1\r\nhost: Shop.Example.TEST:8080\r\nForwarded: for=1.2.3.4\r\n\r\n');
    assert.deepEqual(rawValues(e.rawHeaders, 'host'), ['Shop.Example.TEST:8080']);
    assert.equal(e.url, '/echo?q=1&r=%20');
    // Off means untouched: the client's own Forwarded passes as it came, nothing of ours is added.
    assert.deepEqual(rawValues(e.rawHeaders, 'forwarded'), ['for=1.2.3.4']);
  });

  it('removes hop-by-hop request headers: Connection, Keep-Alive, TE, Proxy-Connection and the fields Connection names', async () => {
    const e = await rawEcho(
      proxy,
      'GET /echo HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret-Hop, x-other-hop\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n' +
        'Proxy-Connection: keep-alive\r\nX-Secret-Hop: 1\r\nX-Other-Hop: 2\r\nX-End-To-End: kept\r\nUpgrade: h2c\r\n\r\n',
    );
    const names = new Set(e.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase()));
    for (const hop of ['keep-alive', 'te', 'proxy-connection', 'x-secret-hop', 'x-other-hop', 'upgrade']) {
      assert.ok(!names.has(hop), `${hop} must not reach the real server: ${JSON.stringify(e.rawHeaders)}`);
    }
    // Connection from the client must not pass; the proxy may send its own keep-alive intent only.
    for (const v of rawValues(e.rawHeaders, 'connection')) assert.doesNotMatch(v, /x-secret-hop|x-other-hop/i);
    assert.deepEqual(rawValues(e.rawHeaders, 'x-end-to-end'), ['kept']);
  });

  it('keeps end-to-end headers, their order and repeated fields', async () => {
    const e = await rawEcho(proxy, 'GET /echo HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nCookie: a=1\r\nX-B: 2\r\nX-A: 3\r\n\r\n');
    const names = e.rawHeaders.filter((_, i) => i % 2 === 0);
    assert.deepEqual(
      names.filter((n) => /^(x-a|cookie|x-b)$/i.test(n)),
      ['X-A', 'Cookie', 'X-B', 'X-A'],
    );
    assert.deepEqual(rawValues(e.rawHeaders, 'x-a'), ['1', '3']);
  });
});

describe('forwarding header policies', () => {
  let backends: Backends;
  before(async () => {
    backends = await startBackends(1);
  });
  after(async () => {
    await backends.close();
  });

  it('forwarded: true adds an RFC 7239 Forwarded element after the client-sent ones', async () => {
    const proxy = await startProxy({ realServers: [backends.servers[0]!.address], forwardedHeaders: { forwarded: true } });
    try {
      const e = await rawEcho(proxy, 'GET /echo HTTP/1.1\r\nHost: shop.example.test:8080\r\nForwarded: for=192.0.2.60;proto=https\r\n\r\n');
      assert.deepEqual(rawValues(e.rawHeaders, 'forwarded'), ['for=192.0.2.60;proto=https, for=127.0.0.1;host="shop.example.test:8080";proto=http']);
      const plain = await rawEcho(proxy, 'GET /echo HTTP/1.1\r\nHost: shop\r\n\r\n');
      assert.deepEqual(rawValues(plain.rawHeaders, 'forwarded'), ['for=127.0.0.1;host=shop;proto=http']);
    } finally {
      await proxy.close();
    }
  });

  it('xForwardedFor: replace drops the client-sent list; off passes it untouched and adds nothing', async () => {
    const replace = await startProxy({ realServers: [backends.servers[0]!.address], forwardedHeaders: { xForwardedFor: 'replace' } });
    try {
      const e = await echo(replace, { 'x-forwarded-for': '203.0.113.7' });
      assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-for'), ['127.0.0.1']);
    } finally {
      await replace.close();
    }
    const off = await startProxy({
      realServers: [backends.servers[0]!.address],
      forwardedHeaders: { xForwardedFor: 'off', xForwardedProto: false, xForwardedHost: false },
    });
    try {
      const e = await echo(off, { 'x-forwarded-for': '203.0.113.7' });
      assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-for'), ['203.0.113.7']);
      assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-proto'), []);
      assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-host'), []);
      const none = await echo(off, {});
      assert.deepEqual(rawValues(none.rawHeaders, 'x-forwarded-for'), []);
    } finally {
      await off.close();
    }
  });
});

describe('response headers', () => {
  let raw: RawServer;
  let proxy: Proxy;
  before(async () => {
    raw = await startRawServer({
      response:
        'HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Server-Hop\r\nKeep-Alive: timeout=30\r\nProxy-Connection: keep-alive\r\n' +
        'X-Server-Hop: secret\r\nUpgrade: h2c\r\nX-Kept: yes\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 2\r\n\r\nok',
    });
    proxy = await startProxy({ realServers: [raw.address] });
  });
  after(async () => {
    await proxy.close();
    await raw.close();
  });

  it('removes hop-by-hop response headers, including the fields the server named in Connection', async () => {
    const client = await RawClient.connect(proxy.port);
    try {
      client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
      const res = await client.response();
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'ok');
      const names = res.rawHeaders.map((l) => l.slice(0, l.indexOf(':')).toLowerCase());
      for (const hop of ['keep-alive', 'proxy-connection', 'upgrade', 'x-server-hop']) {
        assert.ok(!names.includes(hop), `${hop} must not reach the client: ${JSON.stringify(res.rawHeaders)}`);
      }
      assert.equal(res.headers['x-kept'], 'yes');
      assert.deepEqual(
        res.rawHeaders.filter((l) => /^set-cookie:/i.test(l)),
        ['Set-Cookie: a=1', 'Set-Cookie: b=2'],
      );
      // The connection stays usable for the next request.
      client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal((await client.response()).status, 200);
    } finally {
      client.destroy();
    }
  });

  it('a Node client sees a well-formed response (node:http)', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get(`${proxy.url}/`, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve(`${res.statusCode} ${text} ${res.headers['x-server-hop'] ?? '-'}`));
        })
        .on('error', reject);
    });
    assert.equal(body, '200 ok -');
  });
});

// Regressions for the four wire-level faults users found: what a real server behind a real worker
// receives. (The refusals, bad Hosts among them, are in strictness.test.ts.)
describe('wire-level faults: what the real server receives', () => {
  let backends: Backends;
  let raw: RawServer;
  let proxy: Proxy;
  let rawProxy: Proxy;
  before(async () => {
    backends = await startBackends(1);
    // Node's own server answers 400 to methods outside its list: a raw TCP server reads the heads.
    raw = await startRawServer({ response: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' });
    proxy = await startProxy({ realServers: [backends.servers[0]!.address] });
    rawProxy = await startProxy({ realServers: [raw.address] });
  });
  after(async () => {
    await proxy.close();
    await rawProxy.close();
    await backends.close();
    await raw.close();
  });

  it('fault "exchange farms cannot be balanced": RPC_IN_DATA and RPC_OUT_DATA with a body reach the real server, method intact', async () => {
    const before = raw.requests.length;
    const client = await RawClient.connect(rawProxy.port);
    try {
      client.write('RPC_IN_DATA /rpc/rpcproxy.dll?mail.example:6001 HTTP/1.1\r\nHost: mail.example\r\nContent-Length: 5\r\n\r\nhello');
      assert.equal((await client.response()).status, 200);
      client.write('RPC_OUT_DATA /rpc/rpcproxy.dll?mail.example:6001 HTTP/1.1\r\nHost: mail.example\r\nContent-Length: 3\r\n\r\nabc');
      assert.equal((await client.response()).status, 200);
      client.write('get /lower HTTP/1.1\r\nHost: mail.example\r\n\r\n');
      assert.equal((await client.response()).status, 200);
    } finally {
      client.destroy();
    }
    const got = raw.requests.slice(before);
    assert.deepEqual(
      got.map((r) => [r.method, r.url, r.headers['host'], r.body.toString('latin1')]),
      [
        ['RPC_IN_DATA', '/rpc/rpcproxy.dll?mail.example:6001', 'mail.example', 'hello'],
        ['RPC_OUT_DATA', '/rpc/rpcproxy.dll?mail.example:6001', 'mail.example', 'abc'],
        ['get', '/lower', 'mail.example', ''],
      ],
    );
  });

  it('fault "leading zeros": Content-Length 0000000000000005 arrives whole, as Content-Length: 5', async () => {
    const e = await rawEcho(proxy, 'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 0000000000000005\r\n\r\nhello');
    assert.equal(e.body, 'hello');
    assert.deepEqual(rawValues(e.rawHeaders, 'content-length'), ['5']);
  });

  it('fault "leading zeros": a chunk size of 00000000000000005 works', async () => {
    const e = await rawEcho(proxy, 'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000005\r\nhello\r\n0000000000000000000\r\n\r\n');
    assert.equal(e.body, 'hello');
  });

  it('fault "Host is not validated as a host": absolute-form with another Host reaches the server as origin-form, Host the authority, once', async () => {
    const e = await rawEcho(proxy, 'GET http://a.example:8080/echo?x=1 HTTP/1.1\r\nHost: b.example\r\n\r\n');
    assert.equal(e.url, '/echo?x=1');
    assert.deepEqual(rawValues(e.rawHeaders, 'host'), ['a.example:8080']);
    assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-host'), ['a.example:8080']);
    // An empty path goes out as "/" (RFC 9112 §3.2.1).
    const before = raw.requests.length;
    const r = await RawClient.connect(rawProxy.port);
    try {
      r.write('GET http://c.example?q HTTP/1.1\r\nHost: d.example\r\n\r\n');
      assert.equal((await r.response()).status, 200);
    } finally {
      r.destroy();
    }
    const got = raw.requests[before]!;
    assert.equal(got.url, '/?q');
    assert.deepEqual(got.head.split('\r\n').filter((l) => /^host:/i.test(l)), ['Host: c.example']);
  });

  it('fault "HTTP/1.2": answered, and it reaches the server as HTTP/1.1', async () => {
    const client = await RawClient.connect(proxy.port);
    try {
      client.write('GET /echo HTTP/1.2\r\nHost: a\r\n\r\n');
      const res = await client.response();
      assert.equal(res.status, 200);
      assert.match(res.statusLine, /^HTTP\/1\.1 200/);
      const e = JSON.parse(res.body.toString('utf8')) as EchoReply;
      assert.equal(e.httpVersion, '1.1');
      // And the connection stays usable, as HTTP/1.1's would.
      client.write('GET /echo HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal((await client.response()).status, 200);
    } finally {
      client.destroy();
    }
  });
});
