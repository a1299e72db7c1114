// rdp-cookie persistence on a TCP virtual service, as its listener drives it: the user name read
// from the Connection Request goes into the slot's connectionKey, then readConnection and pick.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { parseRdpConnectionRequest } from '../../src/l4/rdp-cookie.ts';
import type { VirtualService } from '../../src/frontend/virtual-service.ts';
import { serviceOf } from '../helpers/service.ts';
import { PersistSlot } from '../../src/persistence/persistence.ts';
import type { RealServer } from '../../src/pool/real-server.ts';

const SERVERS = ['10.0.0.1:3389', '10.0.0.2:3389', '10.0.0.3:3389', '10.0.0.4:3389'];

function rdpServiceConfig(persistence: string): Config {
  const text = [
    'virtualServices:',
    '  - name: rdp',
    '    listen: 127.0.0.1:3389',
    '    protocol: tcp',
    '    scheduler: round-robin',
    `    persistence: ${persistence}`,
    '    realServers:',
    ...SERVERS.map((address) => `      - address: ${address}`),
  ].join('\n');
  const result = loadConfigText(text, 'rdp.yaml');
  if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('\n'));
  return result.config;
}

const PERSISTENCE = '{ type: rdp-cookie, timeout: 8h, fallback: source-ip }';

/** A worker's view of the service. */
function worker(): VirtualService {
  return serviceOf(rdpServiceConfig(PERSISTENCE));
}

/** One client connection: its address and the user its Connection Request named (null: none). */
function connect(vs: VirtualService, clientIp: string, user: string | null): RealServer {
  const slot = new PersistSlot(clientIp);
  slot.connectionKey = user;
  vs.pool.persistence!.readConnection(slot);
  const server = vs.pool.persistence!.pick(slot, { clientAddress: clientIp, exclude: null }, Date.now());
  assert.ok(server !== null, 'a server');
  return server;
}

describe('rdp-cookie persistence', () => {
  it('the config loads on a tcp service with a source-ip fallback', () => {
    const config = rdpServiceConfig(PERSISTENCE).pools[0]!;
    assert.ok(config.persistence !== false);
    assert.equal(config.persistence.type, 'rdp-cookie');
    assert.equal(config.persistence.fallback, 'source-ip');
    assert.equal(config.persistence.timeout, 8 * 3_600_000);
  });

  it('the same user from different client addresses lands on the same server', () => {
    const vs = worker();
    const first = connect(vs, '192.0.2.10', 'alice');
    for (let i = 1; i <= 20; i++) assert.equal(connect(vs, `198.51.100.${i}`, 'alice'), first, `from 198.51.100.${i}`);
  });

  it('is case-insensitive: Alice, ALICE and alice are one user and one table entry', () => {
    const vs = worker();
    const server = connect(vs, '192.0.2.1', 'Alice');
    assert.equal(connect(vs, '192.0.2.2', 'ALICE'), server);
    assert.equal(connect(vs, '192.0.2.3', 'alice'), server);
    assert.equal(vs.pool.persistence!.entries, 1);
    const slot = new PersistSlot('192.0.2.4');
    slot.connectionKey = 'CONTOSO\\Alice';
    vs.pool.persistence!.readConnection(slot);
    assert.equal(slot.key, 'contoso\\alice');
    assert.equal(slot.fallbackKey, null, 'a user name needs no fallback key');
  });

  it('different users spread over the servers, all from one address (a NAT or an RD Gateway)', () => {
    const vs = worker();
    const counts = new Map<RealServer, number>();
    for (let i = 0; i < 200; i++) {
      const server = connect(vs, '203.0.113.7', `user${i}`);
      counts.set(server, (counts.get(server) ?? 0) + 1);
    }
    assert.equal(counts.size, SERVERS.length, 'every server gets users');
    for (const [server, n] of counts) assert.ok(n >= 20, `${server.id} has ${n} of 200 users`);
  });

  it('workers (and nodes) with their own tables choose the same server for a user', () => {
    const a = worker();
    const b = worker();
    for (let i = 0; i < 50; i++) assert.equal(connect(a, '192.0.2.1', `user${i}`).id, connect(b, '198.51.100.1', `USER${i}`).id, `user${i}`);
  });

  it('no cookie: the source-ip fallback keeps one address on one server, and different addresses spread', () => {
    const vs = worker();
    const server = connect(vs, '192.0.2.77', null);
    for (let i = 0; i < 10; i++) assert.equal(connect(vs, '192.0.2.77', null), server);
    const slot = new PersistSlot('192.0.2.77');
    vs.pool.persistence!.readConnection(slot);
    assert.equal(slot.key, null);
    assert.equal(slot.fallbackKey, '192.0.2.77');
    const seen = new Set<RealServer>();
    for (let i = 1; i <= 100; i++) seen.add(connect(vs, `198.51.100.${i}`, null));
    assert.equal(seen.size, SERVERS.length);
  });

  it('an empty user name is no cookie: the fallback decides', () => {
    const vs = worker();
    const slot = new PersistSlot('192.0.2.9');
    slot.connectionKey = '';
    vs.pool.persistence!.readConnection(slot);
    assert.equal(slot.key, null);
    assert.equal(slot.fallbackKey, '192.0.2.9');
  });

  it('a down server moves its users, and the table keeps the new server after it comes back', () => {
    const vs = worker();
    const before = connect(vs, '192.0.2.1', 'bob');
    assert.ok(vs.pool.setHealth(before.id, false, 'RDP port closed'));
    const after = connect(vs, '192.0.2.1', 'bob');
    assert.notEqual(after, before);
    assert.equal(connect(vs, '198.51.100.5', 'BOB'), after, 'the user stays on the new server');
    assert.ok(vs.pool.setHealth(before.id, true, 'ok'));
    // The hash alone would send bob back to `before` now; the table says where his session is.
    assert.equal(connect(vs, '192.0.2.1', 'bob'), after);
    const fresh = worker();
    assert.equal(connect(fresh, '192.0.2.1', 'bob').id, before.id, 'a worker without the entry hashes bob to his first server');
  });

  it('a server that never held the user is not chosen again on a retry (exclude)', () => {
    const vs = worker();
    const slot = new PersistSlot('192.0.2.1');
    slot.connectionKey = 'carol';
    vs.pool.persistence!.readConnection(slot);
    const first = vs.pool.persistence!.pick(slot, { clientAddress: '192.0.2.1', exclude: null }, Date.now())!;
    const retry = vs.pool.persistence!.pick(slot, { clientAddress: '192.0.2.1', exclude: [first] }, Date.now())!;
    assert.notEqual(retry, first);
    assert.equal(connect(vs, '192.0.2.1', 'carol'), retry, 'the connection that succeeded is the one remembered');
  });

  it('end to end from the bytes: a captured Connection Request and a built one for the same user agree', () => {
    const vs = worker();
    // rdesktop's request for rzhou (wallix/redemption trace_rdesktop_client.hpp), and mstsc's for RZHOU.
    const captured = Buffer.from('0300002b26e00000000000436f6f6b69653a206d737473686173683d727a686f750d0a0100080003000000', 'hex');
    const typed = Buffer.concat([Buffer.from([0x03, 0x00, 0x00, 0x2b, 0x26, 0xe0, 0, 0, 0, 0, 0]), Buffer.from('Cookie: mstshash=RZHOU\r\n'), Buffer.from([1, 0, 8, 0, 3, 0, 0, 0])]);
    const users = [captured, typed].map((bytes) => {
      const parsed = parseRdpConnectionRequest(bytes);
      assert.equal(parsed.kind, 'request');
      return parsed.kind === 'request' ? parsed.cookie : null;
    });
    assert.deepEqual(users, ['rzhou', 'RZHOU']);
    assert.equal(connect(vs, '192.0.2.1', users[0]!), connect(vs, '192.0.2.2', users[1]!));
  });
});
