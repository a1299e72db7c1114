/**
 * The admin API's route table: it holds exactly the routes docs/api.md promises, with the roles
 * the doc gives them, and matchRoute finds them (parameters decoded, 405 with Allow, 404, 400 on a
 * broken percent-encoding).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { compileRoutes, matchRoute, ROUTES, type RouteMatch, type RoutePermission, type RouteSpec } from '../../src/admin/route-table.ts';

interface DocRoute {
  method: string;
  path: string;
  permission: RoutePermission;
}

/** The rows of the "## Routes" table of docs/api.md, one per method. */
function documentedRoutes(): DocRoute[] {
  const text = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
  const section = text.slice(text.indexOf('## Routes'));
  const rows = section
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| method') && !line.startsWith('|---'))
    .map((line) => line.split(/(?<!\\)\|/).map((cell) => cell.trim()).slice(1, -1));
  assert.ok(rows.length >= 30, `the routes table has ${rows.length} rows; the parser no longer reads it`);
  return rows.flatMap(([methods, path, role]) =>
    methods!.split(',').map((m) => {
      const method = m.trim();
      return { method, path: path!, permission: permissionOf(role!, method) };
    }),
  );
}

/** "viewer / admin": the first for reads, the second for writes; "any" is any logged-in role. */
function permissionOf(role: string, method: string): RoutePermission {
  const parts = role.split(' / ');
  const word = (method === 'GET' ? parts[0]! : parts.at(-1)!).split(/[\s(]/)[0]!;
  const byWord: Record<string, RoutePermission> = { none: 'public', any: 'authenticated', viewer: 'read', operator: 'operate', admin: 'administer', owner: 'authenticated' };
  const permission = byWord[word];
  assert.ok(permission !== undefined, `docs/api.md names an unknown role "${role}"`);
  return permission;
}

/** Routes the table opens wider than the doc's role column, because the handler narrows them. */
const NARROWED_BY_HANDLER: Record<string, RoutePermission> = {
  // "admin (or the user, for the password)": every user reaches the handler, which allows a non-admin their own password only.
  'PUT /api/v1/users/{name}': 'authenticated',
};
/** Routes not (yet) in docs/api.md's table. */
const UNDOCUMENTED = new Set(['GET /api/v1/schema']);

const key = (r: { method: string; path: string }): string => `${r.method} ${r.path}`;

test('every route of docs/api.md is in the table with its role, and the table has no other', () => {
  const documented = documentedRoutes();
  const table = new Map(ROUTES.map((r) => [key(r), r]));
  for (const doc of documented) {
    const route = table.get(key(doc));
    assert.ok(route !== undefined, `docs/api.md lists ${key(doc)}, the route table does not`);
    assert.equal(route.permission, NARROWED_BY_HANDLER[key(doc)] ?? doc.permission, `${key(doc)}: permission`);
  }
  const documentedKeys = new Set(documented.map(key));
  const extra = ROUTES.map(key).filter((k) => !documentedKeys.has(k) && !UNDOCUMENTED.has(k));
  assert.deepEqual(extra, [], 'routes in the table that docs/api.md does not list');
});

test('route ids are the stable names the handlers use, each once', () => {
  const expected = [
    'session.create', 'session.get', 'session.delete', 'users.list', 'users.create', 'users.update', 'users.delete',
    'tokens.list', 'tokens.create', 'tokens.delete', 'status.get', 'stats.get',
    'virtualServices.list', 'virtualServices.create', 'virtualServices.get', 'virtualServices.replace', 'virtualServices.delete', 'virtualServices.realServerState',
    'pools.list', 'pools.create', 'pools.get', 'pools.replace', 'pools.delete',
    'realServers.list', 'realServers.create', 'realServers.get', 'realServers.replace', 'realServers.delete', 'realServers.state',
    'certificates.list', 'certificates.create', 'certificates.get', 'certificates.delete',
    'rules.list', 'rules.create', 'rules.get', 'rules.replace', 'rules.delete',
    'zones.list', 'zones.create', 'zones.get', 'zones.replace', 'zones.delete',
    'sites.list', 'sites.create', 'sites.get', 'sites.replace', 'sites.delete',
    'gslb.get', 'gslb.replace', 'fqdns.list', 'fqdns.create', 'fqdns.get', 'fqdns.replace', 'fqdns.delete', 'sites.state',
    'config.get', 'config.replace', 'versions.list', 'versions.get', 'versions.restore',
    'audit.list', 'backup.get', 'restore.create', 'openapi.get', 'metrics.get', 'schema.get', 'console.get',
  ];
  const ids = ROUTES.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length, 'duplicate route ids');
  assert.deepEqual([...ids].sort(), [...expected].sort());
  assert.equal(ROUTES.find((r) => r.id === 'metrics.get')?.path, '/metrics');
});

test('item reads and writes answer ETags; every config-changing write takes dryRun', () => {
  const collections = /^(virtualServices|rules|pools|realServers|certificates|zones|fqdns|sites)\.(get|replace|delete)$/;
  const etag = ROUTES.filter((r) => r.etag === true).map((r) => r.id);
  assert.deepEqual(etag.sort(), ROUTES.filter((r) => collections.test(r.id) || /^(gslb|config)\.(get|replace)$/.test(r.id)).map((r) => r.id).sort());
  const writes = /^(virtualServices|rules|pools|realServers|certificates|zones|fqdns|sites)\.(create|replace|delete)$|^(gslb\.replace|config\.replace|versions\.restore|restore\.create)$/;
  const dryRun = ROUTES.filter((r) => r.dryRun === true).map((r) => r.id);
  assert.deepEqual(dryRun.sort(), ROUTES.filter((r) => writes.test(r.id)).map((r) => r.id).sort());
  assert.ok(dryRun.length >= 18);
  for (const route of ROUTES.filter((r) => r.dryRun === true)) assert.notEqual(route.method, 'GET', route.id);
});

const idOf = (match: RouteMatch | null): string | undefined => (match !== null && 'route' in match ? match.route.id : undefined);

test('matchRoute finds a route and decodes its parameters', () => {
  const ipv6 = matchRoute('PUT', '/api/v1/pools/web/real-servers/%5B2001%3Adb8%3A%3A1%5D%3A8080/state');
  assert.ok(ipv6 !== null && 'route' in ipv6);
  assert.equal(ipv6.route.id, 'realServers.state');
  assert.deepEqual(ipv6.params, { pool: 'web', address: '[2001:db8::1]:8080' });

  const plain = matchRoute('GET', '/api/v1/pools/web/real-servers/10.0.0.5:80');
  assert.ok(plain !== null && 'route' in plain);
  assert.deepEqual(plain.params, { pool: 'web', address: '10.0.0.5:80' });

  // An encoded slash stays inside its segment: it is part of the name, not a path separator.
  const slash = matchRoute('GET', '/api/v1/virtual-services/a%2Fb');
  assert.ok(slash !== null && 'route' in slash);
  assert.equal(slash.route.id, 'virtualServices.get');
  assert.deepEqual(slash.params, { name: 'a/b' });

  const site = matchRoute('PUT', '/api/v1/gslb/fqdns/www.example.com./sites/east/state');
  assert.ok(site !== null && 'route' in site);
  assert.equal(site.route.id, 'sites.state');
  assert.deepEqual(site.params, { fqdn: 'www.example.com.', site: 'east' });

  assert.equal(idOf(matchRoute('GET', '/api/v1/gslb/fqdns')), 'fqdns.list');
  assert.equal(idOf(matchRoute('GET', '/api/v1/gslb')), 'gslb.get');
  assert.equal(idOf(matchRoute('POST', '/api/v1/config/versions/7/restore')), 'versions.restore');
  assert.equal(idOf(matchRoute('GET', '/api/v1/config/versions')), 'versions.list');
  assert.equal(idOf(matchRoute('GET', '/metrics')), 'metrics.get');
  assert.equal(idOf(matchRoute('GET', '/')), 'console.get');
  // Static segments may be percent-encoded too (RFC 3986 6.2.2.2).
  assert.equal(idOf(matchRoute('GET', '/api/v1/st%61tus')), 'status.get');
});

test('HEAD is answered by the GET route', () => {
  assert.equal(idOf(matchRoute('HEAD', '/api/v1/status')), 'status.get');
});

test('a path with other methods answers the methods it has (405 Allow)', () => {
  assert.deepEqual(matchRoute('PATCH', '/api/v1/pools/web'), { allow: ['GET', 'HEAD', 'PUT', 'DELETE'] });
  assert.deepEqual(matchRoute('POST', '/api/v1/status'), { allow: ['GET', 'HEAD'] });
  assert.deepEqual(matchRoute('GET', '/api/v1/config/versions/7/restore'), { allow: ['POST'] });
  assert.deepEqual(matchRoute('DELETE', '/api/v1/certificates'), { allow: ['GET', 'HEAD', 'POST'] });
});

test('an unknown path is null, a broken percent-encoding is told apart', () => {
  assert.equal(matchRoute('GET', '/api/v1/nothing'), null);
  assert.equal(matchRoute('GET', '/api/v1'), null, 'a prefix of routes is no route');
  assert.equal(matchRoute('GET', '/api/v1/pools/'), null, 'a trailing slash names no item');
  assert.equal(matchRoute('GET', '/api/v1/pools//real-servers'), null, 'an empty segment fills no parameter');
  assert.equal(matchRoute('GET', '/api/v1/pools/web/real-servers/1.2.3.4:80/extra'), null);
  assert.deepEqual(matchRoute('GET', '/api/v1/pools/%E0%A4%A'), { malformed: '%E0%A4%A' });
  assert.deepEqual(matchRoute('GET', '/api/v1/pools/100%'), { malformed: '100%' });
});

test('a static segment wins over a parameter, and the matcher backtracks when it leads nowhere', () => {
  const routes: RouteSpec[] = [
    { id: 'a.special', method: 'GET', path: '/x/special', permission: 'public', summary: '', responses: {} },
    { id: 'a.item', method: 'GET', path: '/x/{id}', permission: 'public', summary: '', responses: {} },
    { id: 'a.deep', method: 'GET', path: '/x/{id}/deep', permission: 'public', summary: '', responses: {} },
  ];
  const match = compileRoutes(routes);
  assert.equal(idOf(match('GET', '/x/special')), 'a.special');
  assert.equal(idOf(match('GET', '/x/other')), 'a.item');
  const deep = match('GET', '/x/special/deep');
  assert.ok(deep !== null && 'route' in deep);
  assert.equal(deep.route.id, 'a.deep');
  assert.deepEqual(deep.params, { id: 'special' });
});

test('two routes for one method and path are refused when the table is compiled', () => {
  const route: RouteSpec = { id: 'a', method: 'GET', path: '/a/{x}', permission: 'public', summary: '', responses: {} };
  assert.throws(() => compileRoutes([route, { ...route, id: 'b', path: '/a/{y}' }]), /two routes for GET \/a\/\{y\}/);
});
