/**
 * Issue 12, the management plane's defences found in review: a token (of any role) cannot take
 * over its owner's account; viewers do not read secrets written in the config; a flood of locked-
 * out logins cannot flush the audit log; a token cannot mint one that outlives it; the counters of
 * /metrics never go down when a worker dies.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../helpers/fulcrum.ts';
import { request, startNode, waitFor, type FulcrumNode, type RequestOptions } from './helpers.ts';

const PASSWORD = 'the first admin password';
const SECRET = 'a-cookie-secret-of-enough-length';

describe('management plane defences', () => {
  let dir: string;
  let node: FulcrumNode;
  let port: number;
  let webPort: number;
  let adminToken: string;

  const call = <T = any>(method: string, p: string, token: string | null, options: RequestOptions = {}) =>
    request<T>(port, method, p, { ...options, headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...options.headers } });
  const login = async (user: string, password: string): Promise<{ cookie: string; csrf: string }> => {
    const reply = await request(port, 'POST', '/api/v1/session', { body: { user, password } });
    assert.equal(reply.status, 200, reply.text);
    return { cookie: String([reply.headers['set-cookie']].flat()[0]).split(';')[0]!, csrf: reply.json.csrfToken };
  };
  const token = async (role: string, expiresIn = '30d', as: string = adminToken): Promise<string> => {
    const reply = await call('POST', '/api/v1/tokens', as, { body: { name: `t-${role}-${expiresIn}`, role, expiresIn } });
    assert.equal(reply.status, 201, reply.text);
    return reply.json.token;
  };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-security-'));
    port = await freePort();
    webPort = await freePort();
    const upstream = await freePort();
    const config = path.join(dir, 'fulcrum.yaml');
    await writeFile(
      config,
      [
        'workers: 2',
        'accessLog: off',
        'admin:',
        `  listen: 127.0.0.1:${port}`,
        'virtualServices:',
        '  - name: web',
        `    listen: 127.0.0.1:${webPort}`,
        '    protocol: http',
        `    persistence: { type: active-cookie, cookieSecret: ${SECRET} }`,
        '    healthCheck: { type: http, headers: { Authorization: Basic c2VjcmV0, User-Agent: fulcrum-check } }',
        `    realServers: [{ address: 127.0.0.1:${upstream} }]`,
        '',
      ].join('\n'),
    );
    node = await startNode(config, { FULCRUM_ADMIN_USER: 'alice', FULCRUM_ADMIN_PASSWORD: PASSWORD });
    const session = await login('alice', PASSWORD);
    const made = await request(port, 'POST', '/api/v1/tokens', { body: { name: 'admin', role: 'admin' }, headers: { cookie: session.cookie, 'x-csrf-token': session.csrf } });
    assert.equal(made.status, 201, made.text);
    adminToken = made.json.token;
  });
  after(async () => {
    await node?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a viewer token of an admin cannot change the admin\'s password; a session can, with the current one', async () => {
    const viewer = await token('viewer');
    const takeover = await call('PUT', '/api/v1/users/alice', viewer, { body: { password: 'taken over by a leak' } });
    assert.equal(takeover.status, 403, takeover.text);
    assert.equal((await request(port, 'POST', '/api/v1/session', { body: { user: 'alice', password: PASSWORD } })).status, 200);

    const created = await call('POST', '/api/v1/users', adminToken, { body: { name: 'olga', role: 'operator', password: 'olga first password' } });
    assert.equal(created.status, 201, created.text);
    const olga = await login('olga', 'olga first password');
    const headers = { cookie: olga.cookie, 'x-csrf-token': olga.csrf };
    const without = await request(port, 'PUT', '/api/v1/users/olga', { body: { password: 'olga second password' }, headers });
    assert.equal(without.status, 403, without.text);
    const changed = await request(port, 'PUT', '/api/v1/users/olga', { body: { password: 'olga second password', currentPassword: 'olga first password' }, headers });
    assert.equal(changed.status, 200, changed.text);
    assert.equal((await request(port, 'POST', '/api/v1/session', { body: { user: 'olga', password: 'olga second password' } })).status, 200);
  });

  it('a viewer reads the config with its secrets hidden, and not the file\'s text; an admin reads them', async () => {
    const viewer = await token('viewer');
    const seen = await call('GET', '/api/v1/virtual-services/web', viewer);
    assert.equal(seen.status, 200);
    assert.equal(seen.json.persistence.cookieSecret, '(hidden)');
    assert.deepEqual(seen.json.healthCheck.headers, { Authorization: '(hidden)', 'User-Agent': 'fulcrum-check' });
    assert.ok(!(await call('GET', '/api/v1/config', viewer)).text.includes(SECRET));
    assert.equal((await call('GET', '/api/v1/config?format=yaml', viewer)).status, 403);
    assert.equal((await call('GET', '/api/v1/config/versions/1', viewer)).status, 403);
    assert.equal((await call('GET', '/api/v1/virtual-services/web', adminToken)).json.persistence.cookieSecret, SECRET);
    assert.match((await call('GET', '/api/v1/config?format=yaml', adminToken)).text, new RegExp(SECRET));
  });

  it('a flood of locked-out logins leaves one audit line, not one each', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await request(port, 'POST', '/api/v1/session', { body: { user: 'mallory', password: `guess number ${i}` } })).status, 401);
    for (let i = 0; i < 30; i++) assert.equal((await request(port, 'POST', '/api/v1/session', { body: { user: 'mallory', password: 'still guessing' } })).status, 429);
    const audit = (await call<Array<{ action: string; target: string; outcome: string }>>('GET', '/api/v1/audit?limit=1000', adminToken)).json;
    const mallory = audit.filter((e) => e.action === 'login' && e.target === 'mallory');
    assert.equal(mallory.filter((e) => e.outcome === 'failed').length, 5);
    assert.equal(mallory.filter((e) => e.outcome === 'denied').length, 1);
  });

  it('a token cannot create a token that outlives it', async () => {
    const short = await token('operator', '1h');
    const longer = await call('POST', '/api/v1/tokens', short, { body: { name: 'longer', role: 'viewer', expiresIn: '30d' } });
    assert.equal(longer.status, 403, longer.text);
    assert.match(longer.json.error.message, /outlives/);
    const shorter = await call('POST', '/api/v1/tokens', short, { body: { name: 'shorter', role: 'viewer', expiresIn: '30m' } });
    assert.equal(shorter.status, 201, shorter.text);
  });

  it('the counters of /metrics never go down when a worker dies and is restarted', async () => {
    const line = /^fulcrum_connections_total\{virtual_service="web"\} (\d+)$/m;
    const total = async (): Promise<number> => Number(line.exec((await call('GET', '/metrics', adminToken)).text)?.[1] ?? NaN);
    const sockets = await Promise.all(Array.from({ length: 20 }, () => request(webPort, 'GET', '/').catch(() => null)));
    assert.equal(sockets.length, 20);
    const before = await waitFor(total, (n) => n >= 20, 10_000, '20 connections counted');
    const workers = (await call('GET', '/api/v1/status', adminToken)).json.workers as number[];
    process.kill(workers[0]!, 'SIGKILL');
    await waitFor(async () => (await call('GET', '/api/v1/status', adminToken)).json.workers as number[], (pids) => pids.length === 2 && !pids.includes(workers[0]!), 15_000, 'the worker restarted');
    assert.ok((await total()) >= before, 'the total did not go down');
  });
});
