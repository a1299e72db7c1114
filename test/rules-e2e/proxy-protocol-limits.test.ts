// Behind a balancer that sends PROXY headers (acceptProxyProtocol), the client is the address the
// header names, not the balancer: the access list and the per-client connection limits of a TCP
// and an HTTP virtual service count that address. Every connection here comes from one peer,
// 127.0.0.1, so a limit applied to the peer would refuse what these tests see admitted.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeProxyV1, encodeProxyV2 } from '../../src/proxy-protocol/encode.ts';
import { openConnection } from '../helpers/keep-alive-client.ts';
import { startEngine, type Engine } from './engine.ts';
import { startTcpEngine, type TcpEngine } from './tcp-engine.ts';

const VIP = { address: '192.0.2.1', port: 2101 };
const from = (address: string, port = 40_000): Buffer => encodeProxyV1({ address, port }, VIP);
const PEER = '127.0.0.1';

describe('tcp with acceptProxyProtocol: access list and limits by the PROXY header\'s address', { timeout: 30_000 }, () => {
  let tcp: TcpEngine;
  before(async () => {
    tcp = await startTcpEngine([
      { name: 'acl', acceptProxyProtocol: true, access: '{ allow: [198.51.100.0/24, 2001:db8::/32] }' },
      { name: 'max', acceptProxyProtocol: true, rateLimit: '{ maxConnectionsPerClient: 1 }' },
      { name: 'rate', acceptProxyProtocol: true, rateLimit: '{ connectionRate: { rate: 1/m, burst: 1 } }' },
    ]);
  });
  after(() => tcp.close());

  it('access: a header naming an allowed client is relayed though the peer is not allowed; one naming another is denied', async () => {
    const allowed = await tcp.relay('acl', PEER, from('198.51.100.9'));
    assert.ok(allowed.relayed);
    const v2 = await tcp.relay('acl', PEER, encodeProxyV2({ address: '2001:db8::9', port: 40_001 }, { address: '2001:db8::1', port: 2101 }));
    assert.ok(v2.relayed, 'a v2 header, IPv6');
    const accepted = tcp.backend.accepted;
    const denied = await tcp.relay('acl', PEER, from('203.0.113.7'));
    assert.equal(denied.relayed, false);
    assert.equal(tcp.backend.accepted, accepted, 'it never reached the real server');
    for (const r of [allowed, v2]) r.socket.destroy();
    const lines = await tcp.lines('acl', (all) => all.length >= 3);
    assert.deepEqual(lines.map((l) => [l.client, l.termination]).sort(), [
      ['198.51.100.9', 'ok'],
      ['2001:db8::9', 'ok'],
      ['203.0.113.7', 'denied'],
    ]);
  });

  it('maxConnectionsPerClient: counted per header address; the same address past its max is refused', async () => {
    const a = await tcp.relay('max', PEER, from('198.51.100.20'));
    const b = await tcp.relay('max', PEER, from('198.51.100.21'));
    assert.ok(a.relayed && b.relayed, 'two clients behind one balancer, one connection each');
    const again = await tcp.relay('max', PEER, from('198.51.100.20', 40_002));
    assert.equal(again.relayed, false);
    const lines = await tcp.lines('max', (all) => all.some((l) => l.termination === 'rate-limited'));
    assert.deepEqual(
      lines.filter((l) => l.termination === 'rate-limited').map((l) => [l.client, l.error]),
      [['198.51.100.20', 'over max/maxConnectionsPerClient']],
    );
    for (const r of [a, b]) r.socket.destroy();
  });

  it('connectionRate: counted per header address', async () => {
    const c = await tcp.relay('rate', PEER, from('198.51.100.30'));
    const d = await tcp.relay('rate', PEER, from('198.51.100.31'));
    assert.ok(c.relayed && d.relayed, 'one new connection each within the burst');
    const again = await tcp.relay('rate', PEER, from('198.51.100.30', 40_003));
    assert.equal(again.relayed, false);
    for (const r of [c, d]) r.socket.destroy();
    const lines = await tcp.lines('rate', (all) => all.length >= 3);
    assert.deepEqual(lines.map((l) => [l.client, l.termination]).sort(), [
      ['198.51.100.30', 'ok'],
      ['198.51.100.30', 'rate-limited'],
      ['198.51.100.31', 'ok'],
    ]);
  });
});

describe('http with acceptProxyProtocol: access list and connection limits by the PROXY header\'s address', { timeout: 30_000 }, () => {
  let engine: Engine;
  before(async () => {
    engine = await startEngine('{ pools: [main], acceptProxyProtocol: true, access: { allow: [198.51.100.0/24] }, rateLimit: { maxConnectionsPerClient: 1 } }');
  });
  after(() => engine.close());

  const GET = Buffer.from('GET / HTTP/1.1\r\nHost: limits.test\r\n\r\n');

  it('one connection per header address, and the access list read on it', async () => {
    const a = await openConnection(engine.port, PEER);
    const b = await openConnection(engine.port, PEER);
    const first = await a.request(Buffer.concat([from('198.51.100.40'), GET]));
    const second = await b.request(Buffer.concat([from('198.51.100.41'), GET]));
    assert.ok(first !== 'closed' && first.status === 200);
    assert.ok(second !== 'closed' && second.status === 200, 'another client behind the same peer');
    const forwarded = engine.forwarded();
    const over = await openConnection(engine.port, PEER);
    assert.equal(await over.request(Buffer.concat([from('198.51.100.40', 40_004), GET])), 'closed', 'the same header address past its max');
    const outsider = await openConnection(engine.port, PEER);
    const refused = await outsider.request(Buffer.concat([from('203.0.113.8'), GET]));
    assert.ok(refused !== 'closed' && refused.status === 403, 'not in the allow list, though the peer is the same');
    assert.equal(engine.forwarded(), forwarded, 'neither reached a real server');
    for (const conn of [a, b, over, outsider]) conn.destroy();
    const lines = await engine.accessLog(4);
    assert.deepEqual(lines.map((l) => [l.client, l.termination]).sort(), [
      ['198.51.100.40', 'ok'],
      ['198.51.100.40', 'rate-limited'],
      ['198.51.100.41', 'ok'],
      ['203.0.113.8', 'denied'],
    ]);
  });
});
