// Issue 12, the management plane end to end: `fulcrum start` as an administrator runs it (state
// database beside the config, the first admin from the environment), real sockets, real files.
// Every route of docs/api.md at least once; each role's permissions; sessions, CSRF, tokens and
// login rate limiting; ETags, invalid bodies, dry runs and what a refused change leaves alone;
// comments kept; versions and restore; audit; backup and restore; a restart; admin.tls; the
// listener's safe defaults.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { matchRoute, ROUTES } from '../../src/admin/route-table.ts';
import type { StatusDocument } from '../../src/admin/types.ts';
import { freePort, fulcrumBin, startBackends, type Backends } from '../helpers/fulcrum.ts';
import { get, request as send, startFailure, startNode, waitFor, type FulcrumNode, type Reply, type RequestOptions } from './helpers.ts';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const fixture = (name: string): string => path.join(REPO, 'test/fixtures/tls', name);
const ROOT_PASSWORD = 'correct horse battery staple';
const PASSWORD = 'a passphrase of five words';
const UNSAFE = new Set(['POST', 'PUT', 'DELETE']);

/** The routes that answered a request of these tests with a success (2xx): every route must be among them. */
const served = new Set<string>();

async function request(port: number, method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  const reply = await send(port, method, path, options);
  const match = matchRoute(method, new URL(path, 'http://admin').pathname);
  if (match !== null && 'route' in match && reply.status < 300) served.add(match.route.id);
  return reply;
}

/** How a caller proves who it is: a session (cookie and its CSRF token), an API token, or nothing. */
type Credentials = { cookie: string; csrf: string } | { token: string } | null;

interface Caller {
  call<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply<T>>;
}

/** Requests with `credentials`; a session's writes carry its X-CSRF-Token, as the console's do. */
function caller(port: number, credentials: Credentials): Caller {
  return {
    call: (method, path, body, headers = {}) => {
      const auth: Record<string, string> = {};
      if (credentials !== null && 'token' in credentials) auth.authorization = `Bearer ${credentials.token}`;
      if (credentials !== null && 'cookie' in credentials) {
        auth.cookie = credentials.cookie;
        if (UNSAFE.has(method)) auth['x-csrf-token'] = credentials.csrf;
      }
      return request(port, method, path, { body, headers: { ...auth, ...headers } });
    },
  };
}

/** The fulcrum_session cookie of a Set-Cookie header, as a browser sends it back. */
function sessionCookie(reply: Reply): { cookie: string; attributes: string } {
  const header = [reply.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('fulcrum_session='));
  assert.ok(header !== undefined, `a fulcrum_session cookie in ${JSON.stringify(reply.headers)}`);
  const [cookie, ...attributes] = header.split(';').map((p) => p.trim());
  return { cookie: cookie!, attributes: attributes.join('; ') };
}

async function login(port: number, user: string, password: string): Promise<{ cookie: string; csrf: string }> {
  const reply = await request(port, 'POST', '/api/v1/session', { body: { user, password } });
  assert.equal(reply.status, 200, reply.text);
  return { cookie: sessionCookie(reply).cookie, csrf: reply.json.csrfToken };
}

function expectError(reply: Reply, status: number, code: string, message?: RegExp): void {
  assert.equal(reply.status, status, reply.text);
  assert.equal(reply.json?.error?.code, code, reply.text);
  if (message !== undefined) assert.match(reply.json.error.message, message);
}

/** Every line of `before` is in `after`, in order: an edit added lines and changed none. */
function keepsEveryLine(before: string, after: string): void {
  const later = after.split('\n');
  let at = 0;
  for (const line of before.split('\n')) {
    const found = later.indexOf(line, at);
    assert.ok(found >= 0, `the line ${JSON.stringify(line)} is gone or moved:\n${after}`);
    at = found + 1;
  }
}

function cli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [fulcrumBin, ...args], { cwd: REPO, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

/** The sum of a Prometheus counter's samples whose labels include `labels` (`a="b"` pieces). */
function counter(text: string, name: string, labels: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(labels)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

describe('management API: one node with users', () => {
  let dir: string;
  let configPath: string;
  let original: string;
  let node: FulcrumNode;
  let backends: Backends;
  let adminPort: number;
  let webPort: number;
  let a: string, b: string, c: string;
  let anonymous: Caller;
  let admin: Caller;
  let adminSession: { cookie: string; csrf: string };
  /** An admin token made before the restart, to show it survives one. */
  let adminToken: string;

  const file = (): Promise<string> => readFile(configPath, 'utf8');
  const status = async (): Promise<StatusDocument> => {
    const reply = await admin.call<StatusDocument>('GET', '/api/v1/status');
    assert.equal(reply.status, 200, reply.text);
    return reply.json;
  };

  before(async () => {
    backends = await startBackends(3);
    [a, b, c] = backends.servers.map((s) => s.address) as [string, string, string];
    [adminPort, webPort] = [await freePort(), await freePort()];
    const [apiPort, dnsPort] = [await freePort(), await freePort()];
    dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-management-'));
    configPath = path.join(dir, 'edge.yaml');
    original = [
      '# Fulcrum config for the management API tests',
      'workers: 2',
      'accessLog: off',
      '',
      'admin:',
      `  listen: 127.0.0.1:${adminPort}   # loopback only`,
      '',
      'pools:',
      '  # the application farm, shared',
      '  - name: farm',
      '    realServers:',
      `      - address: ${a}   # rack 1`,
      `      - address: ${b}   # rack 2`,
      '',
      'virtualServices:',
      '  - name: web            # the public site',
      `    listen: 127.0.0.1:${webPort}`,
      '    protocol: http',
      '    scheduler: round-robin',
      '    realServers:',
      '      # node 1',
      `      - address: ${a}   # rack 1`,
      '        weight: 100',
      `      - address: ${b}   # rack 2`,
      '        weight: 100',
      '  - name: api',
      `    listen: 127.0.0.1:${apiPort}`,
      '    protocol: http',
      '    pool: farm',
      '',
      'gslb:',
      `  listen: [127.0.0.1:${dnsPort}]`,
      '  zones:',
      '    - name: surveyor.lab',
      '      nameServers: [ns1.surveyor.lab]',
      '      hostmaster: hostmaster@surveyor.lab',
      '      records: [{ name: ns1, type: A, value: 192.0.2.53 }]',
      '  fqdns:',
      '    - name: www.surveyor.lab   # balanced',
      '      sites:',
      '        - { name: primary, address: 192.0.2.10 }',
      '        - { name: drc, address: 198.51.100.20 }',
      '',
    ].join('\n');
    await writeFile(configPath, original);
    node = await startNode(configPath, { FULCRUM_ADMIN_USER: 'root', FULCRUM_ADMIN_PASSWORD: ROOT_PASSWORD });
    anonymous = caller(adminPort, null);
  });

  after(async () => {
    await node?.stop();
    await backends?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('the OpenAPI document, the JSON Schema and the console need no credentials; everything else does', async () => {
    assert.ok(node.logs.some((l) => /created the first admin "root"/.test(String(l.msg))), 'the start log says the first admin was created');
    const openapi = await anonymous.call('GET', '/api/v1/openapi.json');
    assert.equal(openapi.status, 200);
    assert.match(openapi.json.openapi, /^3\.1\./);
    for (const route of ROUTES) assert.ok(openapi.json.paths[route.path]?.[route.method.toLowerCase()] !== undefined, `${route.method} ${route.path} in the document`);
    const schema = await anonymous.call('GET', '/api/v1/schema');
    assert.equal(schema.status, 200);
    assert.deepEqual(schema.json, JSON.parse(await readFile(path.join(REPO, 'schema/fulcrum.schema.json'), 'utf8')));
    const page = await anonymous.call('GET', '/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);

    expectError(await anonymous.call('GET', '/api/v1/status'), 401, 'FULCRUM_ERR_ADMIN_UNAUTHENTICATED', /log in \(POST \/api\/v1\/session\) or send Authorization: Bearer TOKEN/);
    expectError(await anonymous.call('GET', '/metrics'), 401, 'FULCRUM_ERR_ADMIN_UNAUTHENTICATED');
    expectError(await anonymous.call('PUT', `/api/v1/pools/farm/real-servers/${a}/state`, { state: 'drain' }), 401, 'FULCRUM_ERR_ADMIN_UNAUTHENTICATED');
    expectError(await caller(adminPort, { token: 'fulcrum_0123456789abcdef_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' }).call('GET', '/api/v1/status'), 401, 'FULCRUM_ERR_ADMIN_UNAUTHENTICATED', /unknown, revoked or expired/);
  });

  it('log in: 200 with an HttpOnly, SameSite=Strict session cookie (not Secure over http); a wrong password and an unknown user get the same 401', async () => {
    const reply = await anonymous.call('POST', '/api/v1/session', { user: 'root', password: ROOT_PASSWORD });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual([reply.json.user, reply.json.role], ['root', 'admin']);
    assert.match(reply.json.csrfToken, /^\S{20,}$/);
    assert.ok(Date.parse(reply.json.expiresAt) > Date.now());
    const { cookie, attributes } = sessionCookie(reply);
    assert.match(cookie, /^fulcrum_session=[^;]{20,}$/);
    assert.match(attributes, /(^|; )HttpOnly(;|$)/);
    assert.match(attributes, /(^|; )SameSite=Strict(;|$)/);
    assert.match(attributes, /(^|; )Path=\/(;|$)/);
    assert.doesNotMatch(attributes, /Secure/);
    adminSession = { cookie, csrf: reply.json.csrfToken };
    admin = caller(adminPort, adminSession);

    const me = await admin.call('GET', '/api/v1/session');
    assert.deepEqual(me.json, { user: 'root', role: 'admin', via: 'session', csrfToken: adminSession.csrf });

    const wrong = await anonymous.call('POST', '/api/v1/session', { user: 'root', password: 'not the password at all' });
    const unknown = await anonymous.call('POST', '/api/v1/session', { user: 'nobody', password: 'not the password at all' });
    expectError(wrong, 401, 'FULCRUM_ERR_ADMIN_UNAUTHENTICATED');
    assert.deepEqual(unknown.json, wrong.json, 'the answer does not tell whether the user exists');
    assert.equal(wrong.headers['set-cookie'], undefined);
    expectError(await anonymous.call('POST', '/api/v1/session', { user: 'root' }), 400, 'FULCRUM_ERR_ADMIN_BAD_REQUEST');
  });

  it('a write with the session cookie needs X-CSRF-Token; a write from the page of another origin is refused', async () => {
    const vera = { name: 'vera', role: 'viewer', password: PASSWORD };
    const bare = await request(adminPort, 'POST', '/api/v1/users', { body: vera, headers: { cookie: adminSession.cookie } });
    expectError(bare, 403, 'FULCRUM_ERR_ADMIN_CSRF', /X-CSRF-Token/);
    const forged = await request(adminPort, 'POST', '/api/v1/users', { body: vera, headers: { cookie: adminSession.cookie, 'x-csrf-token': 'guessed' } });
    expectError(forged, 403, 'FULCRUM_ERR_ADMIN_CSRF');
    const elsewhere = await admin.call('POST', '/api/v1/users', vera, { origin: 'http://evil.example' });
    expectError(elsewhere, 403, 'FULCRUM_ERR_ADMIN_CSRF', /another origin \(http:\/\/evil\.example\)/);
    assert.deepEqual((await admin.call('GET', '/api/v1/users')).json.map((u: { name: string }) => u.name), ['root'], 'none of these created the user');

    const created = await admin.call('POST', '/api/v1/users', vera, { origin: `http://127.0.0.1:${adminPort}` });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers.location, '/api/v1/users/vera');
    assert.deepEqual([created.json.name, created.json.role], ['vera', 'viewer']);
    assert.equal((await admin.call('POST', '/api/v1/users', { name: 'otto', role: 'operator', password: PASSWORD })).status, 201);
    expectError(await admin.call('POST', '/api/v1/users', vera), 409, 'FULCRUM_ERR_ADMIN_EXISTS');
    expectError(await admin.call('POST', '/api/v1/users', { name: 'short', role: 'viewer', password: 'short' }), 400, 'FULCRUM_ERR_ADMIN_BAD_REQUEST', /at least 12/);
    expectError(await admin.call('POST', '/api/v1/users', { name: 'x', role: 'root', password: PASSWORD }), 400, 'FULCRUM_ERR_ADMIN_BAD_REQUEST', /role must be one of viewer, operator, admin/);

    const users = await admin.call('GET', '/api/v1/users');
    assert.deepEqual(users.json.map((u: { name: string; role: string }) => [u.name, u.role]), [['otto', 'operator'], ['root', 'admin'], ['vera', 'viewer']]);
    assert.deepEqual(Object.keys(users.json[0]).sort(), ['createdAt', 'lastLogin', 'name', 'role']);
    assert.ok(users.json[1].lastLogin !== null, 'root has logged in');
    assert.doesNotMatch(users.text, /scrypt|passphrase/);
  });

  it('users: change a role and a password (an admin, or the user for their own password); the last admin cannot go', async () => {
    const vera = caller(adminPort, await login(adminPort, 'vera', PASSWORD));
    expectError(await vera.call('PUT', '/api/v1/users/vera', { role: 'admin' }), 403, 'FULCRUM_ERR_ADMIN_FORBIDDEN');
    expectError(await vera.call('PUT', '/api/v1/users/otto', { password: 'another long password' }), 403, 'FULCRUM_ERR_ADMIN_FORBIDDEN');
    // Her own password, logged in, with the current one (a token or a stolen cookie alone cannot).
    expectError(await vera.call('PUT', '/api/v1/users/vera', { password: 'a new passphrase for vera' }), 403, 'FULCRUM_ERR_ADMIN_FORBIDDEN', /currentPassword/);
    const own = await vera.call('PUT', '/api/v1/users/vera', { password: 'a new passphrase for vera', currentPassword: PASSWORD });
    assert.equal(own.status, 200, own.text);
    expectError(await vera.call('GET', '/api/v1/session'), 401, 'FULCRUM_ERR_ADMIN_UNAUTHENTICATED', /expired or was ended/);
    await login(adminPort, 'vera', 'a new passphrase for vera');
    assert.equal((await admin.call('PUT', '/api/v1/users/vera', { password: PASSWORD })).status, 200);

    const promoted = await admin.call('PUT', '/api/v1/users/otto', { role: 'admin' });
    assert.equal(promoted.json.role, 'admin', promoted.text);
    assert.equal((await admin.call('PUT', '/api/v1/users/otto', { role: 'operator' })).json.role, 'operator');
    expectError(await admin.call('PUT', '/api/v1/users/nobody', { role: 'viewer' }), 404, 'FULCRUM_ERR_ADMIN_NOT_FOUND');
    expectError(await admin.call('PUT', '/api/v1/users/root', { role: 'viewer' }), 409, 'FULCRUM_ERR_ADMIN_IN_USE');
    expectError(await admin.call('DELETE', '/api/v1/users/root'), 409, 'FULCRUM_ERR_ADMIN_IN_USE');
    expectError(await admin.call('DELETE', '/api/v1/users/nobody'), 404, 'FULCRUM_ERR_ADMIN_NOT_FOUND');
  });

  it('roles: a viewer reads and cannot write (403); an operator drains a real server but cannot edit the config; an admin can', async () => {
    const viewer = caller(adminPort, await login(adminPort, 'vera', PASSWORD));
    const operator = caller(adminPort, await login(adminPort, 'otto', PASSWORD));
    const drainA = `/api/v1/virtual-services/web/real-servers/${encodeURIComponent(a)}/state`;

    assert.equal((await viewer.call('GET', '/api/v1/status')).status, 200);
    assert.equal((await viewer.call('GET', '/api/v1/virtual-services/web')).status, 200);
    assert.equal((await viewer.call('GET', '/api/v1/config')).status, 200);
    const web = (await viewer.call('GET', '/api/v1/virtual-services/web')).json;
    for (const [method, route, body] of [
      ['PUT', drainA, { state: 'drain' }],
      ['PUT', '/api/v1/virtual-services/web', web],
      ['POST', '/api/v1/pools', { name: 'spare', realServers: [{ address: c }] }],
      ['PUT', '/api/v1/gslb/fqdns/www.surveyor.lab/sites/drc/state', { state: 'disabled' }],
      ['POST', '/api/v1/users', { name: 'eve', role: 'admin', password: PASSWORD }],
    ] as const) {
      expectError(await viewer.call(method, route, body), 403, 'FULCRUM_ERR_ADMIN_FORBIDDEN', /the role viewer cannot/);
    }
    for (const route of ['/api/v1/users', '/api/v1/audit', '/api/v1/backup']) expectError(await viewer.call('GET', route), 403, 'FULCRUM_ERR_ADMIN_FORBIDDEN');
    assert.equal(await file(), original, 'nothing a viewer asked changed the file');

    const drained = await operator.call('PUT', drainA, { state: 'drain' });
    assert.equal(drained.status, 200, drained.text);
    assert.deepEqual([drained.json.virtualService, drained.json.pool, drained.json.realServer.state, drained.json.changed], ['web', 'web', 'drain', true]);
    const line = `      - address: ${a}   # rack 1\n        weight: 100\n`;
    assert.equal(await file(), original.replace(line, `      - address: ${a}   # rack 1\n        state: drain\n        weight: 100\n`), 'one line added, comments and spacing kept');
    const site = await operator.call('PUT', '/api/v1/gslb/fqdns/www.surveyor.lab/sites/drc/state', { state: 'disabled' });
    assert.equal(site.status, 200, site.text);
    assert.equal(site.json.status.name, 'drc');
    expectError(await operator.call('PUT', '/api/v1/virtual-services/web', web), 403, 'FULCRUM_ERR_ADMIN_FORBIDDEN', /it needs admin/);
    expectError(await operator.call('PUT', '/api/v1/config', original, { 'content-type': 'application/yaml' }), 403, 'FULCRUM_ERR_ADMIN_FORBIDDEN');
    expectError(await operator.call('POST', '/api/v1/pools/farm/real-servers', { address: c }), 403, 'FULCRUM_ERR_ADMIN_FORBIDDEN');
    expectError(await operator.call('GET', '/api/v1/users'), 403, 'FULCRUM_ERR_ADMIN_FORBIDDEN');

    const enabled = await admin.call('PUT', drainA, { state: 'enabled' });
    assert.equal(enabled.json.realServer.state, 'enabled', enabled.text);
    assert.equal((await admin.call('PUT', '/api/v1/gslb/fqdns/www.surveyor.lab/sites/drc/state', { state: 'enabled' })).status, 200);
    const doc = await status();
    assert.deepEqual(doc.virtualServices[0]!.realServers.map((r) => r.state), ['enabled', 'enabled']);
    assert.equal(doc.gslb?.fqdns[0]?.sites.find((s) => s.name === 'drc')?.up, true);
  });

  it('API tokens: shown once with the fulcrum_ prefix, used as Bearer, listed without secrets, revoked at once; never above the owner\'s role', async () => {
    const created = await admin.call('POST', '/api/v1/tokens', { name: 'deploy script', role: 'operator', expiresIn: '30d' });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(Object.keys(created.json).sort(), ['createdAt', 'expiresAt', 'id', 'name', 'role', 'token', 'user']);
    const { id, token } = created.json as { id: string; token: string };
    assert.match(token, /^fulcrum_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.ok(Math.abs(Date.parse(created.json.expiresAt) - (Date.now() + 30 * 86_400_000)) < 60_000);

    const script = caller(adminPort, { token });
    assert.deepEqual((await script.call('GET', '/api/v1/session')).json, { user: 'root', role: 'operator', via: 'token' });
    const drain = await script.call('PUT', `/api/v1/pools/farm/real-servers/${encodeURIComponent(b)}/state`, { state: 'drain' });
    assert.equal(drain.status, 200, 'a token needs no CSRF token');
    assert.equal((await script.call('PUT', `/api/v1/pools/farm/real-servers/${encodeURIComponent(b)}/state`, { state: 'enabled' })).status, 200);
    expectError(await script.call('GET', '/api/v1/users'), 403, 'FULCRUM_ERR_ADMIN_FORBIDDEN', /the role operator/);

    const listed = await admin.call('GET', '/api/v1/tokens');
    assert.equal(listed.status, 200);
    const entry = listed.json.find((t: { id: string }) => t.id === id);
    assert.deepEqual(Object.keys(entry).sort(), ['createdAt', 'expiresAt', 'id', 'lastUsed', 'name', 'role', 'user']);
    assert.ok(entry.lastUsed !== null);
    assert.equal(listed.text.includes(token.slice(-43)), false, 'the secret is never listed');

    const viewer = caller(adminPort, await login(adminPort, 'vera', PASSWORD));
    expectError(await viewer.call('POST', '/api/v1/tokens', { name: 'escalate', role: 'admin' }), 403, 'FULCRUM_ERR_ADMIN_FORBIDDEN', /a viewer cannot create a token with the role admin/);
    const own = await viewer.call('POST', '/api/v1/tokens', { name: 'dashboard', role: 'viewer' });
    assert.equal(own.status, 201, own.text);
    assert.deepEqual((await viewer.call('GET', '/api/v1/tokens')).json.map((t: { name: string }) => t.name), ['dashboard'], 'a viewer sees only their own tokens');
    expectError(await viewer.call('DELETE', `/api/v1/tokens/${id}`), 404, 'FULCRUM_ERR_ADMIN_NOT_FOUND');
    expectError(await viewer.call('POST', '/api/v1/tokens', { name: 'forever', role: 'viewer', expiresIn: '10y' }), 400, 'FULCRUM_ERR_ADMIN_BAD_REQUEST');

    const revoked = await admin.call('DELETE', `/api/v1/tokens/${id}`);
    assert.equal(revoked.status, 204);
    expectError(await script.call('GET', '/api/v1/status'), 401, 'FULCRUM_ERR_ADMIN_UNAUTHENTICATED', /unknown, revoked or expired/);

    const kept = await admin.call('POST', '/api/v1/tokens', { name: 'restart check', role: 'admin', expiresIn: '1d' });
    assert.equal(kept.status, 201);
    adminToken = kept.json.token;
  });

  it('log out: DELETE /api/v1/session answers 204 and clears the cookie; the cookie is refused afterwards', async () => {
    const session = await login(adminPort, 'root', ROOT_PASSWORD);
    const out = await caller(adminPort, session).call('DELETE', '/api/v1/session');
    assert.equal(out.status, 204);
    assert.match(sessionCookie(out).attributes, /Max-Age=0/);
    expectError(await caller(adminPort, session).call('GET', '/api/v1/session'), 401, 'FULCRUM_ERR_ADMIN_UNAUTHENTICATED');
    assert.equal((await admin.call('GET', '/api/v1/session')).status, 200, 'other sessions go on');
  });

  it('login rate limiting: after 5 wrong passwords for one user, the 6th attempt is 429 with Retry-After, even with the right password', async () => {
    assert.equal((await admin.call('POST', '/api/v1/users', { name: 'lotte', role: 'viewer', password: PASSWORD })).status, 201);
    for (let i = 1; i <= 5; i++) expectError(await anonymous.call('POST', '/api/v1/session', { user: 'lotte', password: `wrong password ${i}` }), 401, 'FULCRUM_ERR_ADMIN_UNAUTHENTICATED');
    const locked = await anonymous.call('POST', '/api/v1/session', { user: 'lotte', password: PASSWORD });
    expectError(locked, 429, 'FULCRUM_ERR_ADMIN_RATE_LIMITED', /too many failed logins for this user name/);
    const retryAfter = Number(locked.headers['retry-after']);
    assert.ok(retryAfter > 60 && retryAfter <= 15 * 60, `Retry-After ${locked.headers['retry-after']}`);
    assert.equal(locked.headers['set-cookie'], undefined);
    await login(adminPort, 'vera', PASSWORD); // another user of the same address is not locked out
  });

  it('an edit keeps the comments of the file and the spacing before them', async () => {
    const before = await file();
    const created = await admin.call('POST', '/api/v1/pools', { name: 'spare', realServers: [{ address: c }] });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers.location, '/api/v1/pools/spare');
    const after = await file();
    keepsEveryLine(before, after);
    assert.match(after, /  listen: 127\.0\.0\.1:\d+   # loopback only\n/);
    assert.match(after, /- name: spare/);
    const removed = await admin.call('DELETE', '/api/v1/pools/spare');
    assert.equal(removed.status, 200, removed.text);
    assert.equal(await file(), before, 'adding and removing an item gives the file back byte for byte');
  });

  it('a stale ETag: PUT and DELETE with an If-Match that is no longer current get 412 and change nothing', async () => {
    const before = await file();
    const first = await admin.call('GET', '/api/v1/virtual-services/web');
    const stale = first.headers.etag!;
    assert.match(stale, /^"[^"]+"$/);
    const changed = await admin.call('PUT', '/api/v1/virtual-services/web', { ...first.json, scheduler: 'least-connections' }, { 'if-match': stale });
    assert.equal(changed.status, 200, changed.text);
    assert.notEqual(changed.headers.etag, stale);
    assert.equal((await admin.call('GET', '/api/v1/virtual-services/web')).headers.etag, changed.headers.etag, 'the answer carries the new ETag');
    const text = await file();
    assert.equal(text, before.replace('    scheduler: round-robin\n', '    scheduler: least-connections\n'), 'one line changed; the comments inside the item are kept');
    const { generation } = await status();

    expectError(await admin.call('PUT', '/api/v1/virtual-services/web', { ...first.json, scheduler: 'random-two-choices' }, { 'if-match': stale }), 412, 'FULCRUM_ERR_ADMIN_PRECONDITION', /changed since it was read/);
    expectError(await admin.call('DELETE', '/api/v1/virtual-services/web', undefined, { 'if-match': stale }), 412, 'FULCRUM_ERR_ADMIN_PRECONDITION');
    const config = await admin.call('GET', '/api/v1/config');
    assert.equal((await admin.call('PUT', '/api/v1/config', text, { 'content-type': 'application/yaml', 'if-match': '"not-the-revision"' })).status, 412);
    assert.equal(await file(), text, 'the file is as it was');
    const after = await status();
    assert.equal(after.generation, generation, 'nothing was applied');
    assert.equal(after.virtualServices[0]!.scheduler, 'least-connections', 'the workers run the edit that was current');
    assert.equal(config.headers.etag, (await admin.call('GET', '/api/v1/config')).headers.etag);
  });

  it('an invalid body is 400 with JSON paths relative to the item; the running config and the file stay as they were', async () => {
    const text = await file();
    const { generation } = await status();
    const web = (await admin.call('GET', '/api/v1/virtual-services/web')).json;

    const weight = await admin.call('PUT', '/api/v1/virtual-services/web', { ...web, realServers: [{ ...web.realServers[0], weight: -1 }, web.realServers[1]] });
    expectError(weight, 400, 'FULCRUM_ERR_CONFIG_INVALID', /nothing was changed/);
    assert.equal(weight.json.error.problems[0].path, '$.realServers[0].weight');
    assert.equal(weight.json.error.problems[0].configPath, '$.virtualServices[0].realServers[0].weight');
    assert.ok(weight.json.error.problems[0].line > 0, 'the problem says where in the file');

    const typo = await admin.call('PUT', '/api/v1/virtual-services/web', { ...web, schedular: 'random' });
    expectError(typo, 400, 'FULCRUM_ERR_CONFIG_INVALID');
    assert.equal(typo.json.error.problems[0].path, '$.schedular');
    assert.equal(typo.json.error.problems[0].suggestion, 'scheduler');

    const server = await admin.call('POST', '/api/v1/pools/farm/real-servers', { address: c, weight: -1 });
    expectError(server, 400, 'FULCRUM_ERR_CONFIG_INVALID');
    assert.equal(server.json.error.problems[0].path, '$.weight');

    expectError(await admin.call('POST', '/api/v1/virtual-services', { listen: '127.0.0.1:1' }), 400, 'FULCRUM_ERR_ADMIN_BAD_REQUEST', /needs "name"/);
    expectError(await admin.call('PUT', '/api/v1/virtual-services/web', { ...web, name: 'renamed' }), 400, 'FULCRUM_ERR_ADMIN_BAD_REQUEST', /to rename/);
    expectError(await admin.call('PUT', '/api/v1/config', 'virtualServices: [', { 'content-type': 'application/yaml' }), 400, 'FULCRUM_ERR_CONFIG_INVALID');
    expectError(await admin.call('PUT', '/api/v1/virtual-services/web', '{"name": web}'), 400, 'FULCRUM_ERR_ADMIN_BAD_REQUEST', /not JSON/);

    assert.equal(await file(), text, 'the file is byte for byte as it was');
    assert.equal((await status()).generation, generation, 'the workers run what they ran');

    // Valid, but the workers cannot apply it (the address is taken): the file is put back.
    const taken = await admin.call('POST', '/api/v1/virtual-services', { name: 'clash', listen: c, protocol: 'http', realServers: [{ address: a }] });
    expectError(taken, 409, 'FULCRUM_ERR_RELOAD_FAILED', /the config was put back as it was/);
    assert.equal(await file(), text);
    const after = await status();
    assert.equal(after.generation, generation);
    assert.deepEqual(after.virtualServices.map((v) => v.name), ['web', 'api']);
  });

  it('a dry run answers the diff it would make and changes nothing', async () => {
    const text = await file();
    const { generation } = await status();
    const versions = (await admin.call('GET', '/api/v1/config/versions')).json.length;
    const web = (await admin.call('GET', '/api/v1/virtual-services/web')).json;

    const dry = await admin.call('PUT', '/api/v1/virtual-services/web?dryRun=true', { ...web, scheduler: 'random-two-choices' });
    assert.equal(dry.status, 200, dry.text);
    assert.deepEqual([dry.json.dryRun, dry.json.changed, dry.json.generation], [true, true, null]);
    assert.match(dry.json.diff, /^-    scheduler: least-connections$/m);
    assert.match(dry.json.diff, /^\+    scheduler: random-two-choices$/m);
    const removal = await admin.call('DELETE', '/api/v1/virtual-services/api?dryRun=true');
    assert.equal(removal.status, 200, removal.text);
    assert.match(removal.json.diff, /^-  - name: api$/m);
    const whole = await admin.call('PUT', '/api/v1/config?dryRun=true', text.replace('accessLog: off', 'accessLog: off   # quiet'), { 'content-type': 'application/yaml' });
    assert.match(whole.json.diff, /^\+accessLog: off   # quiet$/m);
    expectError(await admin.call('PUT', '/api/v1/config?dryRun=maybe', text, { 'content-type': 'application/yaml' }), 400, 'FULCRUM_ERR_ADMIN_BAD_REQUEST');

    assert.equal(await file(), text);
    assert.equal((await status()).generation, generation);
    assert.equal((await admin.call('GET', '/api/v1/config/versions')).json.length, versions);
  });

  it('virtual services, pools and real servers: list, create, get, replace, delete; each change reaches the workers', async () => {
    const list = await admin.call('GET', '/api/v1/virtual-services');
    assert.deepEqual(list.json.map((v: { name: string }) => v.name), ['web', 'api']);
    expectError(await admin.call('GET', '/api/v1/virtual-services/wbe'), 404, 'FULCRUM_ERR_ADMIN_NOT_FOUND', /did you mean "web"\?/);
    const extraPort = await freePort();
    const extra = { name: 'extra', listen: `127.0.0.1:${extraPort}`, protocol: 'http', realServers: [{ address: c }] };
    const created = await admin.call('POST', '/api/v1/virtual-services', extra);
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers.location, '/api/v1/virtual-services/extra');
    assert.ok(created.json.generation > 1);
    assert.equal((await get(extraPort)).status, 200, 'the new service takes traffic');
    expectError(await admin.call('POST', '/api/v1/virtual-services', extra), 409, 'FULCRUM_ERR_ADMIN_EXISTS');
    const one = await admin.call('GET', '/api/v1/virtual-services/extra');
    assert.deepEqual(one.json, extra);
    const replaced = await admin.call('PUT', '/api/v1/virtual-services/extra', { ...extra, scheduler: 'random-two-choices' }, { 'if-match': one.headers.etag! });
    assert.equal(replaced.status, 200, replaced.text);
    assert.equal((await status()).virtualServices.find((v) => v.name === 'extra')?.scheduler, 'random-two-choices');
    assert.equal((await admin.call('DELETE', '/api/v1/virtual-services/extra')).status, 200);
    assert.equal((await status()).virtualServices.some((v) => v.name === 'extra'), false);

    assert.deepEqual((await admin.call('GET', '/api/v1/pools')).json.map((p: { name: string }) => p.name), ['farm']);
    assert.equal((await admin.call('POST', '/api/v1/pools', { name: 'spare', realServers: [{ address: c }] })).status, 201);
    const spare = await admin.call('GET', '/api/v1/pools/spare');
    assert.deepEqual(spare.json, { name: 'spare', realServers: [{ address: c }] });
    assert.equal((await admin.call('PUT', '/api/v1/pools/spare', { name: 'spare', scheduler: 'least-connections', realServers: [{ address: c }] }, { 'if-match': spare.headers.etag! })).status, 200);
    assert.equal((await status()).pools.find((p) => p.name === 'spare')?.scheduler, 'least-connections');
    const inUse = await admin.call('DELETE', '/api/v1/pools/farm');
    assert.ok(inUse.status === 409 || inUse.status === 400, inUse.text);
    assert.match(inUse.json.error.message, /farm/);
    assert.equal((await admin.call('DELETE', '/api/v1/pools/spare')).status, 200);

    const servers = await admin.call('GET', '/api/v1/pools/farm/real-servers');
    assert.deepEqual(servers.json.map((r: { address: string }) => r.address), [a, b]);
    assert.deepEqual((await admin.call('GET', '/api/v1/pools/web/real-servers')).json.map((r: { address: string }) => r.address), [a, b], 'an inline pool by its virtual service\'s name');
    const added = await admin.call('POST', '/api/v1/pools/farm/real-servers', { address: c, weight: 10 });
    assert.equal(added.status, 201, added.text);
    assert.equal(added.headers.location, `/api/v1/pools/farm/real-servers/${encodeURIComponent(c)}`);
    const rs = await admin.call('GET', `/api/v1/pools/farm/real-servers/${encodeURIComponent(c)}`);
    assert.deepEqual(rs.json, { address: c, weight: 10 });
    assert.equal((await admin.call('PUT', `/api/v1/pools/farm/real-servers/${encodeURIComponent(c)}`, { weight: 50 }, { 'if-match': rs.headers.etag! })).status, 200);
    const drained = await admin.call('PUT', `/api/v1/pools/farm/real-servers/${encodeURIComponent(c)}/state`, { state: 'drain' });
    assert.deepEqual([drained.status, drained.json.realServer?.weight, drained.json.realServer?.state], [200, 50, 'drain'], drained.text);
    assert.equal((await admin.call('DELETE', `/api/v1/pools/farm/real-servers/${encodeURIComponent(c)}`)).status, 200);
    assert.deepEqual((await status()).pools.find((p) => p.name === 'farm')?.realServers.map((r) => r.address), [a, b]);
    expectError(await admin.call('GET', '/api/v1/pools/nope/real-servers'), 404, 'FULCRUM_ERR_ADMIN_NOT_FOUND');
  });

  it('gslb: the section, its balanced names, and a site taken out and put back', async () => {
    const section = await admin.call('GET', '/api/v1/gslb');
    assert.equal(section.status, 200, section.text);
    assert.deepEqual(section.json.fqdns.map((f: { name: string }) => f.name), ['www.surveyor.lab']);
    const withTtl = { ...section.json, fqdns: [{ ...section.json.fqdns[0], ttl: 7 }] };
    const replaced = await admin.call('PUT', '/api/v1/gslb', withTtl, { 'if-match': section.headers.etag! });
    assert.equal(replaced.status, 200, replaced.text);
    assert.match(replaced.json.diff, /ttl: 7/);

    assert.deepEqual((await admin.call('GET', '/api/v1/gslb/fqdns')).json.map((f: { name: string }) => f.name), ['www.surveyor.lab']);
    const ntrip = { name: 'ntrip.surveyor.lab', sites: [{ name: 'be', address: '192.0.2.11' }] };
    const created = await admin.call('POST', '/api/v1/gslb/fqdns', ntrip);
    assert.equal(created.status, 201, created.text);
    const one = await admin.call('GET', `/api/v1/gslb/fqdns/${encodeURIComponent('NTRIP.surveyor.lab.')}`);
    assert.deepEqual(one.json, ntrip, 'any case, the final dot optional');
    const moved = await admin.call('PUT', '/api/v1/gslb/fqdns/ntrip.surveyor.lab', { ...ntrip, sites: [{ name: 'be', address: '192.0.2.12' }] }, { 'if-match': one.headers.etag! });
    assert.equal(moved.status, 200, moved.text);
    const inStatus = (await status()).gslb?.fqdns.find((f) => f.name === 'ntrip.surveyor.lab');
    assert.deepEqual(inStatus?.sites.map((s) => s.addresses), [['192.0.2.12']]);
    const out = await admin.call('PUT', '/api/v1/gslb/fqdns/ntrip.surveyor.lab/sites/be/state', { state: 'disabled' });
    assert.deepEqual([out.status, out.json.status?.up], [200, false], out.text);
    expectError(await admin.call('PUT', '/api/v1/gslb/fqdns/ntrip.surveyor.lab/sites/nope/state', { state: 'enabled' }), 404, 'FULCRUM_ERR_ADMIN_NOT_FOUND');
    assert.equal((await admin.call('DELETE', '/api/v1/gslb/fqdns/ntrip.surveyor.lab')).status, 200);
    assert.deepEqual((await status()).gslb?.fqdns.map((f) => f.name), ['www.surveyor.lab']);
  });

  it('a virtual service\'s rules, GSLB zones and a balanced name\'s sites: list, create, get, replace, delete', async () => {
    const text = await file();
    assert.deepEqual((await admin.call('GET', '/api/v1/virtual-services/web/rules')).json, []);
    const rule = { name: 'static', match: { path: { prefix: '/static/' } }, pool: 'farm' };
    const created = await admin.call('POST', '/api/v1/virtual-services/web/rules', rule);
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers.location, '/api/v1/virtual-services/web/rules/static');
    assert.deepEqual((await status()).virtualServices[0]!.rules.map((r) => [r.name, r.pool]), [['static', 'farm']]);
    assert.equal((await get(webPort, '/static/logo.png')).status, 200);
    const one = await admin.call('GET', '/api/v1/virtual-services/web/rules/static');
    assert.deepEqual(one.json, rule);
    const moved = await admin.call('PUT', '/api/v1/virtual-services/web/rules/static', { ...rule, match: { path: { prefix: '/assets/' } } }, { 'if-match': one.headers.etag! });
    assert.equal(moved.status, 200, moved.text);
    assert.deepEqual((await admin.call('GET', '/api/v1/virtual-services/web/rules')).json.map((r: { match: unknown }) => r.match), [{ path: { prefix: '/assets/' } }]);
    const broken = await admin.call('POST', '/api/v1/virtual-services/web/rules', { name: 'bad', match: { path: { regex: '(' } }, pool: 'farm' });
    expectError(broken, 400, 'FULCRUM_ERR_CONFIG_INVALID');
    assert.match(broken.json.error.problems[0].path, /^\$\.match\.path\.regex/);
    assert.equal((await admin.call('DELETE', '/api/v1/virtual-services/web/rules/static')).status, 200);
    expectError(await admin.call('GET', '/api/v1/virtual-services/nope/rules'), 404, 'FULCRUM_ERR_ADMIN_NOT_FOUND');

    assert.deepEqual((await admin.call('GET', '/api/v1/gslb/zones')).json.map((z: { name: string }) => z.name), ['surveyor.lab']);
    const zone = { name: 'example.test', nameServers: ['ns1.example.net'], hostmaster: 'hostmaster@example.test' };
    assert.equal((await admin.call('POST', '/api/v1/gslb/zones', zone)).status, 201);
    const gotZone = await admin.call('GET', '/api/v1/gslb/zones/EXAMPLE.test.');
    assert.deepEqual(gotZone.json, zone);
    assert.equal((await admin.call('PUT', '/api/v1/gslb/zones/example.test', { ...zone, nameServers: ['ns2.example.net'] }, { 'if-match': gotZone.headers.etag! })).status, 200);
    assert.equal((await admin.call('DELETE', '/api/v1/gslb/zones/example.test')).status, 200);

    const sites = '/api/v1/gslb/fqdns/www.surveyor.lab/sites';
    assert.deepEqual((await admin.call('GET', sites)).json.map((x: { name: string }) => x.name), ['primary', 'drc']);
    assert.equal((await admin.call('POST', sites, { name: 'third', address: '203.0.113.5' })).status, 201);
    const third = await admin.call('GET', `${sites}/third`);
    assert.deepEqual(third.json, { name: 'third', address: '203.0.113.5' });
    assert.equal((await admin.call('PUT', `${sites}/third`, { name: 'third', address: '203.0.113.6', weight: 5 }, { 'if-match': third.headers.etag! })).status, 200);
    const inStatus = (await status()).gslb?.fqdns[0]?.sites.find((x) => x.name === 'third');
    assert.deepEqual([inStatus?.addresses, inStatus?.weight], [['203.0.113.6'], 5]);
    assert.equal((await admin.call('DELETE', `${sites}/third`)).status, 200);
    assert.equal(await file(), text, 'each item added and removed again: the file is as it was');
  });

  it('the whole config: as written (JSON and YAML), replaced as YAML, its versions, and the restore of an older one that the workers then run', async () => {
    const text = await file();
    const json = await admin.call('GET', '/api/v1/config');
    assert.equal(json.status, 200);
    assert.equal(json.json.virtualServices[0].name, 'web');
    const yaml = await admin.call('GET', '/api/v1/config?format=yaml');
    assert.match(String(yaml.headers['content-type']), /^application\/yaml/);
    assert.equal(yaml.text, text);
    assert.equal(yaml.headers.etag, json.headers.etag);

    const next = text.replace('accessLog: off', 'accessLog: off   # replaced whole');
    const put = await admin.call('PUT', '/api/v1/config', next, { 'content-type': 'application/yaml', 'if-match': json.headers.etag!, 'x-fulcrum-client': 'cli' });
    assert.equal(put.status, 200, put.text);
    assert.equal(await file(), next);
    assert.equal(put.headers.etag, `"${put.json.revision}"`);

    const versions = await admin.call('GET', '/api/v1/config/versions');
    const list = versions.json as Array<{ id: number; revision: string; createdAt: string; user: string; source: string; summary: string; current: boolean }>;
    assert.ok(list.length >= 10, `a version per change: ${list.length}`);
    assert.deepEqual(list.map((v) => v.id), [...list.map((v) => v.id)].sort((x, y) => y - x), 'newest first');
    assert.deepEqual([list[0]!.id, list[0]!.user, list[0]!.source, list[0]!.current], [put.json.version, 'root', 'cli', true]);
    const first = list.at(-1)!;
    assert.deepEqual([first.user, first.source, first.summary, first.current], ['system', 'start', 'in service at start', false]);
    assert.ok(list.some((v) => v.user === 'otto' && /drain/.test(v.summary)), 'an operator\'s drain is a version too');

    const old = await admin.call('GET', `/api/v1/config/versions/${first.id}`);
    assert.equal(old.json.text, original);
    assert.match(old.json.diffToCurrent, /^\+accessLog: off   # replaced whole$/m);
    expectError(await admin.call('GET', '/api/v1/config/versions/999999'), 404, 'FULCRUM_ERR_ADMIN_NOT_FOUND');

    const { generation } = await status();
    const restored = await admin.call('POST', `/api/v1/config/versions/${first.id}/restore`);
    assert.equal(restored.status, 200, restored.text);
    assert.equal(await file(), original, 'the file is the old version, text for text');
    const now = await status();
    assert.equal(now.generation, generation + 1);
    assert.equal(now.virtualServices[0]!.scheduler, 'round-robin', 'the workers run the old version');
    const newest = (await admin.call('GET', '/api/v1/config/versions')).json[0];
    assert.deepEqual([newest.source, newest.current, newest.revision], ['restore', true, first.revision]);
  });

  it('certificates: upload (201, listed with its expiry), a key that does not match (400), delete', async () => {
    const cert = await readFile(fixture('www.surveyor.lab.rsa.pem'), 'utf8');
    const key = await readFile(fixture('www.surveyor.lab.rsa.key'), 'utf8');
    const uploaded = await admin.call('POST', '/api/v1/certificates', { name: 'surveyor', cert, key });
    assert.equal(uploaded.status, 201, uploaded.text);
    assert.equal(uploaded.headers.location, '/api/v1/certificates/surveyor');
    assert.deepEqual([uploaded.json.names, uploaded.json.notAfter], [['www.surveyor.lab'], '2125-01-01T00:00:00.000Z']);
    const list = await admin.call('GET', '/api/v1/certificates');
    assert.deepEqual(list.json.map((u: { name: string; notAfter: string; uploaded: boolean; usedBy: string[] }) => [u.name, u.notAfter, u.uploaded, u.usedBy]), [['surveyor', '2125-01-01T00:00:00.000Z', true, []]]);
    assert.ok(list.json[0].daysLeft > 30_000);
    const one = (await admin.call('GET', '/api/v1/certificates/surveyor')).json;
    assert.deepEqual([one.name, one.names, one.notAfter], ['surveyor', ['www.surveyor.lab'], '2125-01-01T00:00:00.000Z']);
    assert.match(one.issuer, /Intermediate/i);
    expectError(await admin.call('POST', '/api/v1/certificates', { name: 'surveyor', cert, key }), 409, 'FULCRUM_ERR_ADMIN_EXISTS');

    const mismatched = await admin.call('POST', '/api/v1/certificates', { name: 'bad', cert, key: await readFile(fixture('mismatched.key'), 'utf8') });
    assert.equal(mismatched.status, 400, mismatched.text);
    assert.match(mismatched.json.error.message, /key/i);
    expectError(await admin.call('GET', '/api/v1/certificates/bad'), 404, 'FULCRUM_ERR_ADMIN_NOT_FOUND');
    expectError(await admin.call('POST', '/api/v1/certificates', { name: '../escape', cert, key }), 400, 'FULCRUM_ERR_ADMIN_BAD_REQUEST');

    const removed = await admin.call('DELETE', '/api/v1/certificates/surveyor');
    assert.equal(removed.status, 200, removed.text);
    expectError(await admin.call('GET', '/api/v1/certificates/surveyor'), 404, 'FULCRUM_ERR_ADMIN_NOT_FOUND');
  });

  it('metrics need a token of any role and are Prometheus text summed over both workers; statistics history by range', async () => {
    const viewerToken = (await admin.call('POST', '/api/v1/tokens', { name: 'prometheus', role: 'viewer', expiresIn: '1d' })).json.token;
    const prometheus = caller(adminPort, { token: viewerToken });
    const scrape = async (): Promise<string> => {
      const reply = await prometheus.call('GET', '/metrics');
      assert.equal(reply.status, 200, reply.text);
      assert.match(String(reply.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      return reply.text;
    };
    const web = (text: string): number => counter(text, 'fulcrum_requests_total', 'virtual_service="web"');
    const before = web(await scrape());
    assert.equal((await status()).workers.length, 2);
    for (let i = 0; i < 20; i++) assert.equal((await get(webPort)).status, 200);
    const text = await waitFor(scrape, (t) => web(t) === before + 20, 5000, 'the 20 requests in the metrics');
    assert.match(text, /^# TYPE fulcrum_requests_total counter$/m);
    assert.match(text, /^fulcrum_real_server_requests_total\{/m);

    const history = await prometheus.call('GET', '/api/v1/stats?range=10m&virtualService=web');
    assert.equal(history.status, 200, history.text);
    assert.equal((await prometheus.call('GET', '/api/v1/stats?range=24h')).status, 200);
    const bad = await prometheus.call('GET', '/api/v1/stats?range=1y');
    expectError(bad, 400, 'FULCRUM_ERR_ADMIN_BAD_REQUEST');
    assert.deepEqual(bad.json.error.allowed, ['10m', '24h']);
  });

  it('the audit log: each change with its diff, logins and failed logins, refusals, with user and address', async () => {
    const reply = await admin.call('GET', '/api/v1/audit?limit=1000');
    assert.equal(reply.status, 200);
    const entries = reply.json as Array<{ id: number; at: string; user: string; address: string; action: string; target: string; outcome: string; detail: string | null; diff: string | null }>;
    assert.deepEqual(Object.keys(entries[0]!).sort(), ['action', 'address', 'at', 'detail', 'diff', 'id', 'outcome', 'target', 'user']);
    const find = (what: string, match: (e: (typeof entries)[number]) => boolean) => {
      const found = entries.find(match);
      assert.ok(found !== undefined, `${what} in the audit log`);
      return found;
    };
    find('root\'s login', (e) => e.action === 'login' && e.user === 'root' && e.outcome === 'ok' && e.address === '127.0.0.1');
    find('a failed login with the name tried', (e) => e.action === 'login' && e.user === 'nobody' && e.outcome === 'failed' && e.address === '127.0.0.1');
    find('the refused login', (e) => e.action === 'login' && e.user === 'lotte' && e.outcome === 'denied');
    const drain = find('the operator\'s drain', (e) => e.action === 'realServer.state' && e.user === 'otto' && e.outcome === 'ok');
    assert.match(drain.diff ?? '', /^\+        state: drain$/m);
    find('the admin\'s edit with its diff', (e) => e.action === 'virtualService.replace' && e.user === 'root' && e.outcome === 'ok' && /^\+    scheduler: least-connections$/m.test(e.diff ?? ''));
    find('the invalid change', (e) => e.action === 'virtualService.replace' && e.outcome === 'failed' && /invalid/.test(e.detail ?? ''));
    find('the viewer\'s refused write', (e) => e.user === 'vera' && e.outcome === 'denied');
    find('the user created', (e) => e.action === 'user.add' && e.target === 'vera');
    find('the token created', (e) => e.action === 'token.create' && e.target === 'deploy script');
    find('the restore', (e) => e.action === 'config.restore' && e.diff !== null);
    assert.ok(entries.every((e, i) => i === 0 || e.id < entries[i - 1]!.id), 'newest first');

    const page = await admin.call('GET', '/api/v1/audit?limit=2');
    assert.equal(page.json.length, 2);
    const next = await admin.call('GET', `/api/v1/audit?limit=2&before=${page.json[1].id}`);
    assert.ok(next.json[0].id < page.json[1].id);
  });

  it('backup, then restore: a deleted user and a changed config come back', async () => {
    const backup = await admin.call('GET', '/api/v1/backup');
    assert.equal(backup.status, 200, backup.text);
    assert.match(String(backup.headers['content-disposition']), /^attachment; filename="fulcrum-backup-/);
    assert.equal(backup.json.format, 'fulcrum-backup');
    assert.equal(backup.json.config.text, await file());
    assert.deepEqual(backup.json.users.map((u: { name: string }) => u.name), ['lotte', 'otto', 'root', 'vera']);
    assert.doesNotMatch(backup.text, new RegExp(PASSWORD));

    assert.equal((await admin.call('DELETE', '/api/v1/users/otto')).status, 204);
    expectError(await anonymous.call('POST', '/api/v1/session', { user: 'otto', password: PASSWORD }), 401, 'FULCRUM_ERR_ADMIN_UNAUTHENTICATED');
    const web = (await admin.call('GET', '/api/v1/virtual-services/web')).json;
    assert.equal((await admin.call('PUT', '/api/v1/virtual-services/web', { ...web, scheduler: 'random-two-choices' })).status, 200);
    assert.notEqual(await file(), backup.json.config.text);

    expectError(await admin.call('POST', '/api/v1/restore', { format: 'something else' }), 400, 'FULCRUM_ERR_ADMIN_BAD_REQUEST');
    const restored = await admin.call('POST', '/api/v1/restore', backup.json);
    assert.equal(restored.status, 200, restored.text);
    assert.equal(restored.json.users, 4);
    assert.equal(await file(), backup.json.config.text);
    // Sessions are not in a backup: a restore ends them all.
    expectError(await admin.call('GET', '/api/v1/session'), 401, 'FULCRUM_ERR_ADMIN_UNAUTHENTICATED');
    adminSession = await login(adminPort, 'root', ROOT_PASSWORD);
    admin = caller(adminPort, adminSession);
    assert.equal((await status()).virtualServices[0]!.scheduler, 'round-robin');
    await login(adminPort, 'otto', PASSWORD);
    assert.deepEqual((await admin.call('GET', '/api/v1/users')).json.map((u: { name: string }) => u.name), ['lotte', 'otto', 'root', 'vera']);
    assert.equal((await caller(adminPort, { token: adminToken }).call('GET', '/api/v1/session')).status, 200, 'tokens come back with their users');
  });

  it('a restart keeps users, tokens, config versions and the audit log; the token still works', async () => {
    const users = (await admin.call('GET', '/api/v1/users')).json;
    const versions = (await admin.call('GET', '/api/v1/config/versions')).json.map((v: { id: number }) => v.id);
    const audit = (await admin.call('GET', '/api/v1/audit?limit=1000')).json.map((e: { id: number }) => e.id);
    const text = await file();
    await node.stop();
    node = await startNode(configPath);
    assert.equal(node.logs.some((l) => /no users/.test(String(l.msg))), false);

    const script = caller(adminPort, { token: adminToken });
    assert.deepEqual((await script.call('GET', '/api/v1/session')).json, { user: 'root', role: 'admin', via: 'token' });
    assert.deepEqual((await script.call('GET', '/api/v1/users')).json, users);
    assert.deepEqual((await script.call('GET', '/api/v1/config/versions')).json.map((v: { id: number }) => v.id), versions, 'the same text at start is not a new version');
    const afterAudit = (await script.call('GET', '/api/v1/audit?limit=1000')).json.map((e: { id: number }) => e.id);
    assert.deepEqual(afterAudit.slice(afterAudit.length - audit.length), audit);
    assert.equal(await file(), text);
    admin = caller(adminPort, await login(adminPort, 'vera', PASSWORD));
    assert.equal((await admin.call('GET', '/api/v1/status')).status, 200);
  });

  it('every route of the API answered one of these requests with a success', () => {
    assert.deepEqual(ROUTES.filter((r) => !served.has(r.id)).map((r) => `${r.method} ${r.path}`), []);
  });
});

describe('management API over HTTPS (admin.tls)', () => {
  let dir: string;
  let node: FulcrumNode;
  let port: number;
  let tls: { ca: string; servername: string };

  before(async () => {
    port = await freePort();
    dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-management-tls-'));
    const configPath = path.join(dir, 'fulcrum.yaml');
    await writeFile(
      configPath,
      [
        'workers: 1',
        'accessLog: off',
        'admin:',
        `  listen: 127.0.0.1:${port}`,
        '  tls:',
        `    certificates: [{ cert: ${fixture('www.surveyor.lab.rsa.pem')}, key: ${fixture('www.surveyor.lab.rsa.key')} }]`,
        '  metrics: { public: true }',
        'virtualServices:',
        '  - name: web',
        `    listen: 127.0.0.1:${await freePort()}`,
        '    protocol: http',
        `    realServers: [{ address: 127.0.0.1:${await freePort()} }]`,
        '',
      ].join('\n'),
    );
    node = await startNode(configPath, { FULCRUM_ADMIN_USER: 'root', FULCRUM_ADMIN_PASSWORD: ROOT_PASSWORD });
    tls = { ca: await readFile(fixture('root-ca.pem'), 'utf8'), servername: 'www.surveyor.lab' };
  });
  after(async () => {
    await node?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('answers over HTTPS with its certificate; the session cookie carries Secure', async () => {
    const doc = await request(port, 'GET', '/api/v1/openapi.json', { tls });
    assert.equal(doc.status, 200);
    const session = await request(port, 'POST', '/api/v1/session', { tls, body: { user: 'root', password: ROOT_PASSWORD } });
    assert.equal(session.status, 200, session.text);
    const { cookie, attributes } = sessionCookie(session);
    assert.match(attributes, /(^|; )Secure(;|$)/);
    assert.match(attributes, /HttpOnly/);
    const me = await request(port, 'GET', '/api/v1/session', { tls, headers: { cookie } });
    assert.equal(me.json.via, 'session');
    await assert.rejects(request(port, 'GET', '/api/v1/openapi.json', { tls: { ...tls, ca: await readFile(fixture('internal-ca.pem'), 'utf8') } }), /certificate/);
  });

  it('with admin.metrics.public, /metrics needs no token', async () => {
    const metrics = await request(port, 'GET', '/metrics', { tls });
    assert.equal(metrics.status, 200, metrics.text);
    assert.match(metrics.text, /^fulcrum_/m);
    assert.equal((await request(port, 'GET', '/api/v1/status', { tls })).status, 401, 'only /metrics is public');
  });
});

describe('the admin listener is safe by default', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-management-safe-'));
  });
  after(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const config = async (name: string, admin: string[]): Promise<string> => {
    const configPath = path.join(dir, name);
    await writeFile(configPath, ['workers: 1', 'accessLog: off', 'admin:', ...admin, 'virtualServices:', '  - name: web', `    listen: 127.0.0.1:${await freePort()}`, '    protocol: http', `    realServers: [{ address: 127.0.0.1:${await freePort()} }]`, ''].join('\n'));
    return configPath;
  };

  it('fulcrum check refuses an admin listener off loopback without TLS, naming admin.tls', async () => {
    const configPath = await config('open.yaml', [`  listen: 0.0.0.0:${await freePort()}`]);
    const run = await cli(['check', '-c', configPath]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout + run.stderr, /admin\.listen: the admin listener on 0\.0\.0\.0 is reachable from the network, so it needs tls \(admin\.tls\.certificates\)/);
  });

  it('off loopback with TLS but without users, the start fails and says to run fulcrum user add', async () => {
    const configPath = await config('nousers.yaml', [`  listen: 0.0.0.0:${await freePort()}`, '  tls:', `    certificates: [{ cert: ${fixture('www.surveyor.lab.rsa.pem')}, key: ${fixture('www.surveyor.lab.rsa.key')} }]`]);
    const failed = await startFailure(configPath);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /start failed: the admin listener on 0\.0\.0\.0:\d+ is reachable from the network, and there are no users yet: create the first admin with `fulcrum user add NAME --role admin -c /);
  });

  it('a first admin whose password is too short is refused at start, not created', async () => {
    const configPath = await config('short.yaml', [`  listen: 127.0.0.1:${await freePort()}`]);
    const failed = await startFailure(configPath, { FULCRUM_ADMIN_USER: 'root', FULCRUM_ADMIN_PASSWORD: 'short' });
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /FULCRUM_ADMIN_PASSWORD: the password has 5 characters; use at least 12/);
  });

  // Not tested: that a client from another address is refused on an API without users. Every
  // address a test can bind here (127.0.0.0/8) is loopback, which isLoopback rightly accepts.
  it('on loopback without users, every loopback client is admin (via loopback), and the start log says so', async () => {
    const port = await freePort();
    const node = await startNode(await config('open-loopback.yaml', [`  listen: 127.0.0.1:${port}`]));
    try {
      assert.ok(node.logs.some((l) => /no users: the admin API answers only on loopback, where every client is admin/.test(String(l.msg))), node.stderr());
      const me = await request(port, 'GET', '/api/v1/session');
      assert.deepEqual(me.json, { user: 'local', role: 'admin', via: 'loopback' });
      assert.equal((await request(port, 'GET', '/api/v1/users')).status, 200);
      const token = await request(port, 'POST', '/api/v1/tokens', { body: { name: 'ci', role: 'admin' } });
      assert.equal(token.status, 409, token.text);
      assert.match(token.json.error.message, /fulcrum user add/);
      const elsewhere = await request(port, 'PUT', '/api/v1/config', { body: 'x: 1', contentType: 'application/yaml', headers: { origin: 'http://evil.example' } });
      expectError(elsewhere, 403, 'FULCRUM_ERR_ADMIN_CSRF', /another origin/);
    } finally {
      await node.stop();
    }
  });
});
