// Every persistence type end to end over real sockets: a client keeps its real server across
// fresh connections, while the scheduler (round robin, which would rotate) is overruled.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type App, type Answer, closeApps, cookieFrom, get, startApps, startNode, type Node } from './helpers.ts';

let apps: App[];

before(async () => {
  apps = await startApps(4);
});

after(async () => {
  await closeApps(apps);
});

async function withNode(persistence: unknown, run: (node: Node) => Promise<void>): Promise<void> {
  const node = await startNode({ scheduler: 'round-robin', persistence, realServers: apps.map((a) => a.address) });
  try {
    await run(node);
  } finally {
    await node.close();
  }
}

/** The apps that answered `n` requests, each on a fresh connection. */
async function answers(n: number, request: (i: number) => Promise<Answer>): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const answer = await request(i);
    assert.equal(answer.status, 200);
    out.push(answer.app);
  }
  return out;
}

const distinct = (names: string[]): number => new Set(names).size;

describe('persistence types', () => {
  it('source-ip: each client address keeps its server; different addresses spread', async () => {
    await withNode({ type: 'source-ip' }, async (node) => {
      const chosen: string[] = [];
      for (let host = 2; host <= 21; host++) {
        const localAddress = `127.0.0.${host}`;
        const seen = await answers(4, () => get(node.port, '/', { localAddress }));
        assert.equal(distinct(seen), 1, `${localAddress} moved: ${seen.join(', ')}`);
        chosen.push(seen[0]!);
      }
      assert.ok(distinct(chosen) >= 3, `20 clients should spread over the servers, got ${chosen.join(', ')}`);
    });
  });

  it('source-ip with sourceMask 24: a whole /24 keeps one server (Windows NLB "network" affinity)', async () => {
    await withNode({ type: 'source-ip', sourceMask: 24 }, async (node) => {
      const perNetwork: string[] = [];
      for (let net = 1; net <= 8; net++) {
        const seen = await answers(5, (i) => get(node.port, '/', { localAddress: `127.0.${net}.${10 + i}` }));
        assert.equal(distinct(seen), 1, `127.0.${net}.0/24 spread over ${seen.join(', ')}`);
        perNetwork.push(seen[0]!);
      }
      assert.ok(distinct(perNetwork) >= 2, `8 networks all on ${perNetwork[0]}`);
    });
  });

  it('active-cookie: the first answer sets an opaque signed cookie; with it every request reaches the same server', async () => {
    await withNode({ type: 'active-cookie', timeout: '1h' }, async (node) => {
      for (let client = 0; client < 4; client++) {
        const first = await get(node.port);
        const setCookie = first.setCookies.find((c) => c.startsWith('FULCRUMID='));
        assert.ok(setCookie !== undefined, 'a new client gets the cookie');
        assert.match(setCookie, /^FULCRUMID=[A-Za-z0-9_-]{33}; Path=\/; Max-Age=3600; HttpOnly; SameSite=Lax$/);
        for (const app of apps) {
          const port = app.address.split(':')[1]!;
          assert.ok(!setCookie.includes(port) && !setCookie.includes('127.0.0.1'), 'the value never carries the address');
        }
        const cookie = cookieFrom(first)!;
        const seen = await answers(6, () => get(node.port, '/', { cookie: `theme=dark; ${cookie}` }));
        assert.deepEqual(new Set(seen), new Set([first.app]));
        // A client with a fresh cookie is not sent a new one on every response.
        assert.deepEqual((await get(node.port, '/', { cookie })).setCookies, []);
      }
    });
  });

  it('active-cookie with timeout 0s: a session cookie (no Max-Age) that keeps working', async () => {
    await withNode({ type: 'active-cookie', cookieName: 'LB', timeout: '0s' }, async (node) => {
      const first = await get(node.port);
      assert.match(first.setCookies[0]!, /^LB=[A-Za-z0-9_-]{33}; Path=\/; HttpOnly; SameSite=Lax$/);
      const seen = await answers(4, () => get(node.port, '/', { cookie: cookieFrom(first, 'LB')! }));
      assert.deepEqual(new Set(seen), new Set([first.app]));
    });
  });

  it('server-cookie: the value the application sets is learned, and keeps the client on the server that set it', async () => {
    await withNode({ type: 'server-cookie', cookieName: 'JSESSIONID' }, async (node) => {
      for (let client = 0; client < 4; client++) {
        const login = await get(node.port, '/login');
        const session = cookieFrom(login, 'JSESSIONID');
        assert.ok(session?.startsWith(`JSESSIONID=${login.app}-`), `the app's own cookie passes through: ${login.setCookies.join(' | ')}`);
        assert.equal(cookieFrom(login), undefined, 'Fulcrum adds no cookie of its own');
        const seen = await answers(5, () => get(node.port, '/cart', { cookie: `a=b; ${session}` }));
        assert.deepEqual(new Set(seen), new Set([login.app]), `${session} moved`);
      }
      // Without the cookie, round robin rotates.
      assert.ok(distinct(await answers(4, () => get(node.port, '/'))) > 1);
    });
  });

  it('header: each value of the named header keeps its server; requests without it are scheduled', async () => {
    await withNode({ type: 'header', headerName: 'X-Session-Id' }, async (node) => {
      const chosen: string[] = [];
      for (let client = 0; client < 12; client++) {
        const seen = await answers(4, () => get(node.port, '/', { headers: { 'x-session-id': `user-${client}` } }));
        assert.equal(distinct(seen), 1);
        chosen.push(seen[0]!);
      }
      assert.ok(distinct(chosen) >= 2);
      assert.ok(distinct(await answers(4, () => get(node.port, '/'))) > 1, 'no header: round robin');
    });
  });

  it('url-hash: one path, one server, whatever the query and the client; paths spread', async () => {
    await withNode({ type: 'url-hash' }, async (node) => {
      const chosen: string[] = [];
      for (let page = 0; page < 16; page++) {
        const seen = await answers(4, (i) => get(node.port, `/catalog/item-${page}?v=${i}`, { localAddress: `127.0.0.${2 + i}` }));
        assert.equal(distinct(seen), 1);
        chosen.push(seen[0]!);
      }
      assert.ok(distinct(chosen) >= 3, `16 paths on ${distinct(chosen)} servers`);
    });
  });

  it('query-item: each value of the named parameter keeps its server', async () => {
    await withNode({ type: 'query-item', queryItem: 'sid' }, async (node) => {
      const chosen: string[] = [];
      for (let client = 0; client < 12; client++) {
        const seen = await answers(4, (i) => get(node.port, `/page-${i}?lang=en&sid=s${client}`));
        assert.equal(distinct(seen), 1);
        chosen.push(seen[0]!);
      }
      assert.ok(distinct(chosen) >= 2);
    });
  });

  it('fallback: active-cookie or source-ip /24 (the brief\'s example): cookie-less clients of one network share a server and get its cookie', async () => {
    await withNode({ type: 'active-cookie', cookieName: 'FULCRUMID', timeout: '1h', fallback: 'source-ip', sourceMask: 24 }, async (node) => {
      const first = await get(node.port, '/', { localAddress: '127.0.9.1' });
      const neighbour = await get(node.port, '/', { localAddress: '127.0.9.200' });
      assert.equal(neighbour.app, first.app, 'same /24, same server');
      // Both get a cookie for that server (the strings differ when the two answers straddle a
      // second: the cookie carries its expiry). The cookie beats the address: from anywhere,
      // either one reaches its server.
      assert.ok(cookieFrom(first) && cookieFrom(neighbour), 'both answers set the cookie');
      const seen = await answers(4, (i) => get(node.port, '/', { cookie: cookieFrom(i % 2 === 0 ? first : neighbour)!, localAddress: `127.0.${20 + i}.1` }));
      assert.deepEqual(new Set(seen), new Set([first.app]));
    });
  });

  it('fallback: header or query-item', async () => {
    await withNode({ type: 'header', headerName: 'X-User', fallback: 'query-item', queryItem: 'u' }, async (node) => {
      const byQuery = await answers(4, () => get(node.port, '/?u=alice'));
      assert.equal(distinct(byQuery), 1);
      const byHeader = await answers(4, () => get(node.port, '/?u=alice', { headers: { 'x-user': 'bob' } }));
      assert.equal(distinct(byHeader), 1);
    });
  });

  it('server-cookie with fallback source-ip: a session value this node never learned still reaches the same server as the client\'s address', async () => {
    await withNode({ type: 'server-cookie', cookieName: 'JSESSIONID', fallback: 'source-ip' }, async (node) => {
      const localAddress = '127.0.0.77';
      const login = await get(node.port, '/login', { localAddress });
      const unknown = await answers(3, () => get(node.port, '/', { cookie: 'JSESSIONID=learned-elsewhere', localAddress }));
      assert.deepEqual(new Set(unknown), new Set([login.app]));
    });
  });
});
