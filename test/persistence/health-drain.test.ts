// Persistence respects health and drain: a client whose server is down, disabled or refusing moves
// (and its cookie or table entry is rewritten); a draining server keeps its persisted clients,
// gets no new ones, and lets them go when drainTimeout ends or their persistence expires.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type App, appAt, closeApps, cookieFrom, get, sleep, startApps, startNode, type ServiceYaml } from './helpers.ts';

let apps: App[];

before(async () => {
  apps = await startApps(3);
});

after(async () => {
  await closeApps(apps);
});

function service(persistence: Record<string, unknown>, extra: Partial<ServiceYaml> = {}, states: Record<string, string> = {}): ServiceYaml {
  return {
    scheduler: 'round-robin',
    persistence,
    ...extra,
    realServers: apps.map((a) => (states[a.name] === undefined ? a.address : { address: a.address, state: states[a.name] })),
  };
}

/** A cookie that persists a client to `app` (new clients from new addresses: one of them lands there). */
async function cookieFor(port: number, app: string): Promise<string> {
  for (let i = 0; i < 60; i++) {
    const answer = await get(port, '/', { localAddress: `127.0.2.${i + 1}` });
    if (answer.app === app) return cookieFrom(answer)!;
  }
  throw new Error(`no new client reached ${app}`);
}

describe('persistence and health', () => {
  it('a down server\'s clients move, get a rewritten cookie, and stay on the new server when it comes back', async () => {
    const node = await startNode(service({ type: 'active-cookie' }));
    try {
      const cookie = await cookieFor(node.port, 'app-2');
      node.runtime.setHealth('web', appAt(apps, apps[1]!.address).address, false, 'test: down');
      const moved = await get(node.port, '/', { cookie });
      assert.notEqual(moved.app, 'app-2');
      const rewritten = cookieFrom(moved);
      assert.ok(rewritten !== undefined && rewritten !== cookie, 'the cookie is rewritten to the new server');
      for (let i = 0; i < 4; i++) {
        const again = await get(node.port, '/', { cookie: rewritten });
        assert.equal(again.app, moved.app);
        assert.deepEqual(again.setCookies, []);
      }
      node.runtime.setHealth('web', apps[1]!.address, true, 'test: up');
      assert.equal((await get(node.port, '/', { cookie: rewritten })).app, moved.app, 'back up: the moved client stays where it is');
    } finally {
      await node.close();
    }
  });

  it('a table entry (source-ip) is rewritten too: the client stays on its new server after the old one returns', async () => {
    const node = await startNode(service({ type: 'source-ip' }));
    try {
      const localAddress = '127.0.0.33';
      const before = (await get(node.port, '/', { localAddress })).app;
      const server = apps.find((a) => a.name === before)!;
      node.runtime.setHealth('web', server.address, false, 'test: down');
      const moved = (await get(node.port, '/', { localAddress })).app;
      assert.notEqual(moved, before);
      node.runtime.setHealth('web', server.address, true, 'test: up');
      for (let i = 0; i < 3; i++) assert.equal((await get(node.port, '/', { localAddress })).app, moved);
    } finally {
      await node.close();
    }
  });

  it('a disabled server\'s clients move', async () => {
    const node = await startNode(service({ type: 'active-cookie' }));
    try {
      const cookie = await cookieFor(node.port, 'app-1');
      await node.reload(service({ type: 'active-cookie' }, {}, { 'app-1': 'disabled' }));
      const moved = await get(node.port, '/', { cookie });
      assert.notEqual(moved.app, 'app-1');
      assert.ok(cookieFrom(moved) !== undefined);
    } finally {
      await node.close();
    }
  });

  it('a persisted server that refuses connections: the request is retried elsewhere and the cookie rewritten', async () => {
    const [doomed] = await startApps(1);
    const node = await startNode({ scheduler: 'round-robin', retries: 1, persistence: { type: 'active-cookie' }, realServers: [doomed!.address, apps[0]!.address] });
    try {
      let cookie = '';
      for (let i = 0; i < 4 && cookie === ''; i++) {
        const answer = await get(node.port);
        if (answer.app === doomed!.name) cookie = cookieFrom(answer)!;
      }
      await closeApps([doomed!]);
      const retried = await get(node.port, '/', { cookie });
      assert.equal(retried.status, 200);
      assert.equal(retried.app, 'app-1');
      const rewritten = cookieFrom(retried)!;
      assert.equal((await get(node.port, '/', { cookie: rewritten })).app, 'app-1');
    } finally {
      await node.close();
    }
  });
});

describe('persistence and drain', () => {
  it('a draining server keeps its persisted clients (cookie and table) but gets no new ones', async () => {
    const persistence = { type: 'active-cookie', fallback: 'source-ip' };
    const node = await startNode(service(persistence));
    try {
      const cookie = await cookieFor(node.port, 'app-3');
      // A client persisted by address alone (no cookie sent back): the fallback's table.
      let persistedAddress = '';
      for (let host = 2; host < 60 && persistedAddress === ''; host++) {
        if ((await get(node.port, '/', { localAddress: `127.0.0.${host}` })).app === 'app-3') persistedAddress = `127.0.0.${host}`;
      }
      assert.notEqual(persistedAddress, '');
      await node.reload(service(persistence, {}, { 'app-3': 'drain' }));

      for (let i = 0; i < 5; i++) {
        const answer = await get(node.port, '/', { cookie });
        assert.equal(answer.app, 'app-3', 'the cookie still reaches the draining server');
        assert.deepEqual(answer.setCookies, [], 'and is not renewed');
        assert.equal((await get(node.port, '/', { localAddress: persistedAddress })).app, 'app-3');
      }
      const fresh: string[] = [];
      for (let i = 0; i < 30; i++) fresh.push((await get(node.port, '/', { localAddress: `127.0.1.${i + 1}` })).app);
      assert.ok(!fresh.includes('app-3'), `new clients avoid the draining server: ${fresh.join(', ')}`);

      // Enabled again: its clients never left.
      await node.reload(service(persistence));
      assert.equal((await get(node.port, '/', { cookie })).app, 'app-3');
    } finally {
      await node.close();
    }
  });

  it('drainTimeout ends the persisted clients\' stay: they move and get a new cookie', async () => {
    const persistence = { type: 'active-cookie' };
    const node = await startNode(service(persistence, { drainTimeout: '400ms' }));
    try {
      const cookie = await cookieFor(node.port, 'app-2');
      await node.reload(service(persistence, { drainTimeout: '400ms' }, { 'app-2': 'drain' }));
      assert.equal((await get(node.port, '/', { cookie })).app, 'app-2');
      await sleep(700);
      const moved = await get(node.port, '/', { cookie });
      assert.notEqual(moved.app, 'app-2');
      assert.ok(cookieFrom(moved) !== undefined);
    } finally {
      await node.close();
    }
  });

  it('with drainTimeout 0s a persisted client stays until its persistence expires (no renewal while draining)', async () => {
    const persistence = { type: 'header', headerName: 'X-User', timeout: '1s' };
    const node = await startNode(service(persistence));
    try {
      let user = '';
      for (let i = 0; i < 40 && user === ''; i++) {
        if ((await get(node.port, '/', { headers: { 'x-user': `u${i}` } })).app === 'app-1') user = `u${i}`;
      }
      assert.notEqual(user, '');
      await node.reload(service(persistence, {}, { 'app-1': 'drain' }));
      const started = Date.now();
      const seen: Array<[number, string]> = [];
      while (Date.now() - started < 1800) {
        seen.push([Date.now() - started, (await get(node.port, '/', { headers: { 'x-user': user } })).app]);
        await sleep(100);
      }
      const early = seen.filter(([t]) => t < 600).map(([, app]) => app);
      const late = seen.filter(([t]) => t > 1300).map(([, app]) => app);
      assert.ok(early.length > 0 && early.every((app) => app === 'app-1'), `before expiry: ${early.join(', ')}`);
      assert.ok(late.length > 0 && late.every((app) => app !== 'app-1'), `after expiry the client has moved: ${late.join(', ')}`);
    } finally {
      await node.close();
    }
  });
});
