/**
 * The admin listener's HTTP: every request is checked in this order, then handed to its route's
 * handler (src/admin/handlers) by the route table (route-table.ts, which the OpenAPI document is
 * made from, so the two cannot disagree):
 *
 * 1. Host: an IP address, localhost or one of admin.allowedHosts, else 421 (DNS rebinding: a
 *    page on the attacker's name that resolves to us must not become same-origin with the API);
 * 2. the route: 404, 405 with Allow, 400 for a broken percent-encoding;
 * 3. who is asking (authenticate.ts): a Bearer token, the session cookie, or on an API without
 *    users a loopback client; 401 otherwise;
 * 4. CSRF: a cookie-authenticated write must echo the session's X-CSRF-Token (403);
 * 5. the role: 403, and an audit line for a refused write.
 *
 * Paths outside /api and /metrics are the web console's. No CORS headers are ever sent: another
 * origin's page cannot read an answer. It runs in the supervisor, off the data path; node:http
 * is the right tool for a control plane that serves a few requests a second.
 */
import { isIP } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, FulcrumError } from '../errors.ts';
import { matchRoute, type RouteSpec } from './route-table.ts';
import { allows, type Principal } from './roles.ts';
import type { Authenticator } from './auth/authenticate.ts';
import type { AuditLog } from './audit.ts';
import { failureAnswer, type Answer, type BodyResult, type Handler, type RequestContext } from './handlers/context.ts';
import type { ApiFailure } from './types.ts';
import type { ChangeSource } from '../store/config-store.ts';

/**
 * Body limits by route: a whole config (thousands of virtual services) or a backup fits in
 * 8 MiB, a certificate with its chain and key in 4; everything else (a login, a token, one item)
 * in 1 MiB at most, and 16 KiB before anyone is authenticated.
 */
const BODY_LIMITS: Readonly<Record<string, number>> = {
  'config.replace': 8 * 1024 * 1024,
  'restore.create': 8 * 1024 * 1024,
  'certificates.create': 4 * 1024 * 1024,
  'session.create': 16 * 1024,
};
const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** Requests in progress at once; past it 503 (a control plane serves a few a second; this bounds what slow clients hold). */
const MAX_CONCURRENT = 64;
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Who a public route's handler sees (it checks nothing by role). */
const ANONYMOUS: Principal = { user: 'anonymous', role: 'viewer', via: 'loopback' };

export interface ApiEnv {
  auth: Authenticator;
  audit: AuditLog;
  handlers: Readonly<Record<string, Handler>>;
  /** admin.allowedHosts, lower case. */
  allowedHosts: () => readonly string[];
  /** admin.metrics.public. */
  metricsPublic: () => boolean;
  /** Over TLS (cookies get Secure). */
  secure: () => boolean;
  /** The console's files; false when `req` is not for one. */
  console: (req: IncomingMessage, res: ServerResponse) => boolean;
  log: (fields: Record<string, unknown>, message: string) => void;
}

export function createAdminHandler(env: ApiEnv): (req: IncomingMessage, res: ServerResponse) => void {
  let inProgress = 0;
  return (req, res) => {
    if (inProgress >= MAX_CONCURRENT) {
      send(res, { status: 503, headers: { 'retry-after': '1', connection: 'close' }, body: { error: { code: ErrorCode.ADMIN_UNAVAILABLE, message: 'too many admin requests at once; retry in a second' } } });
      return;
    }
    inProgress++;
    res.once('close', () => inProgress--);
    handle(env, req, res).catch((error: unknown) => {
      // The detail goes to the log; the client learns only that it failed.
      env.log({ method: req.method, url: req.url, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, 'admin API request failed');
      if (error instanceof FulcrumError && error.code === ErrorCode.STATE_DATABASE) {
        send(res, { status: 503, body: { error: { code: error.code, message: 'the state database cannot be used now; the log of the load balancer has the details' } } });
        return;
      }
      send(res, { status: 500, body: { error: { code: ErrorCode.ADMIN_INTERNAL, message: 'internal error; the log of the load balancer has the details' } } });
    });
  };
}

async function handle(env: ApiEnv, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const hostProblem = checkHost(req.headers.host, env.allowedHosts());
  if (hostProblem !== null) return send(res, failureAnswer(hostProblem));
  const url = new URL(req.url ?? '/', 'http://admin');
  const path = url.pathname;
  if (!path.startsWith('/api/') && path !== '/metrics' && env.console(req, res)) return;

  const match = matchRoute(req.method ?? 'GET', path);
  if (match === null) return send(res, failureAnswer({ status: 404, code: ErrorCode.ADMIN_NOT_FOUND, message: `no endpoint ${path}; the API is described at /api/v1/openapi.json` }));
  if ('allow' in match) {
    return send(res, { ...failureAnswer({ status: 405, code: ErrorCode.ADMIN_METHOD, message: `${path} takes ${match.allow.join(', ')}` }), headers: { allow: match.allow.join(', ') } });
  }
  if ('malformed' in match) return send(res, failureAnswer({ status: 400, code: ErrorCode.ADMIN_BAD_REQUEST, message: 'the path has a malformed percent-encoding' }));
  const { route, params } = match;
  const address = normalise(req.socket.remoteAddress ?? '');
  // A browser sends Origin with every write; another origin's page (a CSRF attempt, even against
  // an API without users on loopback) is refused. Scripts and the CLI send none.
  const origin = req.headers.origin;
  if (UNSAFE.has(req.method ?? '') && origin !== undefined && !sameOrigin(origin, req.headers.host)) {
    return send(res, failureAnswer({ status: 403, code: ErrorCode.ADMIN_CSRF, message: `a write from the page of another origin (${origin}) is refused` }));
  }

  let principal = ANONYMOUS;
  const open = route.permission === 'public' || (route.id === 'metrics.get' && env.metricsPublic());
  if (!open) {
    const who = env.auth.authenticate(req, { loopbackOpen: true });
    if (!who.ok) return send(res, failureAnswer(who.failure));
    principal = who.principal;
    const csrf = env.auth.checkCsrf(req, principal);
    if (csrf !== null) return send(res, failureAnswer(csrf));
    if (!permitted(route, principal)) {
      if (UNSAFE.has(req.method ?? '')) env.audit.append({ user: principal.user, address, action: route.id, target: path, outcome: 'denied', detail: `role ${principal.role}` });
      return send(res, failureAnswer({ status: 403, code: ErrorCode.ADMIN_FORBIDDEN, message: `the role ${principal.role} cannot ${route.summary.charAt(0).toLowerCase()}${route.summary.slice(1)} (${req.method} ${route.path}); it needs ${needed(route)}` }));
    }
  }

  const handler = env.handlers[route.id];
  if (handler === undefined) return send(res, failureAnswer({ status: 501, code: ErrorCode.ADMIN_NOT_FOUND, message: `${route.id} is not served by this node` }));
  const ifMatch = req.headers['if-match'];
  const dryRun = url.searchParams.get('dryRun');
  if (dryRun !== null && dryRun !== 'true' && dryRun !== 'false') return send(res, failureAnswer({ status: 400, code: ErrorCode.ADMIN_BAD_REQUEST, message: 'dryRun is true or false' }));
  if (dryRun === 'true' && route.dryRun !== true) return send(res, failureAnswer({ status: 400, code: ErrorCode.ADMIN_BAD_REQUEST, message: `${req.method} ${route.path} has no dry run` }));
  let body: Promise<BodyResult> | null = null;
  const ctx: RequestContext = {
    req,
    params,
    query: url.searchParams,
    principal,
    address,
    dryRun: dryRun === 'true',
    ifMatch: typeof ifMatch === 'string' ? ifMatch.trim() : undefined,
    source: sourceOf(req),
    body: () => (body ??= readBody(req, BODY_LIMITS[route.id] ?? DEFAULT_BODY_LIMIT)),
    secure: env.secure(),
  };
  send(res, await handler(ctx));
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

function permitted(route: RouteSpec, principal: Principal): boolean {
  if (route.permission === 'public' || route.permission === 'authenticated') return true;
  return allows(principal.role, route.permission);
}

function needed(route: RouteSpec): string {
  return route.permission === 'administer' ? 'admin' : route.permission === 'operate' ? 'operator or admin' : 'any role';
}

function sourceOf(req: IncomingMessage): ChangeSource {
  const client = req.headers['x-fulcrum-client'];
  return client === 'console' ? 'console' : client === 'cli' ? 'cli' : 'api';
}

/**
 * Browsers always send Host; a name other than an IP address, localhost or a configured one is a
 * page that rebound its own name to our address. HTTP/1.0 scripts may send none.
 */
function checkHost(host: string | undefined, allowed: readonly string[]): ApiFailure | null {
  if (host === undefined) return null;
  const name = (host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d*$/, '')).toLowerCase();
  if (isIP(name) !== 0 || name === 'localhost' || allowed.includes(name)) return null;
  return {
    status: 421,
    code: ErrorCode.ADMIN_HOST,
    message: `the admin API answers requests addressed to an IP address, localhost or a name in admin.allowedHosts, not to "${name}" (a guard against DNS rebinding from web pages)`,
  };
}

async function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      return { ok: false, failure: { status: 413, code: ErrorCode.ADMIN_BAD_REQUEST, message: `the body is larger than ${limit} bytes` } };
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  // What an HTML form can send: refused, so no page of another site can post a body we would read.
  if (type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data' || type === 'text/plain') {
    return { ok: false, failure: { status: 415, code: ErrorCode.ADMIN_BAD_REQUEST, message: `the body must be JSON (Content-Type: application/json)${type === 'text/plain' ? ' or YAML (application/yaml)' : ''}, not ${type}` } };
  }
  if (type === 'application/yaml' || type === 'text/yaml' || type === 'application/x-yaml') return { ok: true, value: text, contentType: 'yaml' };
  if (text.trim() === '') return { ok: false, failure: { status: 400, code: ErrorCode.ADMIN_BAD_REQUEST, message: 'the body is empty; send JSON with Content-Type: application/json' } };
  try {
    return { ok: true, value: JSON.parse(text) as unknown, contentType: 'json' };
  } catch (error) {
    return { ok: false, failure: { status: 400, code: ErrorCode.ADMIN_BAD_REQUEST, message: `the body is not JSON (${error instanceof Error ? error.message : String(error)}); send JSON with Content-Type: application/json` } };
  }
}

function normalise(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function send(res: ServerResponse, answer: Answer): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string | string[] | number> = {
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...answer.headers,
  };
  let data: string | undefined;
  if (answer.text !== undefined) {
    headers['content-type'] = answer.text.contentType;
    data = answer.text.data;
  } else if (answer.body !== undefined && answer.status !== 204) {
    headers['content-type'] = 'application/json; charset=utf-8';
    data = `${JSON.stringify(answer.body, null, 2)}\n`;
  }
  if (data !== undefined) headers['content-length'] = Buffer.byteLength(data);
  // Bearer, never Basic: a Basic challenge would make browsers open a password dialog over the console.
  if (answer.status === 401) headers['www-authenticate'] = 'Bearer realm="fulcrum"';
  res.writeHead(answer.status, headers);
  res.end(res.req.method === 'HEAD' ? undefined : data);
}
