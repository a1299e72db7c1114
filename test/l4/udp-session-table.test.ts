// The session table's least-recently-used order and lookups, without sockets.
import assert from 'node:assert/strict';
import type { Socket } from 'node:dgram';
import { describe, it } from 'node:test';
import { UdpSessionTable } from '../../src/l4/udp-session-table.ts';
import { UdpSession } from '../../src/l4/udp-session.ts';
import { RealServer } from '../../src/pool/real-server.ts';

const server = new RealServer(0, '127.0.0.1', 9000, 1, true);
const session = (address: string, port: number): UdpSession => new UdpSession(address, port, server, null as unknown as Socket, 0);

/** Ports from the oldest to the newest, walking the links both ways to check they agree. */
function order(table: UdpSessionTable): number[] {
  const forward: UdpSession[] = [];
  for (let s = table.oldest; s !== null; s = s.newer) forward.push(s);
  const backward: UdpSession[] = [];
  for (let s = forward.at(-1) ?? null; s !== null; s = s.older) backward.push(s);
  assert.deepEqual(backward.reverse(), forward);
  assert.equal(forward.length, table.size);
  return forward.map((s) => s.port);
}

describe('UdpSessionTable', () => {
  it('finds sessions by address and port, including several ports of one address', () => {
    const table = new UdpSessionTable();
    const [a1, a2, b1] = [session('10.0.0.1', 1), session('10.0.0.1', 2), session('10.0.0.2', 1)];
    for (const s of [a1, a2, b1]) table.add(s);
    assert.equal(table.get('10.0.0.1', 1), a1);
    assert.equal(table.get('10.0.0.1', 2), a2);
    assert.equal(table.get('10.0.0.2', 1), b1);
    assert.equal(table.get('10.0.0.2', 2), null);
    assert.equal(table.get('10.0.0.3', 1), null);
    table.remove(a1);
    assert.equal(table.get('10.0.0.1', 1), null);
    assert.equal(table.get('10.0.0.1', 2), a2);
    assert.equal(table.size, 2);
  });

  it('keeps least recently used order through touch and remove', () => {
    const table = new UdpSessionTable();
    const s = [1, 2, 3, 4].map((port) => session('10.0.0.1', port));
    for (const x of s) table.add(x);
    assert.deepEqual(order(table), [1, 2, 3, 4]);
    table.touch(s[0]!);
    assert.deepEqual(order(table), [2, 3, 4, 1]);
    table.touch(s[0]!); // already the newest
    table.touch(s[2]!);
    assert.deepEqual(order(table), [2, 4, 1, 3]);
    table.remove(s[1]!); // the oldest
    assert.deepEqual(order(table), [4, 1, 3]);
    table.remove(s[2]!); // the newest
    assert.deepEqual(order(table), [4, 1]);
    table.remove(s[0]!);
    table.remove(s[0]!); // twice: no effect
    assert.deepEqual(order(table), [4]);
    table.remove(s[3]!);
    assert.deepEqual(order(table), []);
    assert.equal(table.oldest, null);
  });

  it('does not remove a different session that took the same address and port', () => {
    const table = new UdpSessionTable();
    const old = session('10.0.0.1', 1);
    table.add(old);
    table.remove(old);
    const fresh = session('10.0.0.1', 1);
    table.add(fresh);
    table.remove(old);
    assert.equal(table.get('10.0.0.1', 1), fresh);
    assert.equal(table.size, 1);
  });
});
