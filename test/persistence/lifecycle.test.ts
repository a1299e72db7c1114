// Persistence over time and across processes: reloads keep the tables, entries and cookies expire,
// tables stay bounded under a flood, forged cookies are ignored, and two nodes with the same
// config agree without sharing anything.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type App, closeApps, cookieFrom, get, sleep, startApps, startEngine, startNode, type ServiceYaml } from './helpers.ts';

let apps: App[];

before(async () => {
  apps = await startApps(4);
});

after(async () => {
  await closeApps(apps);
});

const addresses = (count: number): string[] => apps.slice(0, count).map((a) => a.address);

describe('persistence across a reload', () => {
  it('keeps its table when name and persistence settings stay, even as the server set changes', async () => {
    const persistence = { type: 'header', headerName: 'X-User' };
    const node = await startNode({ persistence, realServers: addresses(3) });
    try {
      const users = Array.from({ length: 60 }, (_, i) => `user-${i}`);
      const before = new Map<string, string>();
      for (const user of users) before.set(user, (await get(node.port, '/', { headers: { 'x-user': user } })).app);

      // A fourth server: the consistent hash would now give it about a quarter of the users,
      // but they are remembered.
      await node.reload({ persistence, realServers: addresses(4) });
      for (const user of users) assert.equal((await get(node.port, '/', { headers: { 'x-user': user } })).app, before.get(user), user);

      // Changed persistence settings start empty tables: now the hash decides, and app-4 gets its share.
      await node.reload({ persistence: { ...persistence, timeout: '31m' }, realServers: addresses(4) });
      let moved = 0;
      for (const user of users) if ((await get(node.port, '/', { headers: { 'x-user': user } })).app !== before.get(user)) moved++;
      assert.ok(moved >= 5, `with fresh tables some users move to the new server (${moved} of 60 did)`);
    } finally {
      await node.close();
    }
  });

  it('an active cookie works across a reload that reorders the servers', async () => {
    const persistence = { type: 'active-cookie' };
    const node = await startNode({ scheduler: 'round-robin', persistence, realServers: addresses(3) });
    try {
      const clients: Array<[string, string]> = [];
      for (let i = 0; i < 3; i++) {
        const answer = await get(node.port);
        clients.push([cookieFrom(answer)!, answer.app]);
      }
      await node.reload({ scheduler: 'round-robin', persistence, realServers: addresses(3).reverse() });
      for (const [cookie, app] of clients) assert.equal((await get(node.port, '/', { cookie })).app, app);
    } finally {
      await node.close();
    }
  });
});

describe('persistence timeout', () => {
  it('a table entry lives `timeout` after its last use, then the client is chosen afresh', async () => {
    const persistence = { type: 'header', headerName: 'X-User', timeout: '1s' };
    const node = await startNode({ persistence, realServers: addresses(2) });
    try {
      const first = (await get(node.port, '/', { headers: { 'x-user': 'carol' } })).app;
      const other = first === 'app-1' ? 'app-2' : 'app-1';
      const weights = (w: number): ServiceYaml['realServers'] => apps.slice(0, 2).map((a) => ({ address: a.address, weight: a.name === first ? w : 100 }));
      // Weight 0: no new clients, but persisted ones stay while their entry lives (and each use renews it).
      await node.reload({ persistence, realServers: weights(0) });
      for (let i = 0; i < 4; i++) {
        assert.equal((await get(node.port, '/', { headers: { 'x-user': 'carol' } })).app, first);
        await sleep(400);
      }
      await sleep(1300);
      assert.equal((await get(node.port, '/', { headers: { 'x-user': 'carol' } })).app, other, 'expired: chosen again among the available servers');
    } finally {
      await node.close();
    }
  });

  it('an active cookie past its signed expiry is ignored', async () => {
    const node = await startNode({ scheduler: 'round-robin', persistence: { type: 'active-cookie', timeout: '1s' }, realServers: addresses(2) });
    try {
      const first = await get(node.port);
      const cookie = cookieFrom(first)!;
      assert.equal((await get(node.port, '/', { cookie })).app, first.app);
      await sleep(2100);
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const answer = await get(node.port, '/', { cookie });
        assert.ok(cookieFrom(answer) !== undefined, 'an expired cookie is replaced');
        seen.add(answer.app);
      }
      assert.equal(seen.size, 2, 'and no longer binds: round robin rotates');
    } finally {
      await node.close();
    }
  });

  it('expired entries leave the table on the worker tick, without traffic', async () => {
    const engine = await startEngine({ persistence: { type: 'source-ip', timeout: '1s' }, realServers: addresses(2) });
    try {
      for (let i = 1; i <= 20; i++) await get(engine.port, '/', { localAddress: `127.0.3.${i}` });
      assert.equal(engine.service.pool.persistence!.entries, 20);
      engine.tick(Date.now() + 1001);
      assert.equal(engine.service.pool.persistence!.entries, 0);
    } finally {
      await engine.close();
    }
  });
});

describe('persistence table bounds', () => {
  it('a flood of 10x maxEntries new clients (source addresses) keeps the table at maxEntries', async () => {
    const engine = await startEngine({ persistence: { type: 'source-ip', maxEntries: 50 }, realServers: addresses(4) });
    try {
      for (let i = 0; i < 500; i++) {
        const answer = await get(engine.port, '/', { localAddress: `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}` });
        assert.equal(answer.status, 200);
        assert.ok(engine.service.pool.persistence!.entries <= 50);
      }
      assert.equal(engine.service.pool.persistence!.entries, 50);
    } finally {
      await engine.close();
    }
  });

  it('a flood of 10x maxEntries header values on one connection, and of forged cookies, keeps the tables capped', async () => {
    const engine = await startEngine({
      persistence: { type: 'server-cookie', cookieName: 'SID', fallback: 'header', headerName: 'X-Client', maxEntries: 100 },
      realServers: addresses(3),
    });
    try {
      const { Client } = await import('undici');
      const client = new Client(`http://127.0.0.1:${engine.port}`);
      try {
        for (let i = 0; i < 1000; i++) {
          const res = await client.request({ path: '/', method: 'GET', headers: { 'x-client': `c${i}`, cookie: `SID=forged-${i}` } });
          assert.equal(res.statusCode, 200);
          await res.body.text();
        }
      } finally {
        await client.close();
      }
      // Two tables (server-cookie values and the header fallback), each at its cap.
      assert.equal(engine.service.pool.persistence!.entries, 200);
    } finally {
      await engine.close();
    }
  });
});

describe('forged and garbled cookies', () => {
  it('are treated as absent: the fallback decides and a valid cookie is set', async () => {
    const persistence = { type: 'active-cookie', fallback: 'source-ip', cookieSecret: 'node-secret-0123456789' };
    const node = await startNode({ persistence, realServers: addresses(4) });
    const stranger = await startNode({ persistence: { ...persistence, cookieSecret: 'another-secret-0123456789' }, realServers: addresses(4) });
    try {
      const localAddress = '127.0.4.1';
      const honest = await get(node.port, '/', { localAddress });
      const valid = cookieFrom(honest)!;
      const value = valid.slice('FULCRUMID='.length);
      const flip = (i: number): string => `FULCRUMID=${value.slice(0, i)}${value[i] === 'x' ? 'y' : 'x'}${value.slice(i + 1)}`;
      // A cookie for some other server, issued under another key.
      let foreign = '';
      for (let i = 0; i < 20 && foreign === ''; i++) {
        const answer = await get(stranger.port, '/', { localAddress: `127.0.5.${i + 1}` });
        if (answer.app !== honest.app) foreign = cookieFrom(answer)!;
      }
      assert.notEqual(foreign, '');
      const forgeries = [
        'FULCRUMID=garbage',
        'FULCRUMID=',
        `FULCRUMID=${value}${value}`,
        `FULCRUMID=${value.slice(0, -1)}`,
        flip(0), // the server token
        flip(18), // the expiry
        flip(30), // the mac
        foreign,
        `FULCRUMID="${value}"`,
        'FULCRUMID=%00%01\\x',
      ];
      for (const cookie of forgeries) {
        const answer = await get(node.port, '/', { cookie, localAddress });
        assert.equal(answer.status, 200, cookie);
        assert.equal(answer.app, honest.app, `${cookie}: the fallback (source address) decides`);
        // The same server token; the expiry may have moved on by a second since the honest one.
        const replacement = cookieFrom(answer)!;
        assert.equal(replacement.slice(0, 'FULCRUMID='.length + 16), valid.slice(0, 'FULCRUMID='.length + 16), `${cookie}: replaced by a cookie for the same server`);
        assert.deepEqual((await get(node.port, '/', { cookie: replacement, localAddress: '127.0.6.2' })).setCookies, [], `${cookie}: the replacement is genuine`);
      }
      assert.deepEqual((await get(node.port, '/', { cookie: valid, localAddress: '127.0.6.1' })).setCookies, [], 'the genuine one is accepted as is');
    } finally {
      await node.close();
      await stranger.close();
    }
  });
});

describe('two nodes with the same config', () => {
  it('route the same active cookie to the same server, without a configured secret, whatever their server order', async () => {
    const vs = { scheduler: 'round-robin', persistence: { type: 'active-cookie', timeout: '1h' } };
    const a = await startNode({ ...vs, realServers: addresses(4) });
    const b = await startNode({ ...vs, scheduler: 'least-connections', realServers: addresses(4).reverse() });
    try {
      const seen = new Set<string>();
      for (let i = 0; i < 8; i++) {
        const first = await get(a.port);
        seen.add(first.app);
        const cookie = cookieFrom(first)!;
        for (let j = 0; j < 3; j++) {
          const onB = await get(b.port, '/', { cookie });
          assert.equal(onB.app, first.app, `node B sends ${cookie} to ${onB.app}, node A to ${first.app}`);
          assert.deepEqual(onB.setCookies, [], 'and accepts it as is');
        }
      }
      assert.equal(seen.size, 4);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('agree through FULCRUM_COOKIE_SECRET; a node with another secret ignores the cookie', async () => {
    const vs = { scheduler: 'round-robin', persistence: { type: 'active-cookie' }, realServers: addresses(4) };
    const saved = process.env['FULCRUM_COOKIE_SECRET'];
    process.env['FULCRUM_COOKIE_SECRET'] = 'shared-by-every-node-0123';
    const a = await startNode(vs);
    const b = await startNode(vs);
    process.env['FULCRUM_COOKIE_SECRET'] = 'some-other-secret-98765';
    const c = await startNode(vs);
    if (saved === undefined) delete process.env['FULCRUM_COOKIE_SECRET'];
    else process.env['FULCRUM_COOKIE_SECRET'] = saved;
    try {
      for (let i = 0; i < 4; i++) {
        const first = await get(a.port);
        const cookie = cookieFrom(first)!;
        assert.equal((await get(b.port, '/', { cookie })).app, first.app);
        assert.ok(cookieFrom(await get(c.port, '/', { cookie })) !== undefined, 'node C does not accept it');
      }
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it('make the same first choice for source-ip and header keys (workers of one node agree the same way)', async () => {
    const a = await startNode({ scheduler: 'round-robin', persistence: { type: 'source-ip', timeout: '10m' }, realServers: addresses(4) });
    const b = await startNode({ scheduler: 'random-two-choices', persistence: { type: 'source-ip' }, realServers: addresses(4).reverse() });
    const h1 = await startNode({ persistence: { type: 'header', headerName: 'X-Id' }, realServers: addresses(4) });
    const h2 = await startNode({ persistence: { type: 'header', headerName: 'X-Id' }, realServers: addresses(4).reverse() });
    try {
      for (let host = 2; host < 30; host++) {
        const localAddress = `127.0.7.${host}`;
        assert.equal((await get(b.port, '/', { localAddress })).app, (await get(a.port, '/', { localAddress })).app, localAddress);
        const headers = { 'x-id': `id-${host}` };
        assert.equal((await get(h2.port, '/', { headers })).app, (await get(h1.port, '/', { headers })).app, headers['x-id']);
      }
    } finally {
      await Promise.all([a.close(), b.close(), h1.close(), h2.close()]);
    }
  });
});
