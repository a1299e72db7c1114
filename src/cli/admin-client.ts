/**
 * One call to the admin API for the CLI: the token as Authorization: Bearer, JSON or YAML bodies,
 * If-Match, and an answer whose failure is already a sentence for the terminal (what went wrong
 * and what to do: a 401 says where a token comes from, a 403 that the role is not enough, an
 * unreachable API whether fulcrum runs there, an untrusted certificate how to pass the CA).
 *
 * node:http rather than fetch: fetch refuses "bad ports" (6000, 10080, ...) an admin may well
 * choose, and loads undici. The modules come from process.getBuiltinModule: an ESM import of
 * node:http also builds its lazy WebSocket exports (undici again), 30 ms of a 0.1 s command.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { AdminConnection } from './admin-target.ts';

export interface AdminRequest {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  path: string;
  /** Sent as application/json. */
  json?: unknown;
  /** Sent as application/yaml (a config file's text, comments and all). */
  yaml?: string;
  ifMatch?: string;
  /** More headers (a session cookie and its X-CSRF-Token, for `token create --user`). */
  headers?: Record<string, string>;
}

/** A problem of a config or body the API refused: its JSON path, and its line in YAML text sent. */
export interface ApiProblem {
  path: string;
  configPath?: string;
  message: string;
  line?: number;
  column?: number;
  allowed?: string;
  suggestion?: string;
  code?: string;
}

export type AdminAnswer =
  | { ok: true; status: number; body: unknown; text: string; etag: string | undefined; headers: IncomingHttpHeaders }
  | { ok: false; status: number | undefined; message: string; body?: unknown; problems: ApiProblem[] };

/** A PUT reloads the workers, which may wait for a slow one; 30 s is far beyond a healthy reload. */
const REQUEST_TIMEOUT_MS = 30_000;

export async function callAdmin(connection: AdminConnection, request: AdminRequest): Promise<AdminAnswer> {
  const { url: base } = connection;
  let response: { status: number; headers: IncomingHttpHeaders; text: string };
  try {
    response = await send(connection, request);
  } catch (error) {
    return { ok: false, status: undefined, message: `cannot reach the admin API at ${base.origin}: ${networkReason(error, base)}`, problems: [] };
  }
  const { status, headers, text } = response;
  const isJson = /^application\/(?:[\w.+-]+\+)?json/i.test(headers['content-type'] ?? '');
  let body: unknown;
  if (isJson && text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      return { ok: false, status, message: `the admin API at ${base.origin} answered ${status} with JSON that does not parse`, problems: [] };
    }
  }
  const etag = typeof headers.etag === 'string' ? headers.etag : undefined;
  if (status >= 200 && status < 300) return { ok: true, status, body, text, etag, headers };
  if (body === undefined && status !== 401 && status !== 403) {
    return { ok: false, status, message: `the admin API at ${base.origin} answered ${status}${text === '' ? '' : `: ${text.slice(0, 200)}`}`, problems: [] };
  }
  return { ok: false, status, ...failureMessage(connection, status, body), body };
}

interface ErrorBody {
  code?: string;
  message?: string;
  problems?: (string | ApiProblem)[];
  problemLines?: string[];
}

function failureMessage(connection: AdminConnection, status: number, body: unknown): { message: string; problems: ApiProblem[] } {
  const error = (body as { error?: ErrorBody } | undefined)?.error;
  const apiMessage = error?.message ?? `HTTP ${status}`;
  const code = error?.code !== undefined ? ` (${error.code})` : '';
  const problems = (error?.problems ?? []).filter((p): p is ApiProblem => typeof p === 'object' && p !== null);
  const { token } = connection;
  if (status === 401) {
    if (token.token === undefined) {
      const first = `the admin API needs a token: --token, FULCRUM_TOKEN or ${connection.tokenFile} (create one with fulcrum token create or in the console)`;
      return { message: error?.message === undefined ? first : `${first}\n  the API says: ${apiMessage}`, problems };
    }
    return { message: `the admin API did not accept the token from ${token.from}: ${apiMessage}${code}; create a new one with fulcrum token create or in the console`, problems };
  }
  if (status === 403) {
    const whose = token.token === undefined ? 'this client' : `the token from ${token.from}`;
    return { message: `the role of ${whose} is not enough for this: ${apiMessage}${code}`, problems };
  }
  const lines = [`${apiMessage}${code}`];
  // Compiler-style lines when the API has them (FILE:LINE:COL: path: message); the message often repeats the first.
  const detail = error?.problemLines ?? (error?.problems ?? []).map((p) => (typeof p === 'string' ? p : `${p.configPath ?? p.path}: ${p.message}`));
  for (const line of detail) if (!apiMessage.includes(line)) lines.push(`  ${line}`);
  return { message: lines.join('\n'), problems };
}

function send(connection: AdminConnection, request: AdminRequest): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  const url = new URL(request.path, connection.url);
  // X-Fulcrum-Client: the audit log and the config versions say a change came from the CLI.
  const headers: Record<string, string | number> = { accept: 'application/json', 'user-agent': 'fulcrum-cli', 'x-fulcrum-client': 'cli' };
  if (connection.token.token !== undefined) headers['authorization'] = `Bearer ${connection.token.token}`;
  if (request.ifMatch !== undefined) headers['if-match'] = request.ifMatch;
  Object.assign(headers, request.headers);
  let body: string | undefined;
  if (request.yaml !== undefined) {
    body = request.yaml;
    headers['content-type'] = 'application/yaml; charset=utf-8';
  } else if (request.json !== undefined) {
    body = JSON.stringify(request.json);
    headers['content-type'] = 'application/json';
  }
  if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
  const secure = url.protocol === 'https:';
  const { request: open } = process.getBuiltinModule(secure ? 'node:https' : 'node:http') as typeof import('node:https');
  const tls = secure && connection.ca !== undefined ? { ca: connection.ca } : {};
  return new Promise((resolve, reject) => {
    const req = open(url, { method: request.method, headers, timeout: REQUEST_TIMEOUT_MS, ...tls }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}

/** OpenSSL's verdicts on a certificate the CLI does not trust. */
const UNTRUSTED = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_UNTRUSTED']);

function networkReason(error: unknown, base: URL): string {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const text = error instanceof Error ? error.message : String(error);
  if (code === 'ECONNREFUSED') return 'connection refused; is fulcrum running with admin.listen set to this address?';
  if (code === 'ETIMEDOUT') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  if (UNTRUSTED.has(code)) return `its certificate is not trusted (${text}); give the CA that signed it with --ca FILE or FULCRUM_CA=FILE`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `its certificate does not name ${base.hostname} (${text}); use --admin with a name the certificate has`;
  if (code === 'CERT_HAS_EXPIRED') return `its certificate has expired (${text})`;
  if (code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER') return `${text}; is it ${base.protocol === 'https:' ? 'plain http (try --admin http://...)' : 'https (try --admin https://...)'}?`;
  return text;
}
