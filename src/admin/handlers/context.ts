/**
 * Types only: what a route handler gets and gives. Handlers are plain async functions from a
 * request context to an answer; src/admin/api.ts does the HTTP (auth, CSRF, body reading,
 * serialisation), so that a handler says only what the route means.
 */
import type { IncomingMessage } from 'node:http';
import type { ApiFailure } from '../types.ts';
import type { Principal } from '../roles.ts';
import type { ChangeSource } from '../../store/config-store.ts';
import type { ChangeRequest } from '../config-changes.ts';

export interface RequestContext {
  req: IncomingMessage;
  /** Path parameters, percent-decoded: { pool: "web", address: "10.0.0.1:80" }. */
  params: Record<string, string>;
  query: URLSearchParams;
  principal: Principal;
  /** The client's address (for the audit log and login limits). */
  address: string;
  /** `?dryRun=true`: validate and answer the diff, change nothing. */
  dryRun: boolean;
  /** The If-Match header's value, when sent. */
  ifMatch: string | undefined;
  /** The console says so (X-Fulcrum-Client: console); else api. */
  source: ChangeSource;
  /** The request body: JSON parsed, or YAML/text as a string; undefined when none. */
  body: () => Promise<BodyResult>;
  /** Over TLS: cookies get Secure. */
  secure: boolean;
}

export type BodyResult = { ok: true; value: unknown; contentType: 'json' | 'yaml' | 'none' } | { ok: false; failure: ApiFailure };

export interface Answer {
  status: number;
  body?: unknown;
  /** Sent as is (text/plain or YAML); body is ignored then. */
  text?: { contentType: string; data: string };
  headers?: Record<string, string | string[]>;
}

export type Handler = (ctx: RequestContext) => Promise<Answer>;

/**
 * `{"error": {code, message, problems: [{path, message, ...}]}}`: every problem as an object with
 * its JSON path, whoever found it; config problems also keep their compiler-style lines
 * (FILE:LINE:COL: ...) in `problemLines`, which terminals and editors jump to.
 */
export function failureAnswer(failure: ApiFailure & { apiProblems?: readonly object[] }): Answer {
  const { status, apiProblems, problems, ...error } = failure;
  if (apiProblems !== undefined) return { status, body: { error: { ...error, problems: apiProblems, ...(problems !== undefined ? { problemLines: problems } : {}) } } };
  if (problems === undefined) return { status, body: { error } };
  return { status, body: { error: { ...error, problems: problems.map(problemObject) } } };
}

/** "$.role: must be one of ..." → { path: "$.role", message: "must be one of ..." }; other text is about the whole body. */
function problemObject(line: string): { path: string; message: string } {
  const match = /^(\$[^:\s]*): (.*)$/s.exec(line);
  return match === null ? { path: '$', message: line } : { path: match[1]!, message: match[2]! };
}

/** Who asks for a config change, from where, as what (the audit's action and target): all of a ChangeRequest but its edit. */
export function requestOf(ctx: RequestContext, action: string, target: string, source: ChangeSource = ctx.source): Omit<ChangeRequest, 'edit'> {
  return { principal: ctx.principal, address: ctx.address, source, action, target, dryRun: ctx.dryRun };
}
