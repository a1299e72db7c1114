/**
 * Every route of the admin API, as data: method, path, who may call it, its bodies and answers.
 * The server dispatches by this table (matchRoute), openapi.ts documents it, and the tests hold it
 * to docs/api.md, so the API, its document and the console cannot drift apart (Hono's "router as
 * a small interface", fastify's route schemas).
 *
 * Route ids are stable names ('pools.replace'): the handlers are keyed by them, the OpenAPI
 * document uses them as operationId, the audit log may name them.
 */
import type { z } from 'zod';
import type { Permission } from './roles.ts';
import {
  AuditListSchema,
  BackupSchema,
  CertificateListSchema,
  CertificateSchema,
  CertificateUploadSchema,
  ConfigChangeSchema,
  ConfigVersionListSchema,
  ConfigVersionTextSchema,
  ErrorSchema,
  LoginSchema,
  RealServerStateChangeSchema,
  RealServerStateResultSchema,
  SessionSchema,
  SiteStateChangeSchema,
  SiteStateResultSchema,
  StatsSchema,
  StatusSchema,
  TokenCreateSchema,
  TokenCreatedSchema,
  TokenListSchema,
  UserCreateSchema,
  UserListSchema,
  UserSchema,
  UserUpdateSchema,
  WhoAmISchema,
} from './api-schemas.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** public: no credentials; authenticated: any role (the handler may check more, e.g. a token's owner). */
export type RoutePermission = 'public' | 'authenticated' | Permission;

/** The pieces of the config schema the document names (openapi.ts extracts each from the config's JSON Schema). */
export type ConfigComponent = 'Config' | 'VirtualService' | 'Pool' | 'RealServer' | 'HealthCheck' | 'Persistence' | 'Rule' | 'Tls' | 'Gslb' | 'GslbZone' | 'GslbFqdn' | 'GslbSite';

/** A body: an API schema (api-schemas.ts), a config component by name, or a list of one. */
export type BodySchema = z.ZodType | ConfigComponent | `${ConfigComponent}[]` | 'ConfigJsonSchema' | 'OpenApiDocument';

export interface ResponseSpec {
  description: string;
  schema?: BodySchema;
  /** Default application/json. Other types of a body with a JSON schema carry its text (YAML). */
  contentTypes?: string[];
  headers?: Record<string, { description: string; schema?: object }>;
}

export interface QuerySpec {
  description: string;
  /** JSON Schema of the value. */
  schema: object;
}

export interface RouteSpec {
  id: string;
  method: HttpMethod;
  /** '/api/v1/pools/{pool}/real-servers/{address}': each {name} is one path segment, percent-decoded. */
  path: string;
  permission: RoutePermission;
  summary: string;
  description?: string;
  /** What each {param} of the path is. */
  params?: Record<string, string>;
  query?: Record<string, QuerySpec>;
  requestBody?: { schema: BodySchema; description?: string; contentTypes?: string[] };
  responses: Record<number, ResponseSpec>;
  /** Answers an ETag; a PUT or DELETE honours If-Match (412 when stale). */
  etag?: boolean;
  /** Takes ?dryRun=true: validated exactly as a real write, answers the diff, applies nothing. */
  dryRun?: boolean;
}

const API = '/api/v1';

const PARAM = {
  name: 'The virtual service\'s name.',
  pool: 'The pool\'s name (an inline pool has its virtual service\'s name).',
  address: 'The real server\'s address as host:port, IPv6 in brackets ([2001:db8::1]:80), percent-encoded where needed.',
  fqdn: 'The balanced name, e.g. www.example.com (any case, the final dot optional).',
  site: 'The site\'s name.',
} as const;

const CHANGE = (what: string): ResponseSpec => ({ description: `${what}; with dryRun=true, nothing is applied and the answer is the diff it would make.`, schema: ConfigChangeSchema });
const CREATED = (what: string): ResponseSpec => ({
  description: `${what} created.`,
  schema: ConfigChangeSchema,
  headers: { Location: { description: 'The URL of the new item.', schema: { type: 'string' } } },
});
const NO_CONTENT: ResponseSpec = { description: 'Done.' };
/** openapi.ts adds the answers every route shares (400, 401, 403, 404, 412); a route lists its own 409. */
const CONFLICT = (why: string): ResponseSpec => ({ description: why, schema: ErrorSchema });

interface CollectionOptions {
  /** Route id prefix: 'pools'. */
  id: string;
  /** The collection's path. */
  path: string;
  /** The item's path parameter. */
  param: string;
  params: Record<string, string>;
  /** 'pool', 'virtual service' */
  noun: string;
  listSummary: string;
  item: BodySchema;
  list: BodySchema;
  create: { schema: BodySchema; description: string };
  /** What PUT takes; absent: no PUT (a certificate is uploaded again instead). */
  replace?: BodySchema;
  deleteConflict?: string;
}

/** A config collection of the config file's items (a pool, a virtual service, ...), written and read as the file has them. */
function configCollection(o: Omit<CollectionOptions, 'item' | 'list' | 'create' | 'replace'> & { item: ConfigComponent }): RouteSpec[] {
  return collection({
    ...o,
    item: o.item,
    list: `${o.item}[]`,
    create: { schema: o.item, description: `The new ${o.noun}, as it would be written in the config file.` },
    replace: o.item,
  });
}

/** The routes of a collection: list, create, get, replace (when it has one), delete. */
function collection(o: CollectionOptions): RouteSpec[] {
  const itemPath = `${o.path}/{${o.param}}`;
  const { params } = o;
  const routes: RouteSpec[] = [
    { id: `${o.id}.list`, method: 'GET', path: o.path, permission: 'read', summary: o.listSummary, params, responses: { 200: { description: `Every ${o.noun}.`, schema: o.list } } },
    {
      id: `${o.id}.create`,
      method: 'POST',
      path: o.path,
      permission: 'administer',
      summary: `Create a ${o.noun}`,
      params,
      requestBody: o.create,
      responses: { 200: CHANGE('Dry run'), 201: CREATED(`The ${o.noun} was`), 409: CONFLICT(`A ${o.noun} of that name exists already.`) },
      dryRun: true,
    },
    { id: `${o.id}.get`, method: 'GET', path: itemPath, permission: 'read', summary: `One ${o.noun}`, params, responses: { 200: { description: `The ${o.noun}.`, schema: o.item } }, etag: true },
  ];
  if (o.replace !== undefined) {
    routes.push({
      id: `${o.id}.replace`,
      method: 'PUT',
      path: itemPath,
      permission: 'administer',
      summary: `Replace a ${o.noun}`,
      params,
      requestBody: { schema: o.replace, description: `The whole ${o.noun}; keys left out take their defaults.` },
      responses: { 200: CHANGE(`The ${o.noun} was replaced`) },
      etag: true,
      dryRun: true,
    });
  }
  const removed: Record<number, ResponseSpec> = { 200: CHANGE(`The ${o.noun} was removed`) };
  if (o.deleteConflict !== undefined) removed[409] = CONFLICT(o.deleteConflict);
  routes.push({
    id: `${o.id}.delete`,
    method: 'DELETE',
    path: itemPath,
    permission: 'administer',
    summary: `Remove a ${o.noun}`,
    params,
    responses: removed,
    etag: true,
    dryRun: true,
  });
  return routes;
}

const STATE_DESCRIPTION =
  'Written to the config file (comments kept) and applied to every worker; drain keeps persisted clients and takes no new ones, so activeRequests counts down to 0.';

export const ROUTES: readonly RouteSpec[] = [
  // --- sessions, users, tokens ---
  {
    id: 'session.create',
    method: 'POST',
    path: `${API}/session`,
    permission: 'public',
    summary: 'Log in',
    description: 'Sets the fulcrum_session cookie (HttpOnly, SameSite=Strict, Secure over TLS). Failed logins are limited per user and per address.',
    requestBody: { schema: LoginSchema },
    responses: {
      200: { description: 'Logged in.', schema: SessionSchema, headers: { 'Set-Cookie': { description: 'fulcrum_session=...; HttpOnly; SameSite=Strict; Path=/', schema: { type: 'string' } } } },
      401: { description: 'Wrong user or password.', schema: ErrorSchema },
      429: {
        description: 'Too many failed logins for this user or address.',
        schema: ErrorSchema,
        headers: { 'Retry-After': { description: 'Seconds until a login may be tried again.', schema: { type: 'integer' } } },
      },
    },
  },
  { id: 'session.get', method: 'GET', path: `${API}/session`, permission: 'authenticated', summary: 'Who am I', responses: { 200: { description: 'The caller.', schema: WhoAmISchema } } },
  { id: 'session.delete', method: 'DELETE', path: `${API}/session`, permission: 'authenticated', summary: 'Log out', responses: { 204: NO_CONTENT } },
  { id: 'users.list', method: 'GET', path: `${API}/users`, permission: 'administer', summary: 'Users', responses: { 200: { description: 'Every user.', schema: UserListSchema } } },
  {
    id: 'users.create',
    method: 'POST',
    path: `${API}/users`,
    permission: 'administer',
    summary: 'Create a user',
    requestBody: { schema: UserCreateSchema },
    responses: { 201: { description: 'Created.', schema: UserSchema }, 409: CONFLICT('A user of that name exists already.') },
  },
  {
    id: 'users.update',
    method: 'PUT',
    path: `${API}/users/{name}`,
    permission: 'authenticated',
    summary: 'Change a user\'s role or password',
    description: 'An admin may change anything; any user may change their own password (and nothing else).',
    params: { name: 'The user\'s name.' },
    requestBody: { schema: UserUpdateSchema },
    responses: { 200: { description: 'Changed.', schema: UserSchema }, 409: CONFLICT('The last admin cannot lose the admin role.') },
  },
  {
    id: 'users.delete',
    method: 'DELETE',
    path: `${API}/users/{name}`,
    permission: 'administer',
    summary: 'Remove a user',
    description: 'Their sessions and tokens end with them.',
    params: { name: 'The user\'s name.' },
    responses: { 204: NO_CONTENT, 409: CONFLICT('The last admin cannot be removed.') },
  },
  { id: 'tokens.list', method: 'GET', path: `${API}/tokens`, permission: 'authenticated', summary: 'API tokens', description: 'The caller\'s tokens (an admin\'s: everyone\'s), never their secrets.', responses: { 200: { description: 'The tokens.', schema: TokenListSchema } } },
  {
    id: 'tokens.create',
    method: 'POST',
    path: `${API}/tokens`,
    permission: 'authenticated',
    summary: 'Create an API token',
    description: 'The secret is in this answer only. Its role is at most the caller\'s.',
    requestBody: { schema: TokenCreateSchema },
    responses: { 201: { description: 'Created.', schema: TokenCreatedSchema } },
  },
  {
    id: 'tokens.delete',
    method: 'DELETE',
    path: `${API}/tokens/{id}`,
    permission: 'authenticated',
    summary: 'Revoke an API token',
    description: 'Its owner or an admin.',
    params: { id: 'The token\'s id.' },
    responses: { 204: NO_CONTENT },
  },

  // --- runtime ---
  { id: 'status.get', method: 'GET', path: `${API}/status`, permission: 'read', summary: 'Status', description: 'Every virtual service, pool and real server (state, health and why), and GSLB.', responses: { 200: { description: 'The status.', schema: StatusSchema } } },
  {
    id: 'stats.get',
    method: 'GET',
    path: `${API}/stats`,
    permission: 'read',
    summary: 'Statistics history',
    description: 'Per virtual service, or per real server of a pool.',
    query: {
      range: { description: '10m: 1-second points; 24h: 1-minute points.', schema: { type: 'string', enum: ['10m', '24h'], default: '10m' } },
      virtualService: { description: 'A virtual service\'s name.', schema: { type: 'string' } },
      pool: { description: 'A pool\'s name (with realServer).', schema: { type: 'string' } },
      realServer: { description: 'A real server\'s address (with pool).', schema: { type: 'string' } },
    },
    responses: { 200: { description: 'The points.', schema: StatsSchema } },
  },

  // --- config collections ---
  ...configCollection({ id: 'virtualServices', path: `${API}/virtual-services`, param: 'name', params: { name: PARAM.name }, item: 'VirtualService', noun: 'virtual service', listSummary: 'Virtual services' }),
  {
    id: 'virtualServices.realServerState',
    method: 'PUT',
    path: `${API}/virtual-services/{name}/real-servers/{address}/state`,
    permission: 'operate',
    summary: 'Enable, disable or drain a real server of a virtual service\'s pool',
    description: STATE_DESCRIPTION,
    params: { name: PARAM.name, address: PARAM.address },
    requestBody: { schema: RealServerStateChangeSchema },
    responses: { 200: { description: 'The real server after the change.', schema: RealServerStateResultSchema } },
  },
  ...configCollection({ id: 'rules', path: `${API}/virtual-services/{name}/rules`, param: 'rule', params: { name: PARAM.name, rule: 'The rule\'s name.' }, item: 'Rule', noun: 'content rule', listSummary: 'A virtual service\'s content rules, in order (a new one goes last)' }),
  ...configCollection({ id: 'pools', path: `${API}/pools`, param: 'pool', params: { pool: PARAM.pool }, item: 'Pool', noun: 'pool', listSummary: 'Pools', deleteConflict: 'A virtual service or rule still routes to the pool.' }),
  ...configCollection({ id: 'realServers', path: `${API}/pools/{pool}/real-servers`, param: 'address', params: { pool: PARAM.pool, address: PARAM.address }, item: 'RealServer', noun: 'real server', listSummary: 'A pool\'s real servers' }),
  {
    id: 'realServers.state',
    method: 'PUT',
    path: `${API}/pools/{pool}/real-servers/{address}/state`,
    permission: 'operate',
    summary: 'Enable, disable or drain a real server',
    description: STATE_DESCRIPTION,
    params: { pool: PARAM.pool, address: PARAM.address },
    requestBody: { schema: RealServerStateChangeSchema },
    responses: { 200: { description: 'The real server after the change.', schema: RealServerStateResultSchema } },
  },
  ...collection({
    id: 'certificates',
    path: `${API}/certificates`,
    param: 'name',
    params: { name: 'The certificate\'s name.' },
    noun: 'certificate',
    listSummary: 'Certificates in service, with names, issuer and expiry',
    item: CertificateSchema,
    list: CertificateListSchema,
    create: { schema: CertificateUploadSchema, description: 'A certificate and key (PEM), saved into the state folder.' },
    deleteConflict: 'A virtual service still serves the certificate.',
  }),
  { id: 'gslb.get', method: 'GET', path: `${API}/gslb`, permission: 'read', summary: 'The gslb section', responses: { 200: { description: 'Zones, listen addresses, FQDNs, locations.', schema: 'Gslb' } }, etag: true },
  {
    id: 'gslb.replace',
    method: 'PUT',
    path: `${API}/gslb`,
    permission: 'administer',
    summary: 'Replace the gslb section',
    requestBody: { schema: 'Gslb' },
    responses: { 200: CHANGE('The gslb section was replaced') },
    etag: true,
    dryRun: true,
  },
  ...configCollection({ id: 'zones', path: `${API}/gslb/zones`, param: 'zone', params: { zone: 'The zone, e.g. example.com (any case, the final dot optional).' }, item: 'GslbZone', noun: 'GSLB zone', listSummary: 'The zones the DNS server is authoritative for' }),
  ...configCollection({ id: 'sites', path: `${API}/gslb/fqdns/{fqdn}/sites`, param: 'site', params: { fqdn: PARAM.fqdn, site: PARAM.site }, item: 'GslbSite', noun: 'GSLB site', listSummary: 'A balanced name\'s sites' }),
  ...configCollection({ id: 'fqdns', path: `${API}/gslb/fqdns`, param: 'fqdn', params: { fqdn: PARAM.fqdn }, item: 'GslbFqdn', noun: 'balanced name (FQDN)', listSummary: 'Balanced names (FQDNs) with their sites' }),
  {
    id: 'sites.state',
    method: 'PUT',
    path: `${API}/gslb/fqdns/{fqdn}/sites/{site}/state`,
    permission: 'operate',
    summary: 'Put a GSLB site back (manual recovery) or take it out',
    params: { fqdn: PARAM.fqdn, site: PARAM.site },
    requestBody: { schema: SiteStateChangeSchema },
    responses: { 200: { description: 'The site after the change and what DNS answers now.', schema: SiteStateResultSchema } },
  },

  // --- the whole config ---
  {
    id: 'config.get',
    method: 'GET',
    path: `${API}/config`,
    permission: 'read',
    summary: 'The config',
    description: 'For roles other than admin, secrets in it (cookie secrets, credentials in headers) read "(hidden)", and the YAML text is refused.',
    query: {
      format: { description: 'json (default): the config as written, as JSON (what PUT takes back); yaml: the file\'s text, comments included (admin only).', schema: { type: 'string', enum: ['json', 'yaml'], default: 'json' } },
      effective: { description: 'true: the config as loaded, every default filled in (durations in milliseconds, addresses as {host, port}): for reading, not for PUT.', schema: { type: 'boolean', default: false } },
    },
    responses: { 200: { description: 'The config.', schema: 'Config', contentTypes: ['application/json', 'application/yaml'] } },
    etag: true,
  },
  {
    id: 'config.replace',
    method: 'PUT',
    path: `${API}/config`,
    permission: 'administer',
    summary: 'Replace the whole config',
    description: 'Validated like `fulcrum check`, applied to every worker as one transaction, then saved; a config that does not validate changes nothing.',
    requestBody: { schema: 'Config', description: 'JSON, or the YAML text of a config file (comments kept).', contentTypes: ['application/json', 'application/yaml'] },
    responses: { 200: CHANGE('Applied and saved') },
    etag: true,
    dryRun: true,
  },
  { id: 'versions.list', method: 'GET', path: `${API}/config/versions`, permission: 'read', summary: 'Config versions', description: 'The last versions (at least 20).', responses: { 200: { description: 'Newest first.', schema: ConfigVersionListSchema } } },
  {
    id: 'versions.get',
    method: 'GET',
    path: `${API}/config/versions/{id}`,
    permission: 'read',
    summary: 'One config version\'s text',
    params: { id: 'The version\'s id.' },
    responses: { 200: { description: 'The version.', schema: ConfigVersionTextSchema } },
  },
  {
    id: 'versions.restore',
    method: 'POST',
    path: `${API}/config/versions/{id}/restore`,
    permission: 'administer',
    summary: 'Make a config version current',
    description: 'Validated and applied like any change; it becomes a new version.',
    params: { id: 'The version\'s id.' },
    responses: { 200: CHANGE('Restored') },
    dryRun: true,
  },
  {
    id: 'audit.list',
    method: 'GET',
    path: `${API}/audit`,
    permission: 'administer',
    summary: 'The audit log',
    description: 'Every change (who, when, from where, the diff) and every login and failed login.',
    query: {
      limit: { description: 'At most this many entries.', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
      before: { description: 'Entries older than this id (the next page).', schema: { type: 'string' } },
    },
    responses: { 200: { description: 'Newest first.', schema: AuditListSchema } },
  },
  { id: 'backup.get', method: 'GET', path: `${API}/backup`, permission: 'administer', summary: 'Back up', description: 'The config text, the users and the tokens (hashed) in one document.', responses: { 200: { description: 'The backup.', schema: BackupSchema } } },
  {
    id: 'restore.create',
    method: 'POST',
    path: `${API}/restore`,
    permission: 'administer',
    summary: 'Restore a backup',
    description: 'The config is validated and applied like any change; users and tokens are replaced.',
    requestBody: { schema: BackupSchema },
    responses: { 200: CHANGE('Restored') },
    dryRun: true,
  },

  // --- documents ---
  { id: 'openapi.get', method: 'GET', path: `${API}/openapi.json`, permission: 'public', summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1.', schema: 'OpenApiDocument' } } },
  {
    id: 'schema.get',
    method: 'GET',
    path: `${API}/schema`,
    permission: 'public',
    summary: 'The config\'s JSON Schema',
    description: 'The same document as schema/fulcrum.schema.json.',
    responses: { 200: { description: 'JSON Schema 2020-12.', schema: 'ConfigJsonSchema' } },
  },
  {
    id: 'metrics.get',
    method: 'GET',
    path: '/metrics',
    permission: 'authenticated',
    summary: 'Prometheus metrics',
    description: 'Any role; no credentials needed with admin.metrics.public: true. Aggregated over the workers.',
    responses: { 200: { description: 'Prometheus text format 0.0.4.', contentTypes: ['text/plain; version=0.0.4'] } },
  },
  { id: 'console.get', method: 'GET', path: '/', permission: 'public', summary: 'The web console', responses: { 200: { description: 'The console\'s page.', contentTypes: ['text/html'] } } },
];

// --- matching -------------------------------------------------------------------------------

export type RouteMatch =
  | { route: RouteSpec; params: Record<string, string> }
  /** The path exists, the method does not: answer 405 with these in Allow. */
  | { allow: string[] }
  /** A segment of the path is not valid percent-encoding: answer 400. */
  | { malformed: string };

interface Node {
  statics: Map<string, Node>;
  param: Node | null;
  routes: Map<string, { route: RouteSpec; names: string[] }>;
  allow: string[];
}

const newNode = (): Node => ({ statics: new Map(), param: null, routes: new Map(), allow: [] });

/** A table compiled to a segment tree: static segments first, then one parameter per level. */
export function compileRoutes(routes: readonly RouteSpec[]): (method: string, pathname: string) => RouteMatch | null {
  const root = newNode();
  for (const route of routes) {
    let node = root;
    const names: string[] = [];
    for (const segment of segmentsOf(route.path)) {
      const param = /^\{([A-Za-z][A-Za-z0-9]*)\}$/.exec(segment);
      if (param !== null) {
        names.push(param[1]!);
        node = node.param ??= newNode();
      } else {
        let next = node.statics.get(segment);
        if (next === undefined) node.statics.set(segment, (next = newNode()));
        node = next;
      }
    }
    if (node.routes.has(route.method)) throw new Error(`two routes for ${route.method} ${route.path}`);
    node.routes.set(route.method, { route, names });
    // HEAD is GET without a body (RFC 9110 9.3.2).
    node.allow = [...node.routes.keys()].flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
  }

  return (method, pathname) => {
    const raw = segmentsOf(pathname);
    const segments: string[] = [];
    for (const segment of raw) {
      if (!segment.includes('%')) {
        segments.push(segment);
        continue;
      }
      try {
        segments.push(decodeURIComponent(segment));
      } catch {
        return { malformed: segment };
      }
    }
    const values: string[] = [];
    const node = walk(root, segments, 0, values);
    if (node === null) return null;
    const found = node.routes.get(method === 'HEAD' ? 'GET' : method);
    if (found === undefined) return { allow: node.allow };
    const params: Record<string, string> = {};
    found.names.forEach((name, i) => (params[name] = values[i]!));
    return { route: found.route, params };
  };
}

/** Depth first, a static segment before a parameter; an empty segment never fills a parameter. */
function walk(node: Node, segments: readonly string[], index: number, values: string[]): Node | null {
  if (index === segments.length) return node.routes.size > 0 ? node : null;
  const segment = segments[index]!;
  const next = node.statics.get(segment);
  if (next !== undefined) {
    const found = walk(next, segments, index + 1, values);
    if (found !== null) return found;
  }
  if (node.param === null || segment === '') return null;
  values.push(segment);
  const found = walk(node.param, segments, index + 1, values);
  if (found === null) values.pop();
  return found;
}

/** '/' → [], '/api/v1/pools' → ['api', 'v1', 'pools']; a trailing slash leaves an empty last segment (no route has one). */
function segmentsOf(pathname: string): string[] {
  return pathname === '/' ? [] : pathname.slice(1).split('/');
}

const matcher = compileRoutes(ROUTES);

/**
 * The route for a request: its spec and its decoded path parameters; `{ allow }` when the path
 * exists with other methods (405); `{ malformed }` when the path's percent-encoding is broken
 * (400); null when no route has this path (404). HEAD matches GET. `pathname` has no query string.
 */
export function matchRoute(method: string, pathname: string): RouteMatch | null {
  return matcher(method, pathname);
}

/** The route of an id, for handlers and tests; throws on an unknown id (a typo is a bug). */
export function routeById(id: string): RouteSpec {
  const route = ROUTES.find((r) => r.id === id);
  if (route === undefined) throw new Error(`no route ${id}`);
  return route;
}
