// The pool's queue with persistence: a waiter persisted to a full server waits for that server
// (its session lives there), and does not hold up the waiters behind it that another server's
// free slot can take. HAProxy keeps a queue per server for the same reason.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pool } from '../../src/pool/pool.ts';
import { FULL, type PoolWaiter } from '../../src/pool/types.ts';
import { ASKS, Client } from './engine-asks.ts';
import { T0, comboConfig, frontEnds, real } from './pick-script.ts';

/** A queued connection: asks again through the TCP engine's pick when a slot may be free. */
class Waiter implements PoolWaiter {
  inQueue = false;
  queueDeadline = 0;
  got: string | null = null;
  readonly client: Client;
  constructor(client: Client) {
    this.client = client;
  }
  onPoolSlot(pool: Pool): boolean {
    const picked = ASKS.tcp(pool, this.client, null, T0);
    if (picked === FULL) return false;
    const server = real(picked, 'a queued pick');
    this.got = server.id;
    pool.take(server);
    return true;
  }
  onQueueTimeout(): void {}
}

describe('the queue with persistence', () => {
  it('a waiter persisted to a full server waits for it; the waiters behind it take the other servers\' slots', () => {
    const { services } = frontEnds(comboConfig('round-robin', 'source-ip', ['tcp']));
    const pool = services[0]!.pool;
    // Fill every slot (3 servers x 2) with clients from distinct /24s, remembering who went where.
    const placed = new Map<string, Client>();
    for (let n = 1; placed.size < 3 || [...pool.servers].some((s) => s.available && s.inflight < 2); n++) {
      const client = new Client(n, `10.${n}.0.1`);
      const picked = ASKS.tcp(pool, client, null, T0);
      if (picked === FULL) break;
      const server = real(picked, 'fill');
      pool.take(server);
      if (!placed.has(server.id)) placed.set(server.id, client);
    }
    const [homeId, otherId] = [...placed.keys()] as [string, string];
    const home = pool.servers.find((s) => s.id === homeId)!;
    const other = pool.servers.find((s) => s.id === otherId)!;

    // The first waiter is persisted to `home`; the second is a new client.
    const persisted = new Waiter(placed.get(homeId)!);
    const fresh = new Waiter(new Client(99, '203.0.113.9'));
    assert.equal(ASKS.tcp(pool, persisted.client, null, T0), FULL);
    assert.ok(pool.enqueue(persisted, T0));
    assert.ok(pool.enqueue(fresh, T0));

    pool.release(other);
    assert.equal(persisted.got, null, 'the persisted waiter does not move to the other server');
    assert.equal(fresh.got, otherId, 'the waiter behind it takes the freed slot');
    assert.equal(pool.queued, 1);

    pool.release(home);
    assert.equal(persisted.got, homeId, 'and it reaches its own server when that has a slot');
    assert.equal(pool.queued, 0);
  });
});
