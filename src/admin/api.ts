/**
 * The admin API's routes: JSON in, JSON out, errors as `{ "error": { code, message } }` with the
 * stable codes of src/errors.ts. It runs in the supervisor, off the data path; node:http is the
 * right tool for a control plane that serves a few requests a minute.
 *
 *   GET /api/v1/status
 *   PUT /api/v1/pools/{pool}/real-servers/{address}/state               {"state": "drain"}
 *   PUT /api/v1/virtual-services/{name}/real-servers/{address}/state   (the virtual service's pool)
 *   PUT /api/v1/gslb/fqdns/{fqdn}/sites/{site}/state                    {"state": "enabled"}
 */
import { isIP } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { REAL_SERVER_STATES, type RealServerState } from '../config/schema.ts';
import { suggest } from '../config/suggest.ts';
import { ErrorCode } from '../errors.ts';
import type { AdminBackend, ApiFailure, SiteState } from './types.ts';

/** A state change body is a few bytes; anything near this is not one. */
const MAX_BODY_BYTES = 16 * 1024;
const STATUS_PATH = '/api/v1/status';
const STATE_PATH = /^\/api\/v1\/(virtual-services|pools)\/([^/]+)\/real-servers\/([^/]+)\/state$/;
const SITE_STATE_PATH = /^\/api\/v1\/gslb\/fqdns\/([^/]+)\/sites\/([^/]+)\/state$/;

/** What a state body may hold, and the words of its errors. */
interface StateKind<S extends string> {
  allowed: readonly S[];
  noun: string;
  example: S;
}
const REAL_SERVER_STATE: StateKind<RealServerState> = { allowed: REAL_SERVER_STATES, noun: 'real server', example: 'drain' };
/** What an operator sets on a GSLB site (runtime only: the config file is not written). */
const SITE_STATE: StateKind<SiteState> = { allowed: ['enabled', 'disabled'], noun: 'GSLB site', example: 'enabled' };

export function createAdminHandler(backend: AdminBackend): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(backend, req, res).catch((error: unknown) => {
      send(res, 500, { error: { code: ErrorCode.ADMIN_INTERNAL, message: `internal error: ${error instanceof Error ? error.message : String(error)}` } });
    });
  };
}

async function handle(backend: AdminBackend, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const hostProblem = checkHost(req.headers.host);
  if (hostProblem !== null) return failure(res, hostProblem);
  const path = (req.url ?? '/').split('?')[0] ?? '/';

  if (path === STATUS_PATH) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, 'GET');
    return send(res, 200, await backend.status());
  }

  const match = STATE_PATH.exec(path);
  if (match !== null) {
    if (req.method !== 'PUT') return methodNotAllowed(res, 'PUT');
    const kind = match[1] === 'pools' ? 'pool' : 'virtual-service';
    const name = decode(match[2] ?? '');
    const address = decode(match[3] ?? '');
    if (name === null || address === null) {
      return failure(res, { status: 400, code: ErrorCode.ADMIN_BAD_REQUEST, message: 'the path has a malformed percent-encoding' });
    }
    const body = await readJson(req, REAL_SERVER_STATE.example);
    if (!body.ok) return failure(res, body.failure);
    const state = parseStateBody(body.value, REAL_SERVER_STATE);
    if (!state.ok) return failure(res, state.failure);
    const outcome = await backend.setState({ kind, name }, address, state.value);
    if (!outcome.ok) return failure(res, outcome.failure);
    const answer = { ...(kind === 'virtual-service' ? { virtualService: name } : {}), pool: outcome.pool, realServer: outcome.realServer, generation: outcome.generation, changed: outcome.changed };
    return send(res, 200, answer);
  }

  const siteMatch = SITE_STATE_PATH.exec(path);
  if (siteMatch !== null) {
    if (req.method !== 'PUT') return methodNotAllowed(res, 'PUT');
    const fqdn = decode(siteMatch[1] ?? '');
    const site = decode(siteMatch[2] ?? '');
    if (fqdn === null || site === null) {
      return failure(res, { status: 400, code: ErrorCode.ADMIN_BAD_REQUEST, message: 'the path has a malformed percent-encoding' });
    }
    const body = await readJson(req, SITE_STATE.example);
    if (!body.ok) return failure(res, body.failure);
    const state = parseStateBody(body.value, SITE_STATE);
    if (!state.ok) return failure(res, state.failure);
    const outcome = await backend.setSiteState(fqdn, site, state.value);
    if (!outcome.ok) return failure(res, outcome.failure);
    const { ok: _ok, ...answer } = outcome;
    return send(res, 200, answer);
  }

  return failure(res, {
    status: 404,
    code: ErrorCode.ADMIN_NOT_FOUND,
    message:
      `no endpoint ${path}; the API has GET ${STATUS_PATH}, PUT /api/v1/pools/{pool}/real-servers/{address}/state, PUT /api/v1/virtual-services/{name}/real-servers/{address}/state` +
      ' and PUT /api/v1/gslb/fqdns/{fqdn}/sites/{site}/state',
  });
}

/**
 * The API has no authentication yet, so a web page must not reach it through DNS rebinding (a
 * name of the attacker's that resolves to 127.0.0.1 makes the browser treat the API as the
 * page's own origin). Such a request carries the attacker's host name; an IP address or
 * localhost is what an administrator uses.
 */
function checkHost(host: string | undefined): ApiFailure | null {
  if (host === undefined) return null; // HTTP/1.0 clients (scripts) send none; browsers always do
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d*$/, '');
  if (isIP(name) !== 0 || name.toLowerCase() === 'localhost') return null;
  return {
    status: 421,
    code: ErrorCode.ADMIN_HOST,
    message: `the admin API answers requests addressed to an IP address or localhost, not to "${name}" (a guard against DNS rebinding from web pages); use the address of admin.listen`,
  };
}

/** `{"state": ...}` with one of the states `kind` allows (a real server's, or a GSLB site's). */
function parseStateBody<S extends string>(body: unknown, kind: StateKind<S>): { ok: true; value: S } | { ok: false; failure: ApiFailure } {
  const { allowed, noun, example } = kind;
  const bad = (message: string, suggestion?: string): { ok: false; failure: ApiFailure } => {
    const failure: ApiFailure = { status: 400, code: ErrorCode.ADMIN_BAD_REQUEST, message, allowed };
    if (suggestion !== undefined) failure.suggestion = suggestion;
    return { ok: false, failure };
  };
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return bad(`the body must be a JSON object such as {"state": "${example}"}`);
  const extra = Object.keys(body).filter((k) => k !== 'state');
  if (extra.length > 0) return bad(`unknown key ${JSON.stringify(extra[0])} in the body; it takes only "state"`, suggest(extra[0]!, ['state']));
  const state = (body as { state?: unknown }).state;
  if (state === undefined) return bad(`the body has no "state"; send {"state": ${allowed.map((a) => `"${a}"`).join(' | ')}}`);
  if (typeof state !== 'string' || !(allowed as readonly string[]).includes(state)) {
    const suggestion = typeof state === 'string' ? suggest(state, allowed) : undefined;
    const text = `${JSON.stringify(state)} is not a ${noun} state`;
    return bad(`${text}${suggestion === undefined ? ';' : `; did you mean "${suggestion}"?`} allowed: ${allowed.join(', ')}`, suggestion);
  }
  return { ok: true, value: state as S };
}

async function readJson(req: IncomingMessage, example: string): Promise<{ ok: true; value: unknown } | { ok: false; failure: ApiFailure }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      return { ok: false, failure: { status: 413, code: ErrorCode.ADMIN_BAD_REQUEST, message: `the body is larger than ${MAX_BODY_BYTES} bytes` } };
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    const reason = text.trim() === '' ? 'the body is empty' : `the body is not JSON (${error instanceof Error ? error.message : String(error)})`;
    return { ok: false, failure: { status: 400, code: ErrorCode.ADMIN_BAD_REQUEST, message: `${reason}; send {"state": "${example}"} with Content-Type: application/json` } };
  }
}

function decode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow === 'GET' ? 'GET, HEAD' : allow);
  failure(res, { status: 405, code: ErrorCode.ADMIN_METHOD, message: `this endpoint takes ${allow}` });
}

function failure(res: ServerResponse, f: ApiFailure): void {
  const { status, ...error } = f;
  send(res, status, { error });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}
