/**
 * Log in and out, users and API tokens. Logins and failed logins, and every change of a user or
 * a token, go to the audit log. Store errors (FulcrumError with ADMIN_* codes: a bad name, a weak
 * password, the last admin) become answers with their message.
 */
import { ErrorCode, FulcrumError } from '../../errors.ts';
import type { AuditLog } from '../audit.ts';
import type { Authenticator } from '../auth/authenticate.ts';
import type { SessionStore } from '../auth/sessions.ts';
import { DEFAULT_EXPIRES_IN, parseExpiresIn, type TokenStore } from '../auth/tokens.ts';
import type { UserStore } from '../auth/users.ts';
import { allows, atMost, isRole, ROLES, type Role } from '../roles.ts';
import { failureAnswer, type Answer, type Handler, type RequestContext } from './context.ts';

export interface AuthEnv {
  auth: Authenticator;
  users: UserStore;
  tokens: TokenStore;
  sessions: SessionStore;
  audit: AuditLog;
}

const STATUS_OF: Partial<Record<string, number>> = {
  [ErrorCode.ADMIN_BAD_REQUEST]: 400,
  [ErrorCode.ADMIN_EXISTS]: 409,
  [ErrorCode.ADMIN_NOT_FOUND]: 404,
  [ErrorCode.ADMIN_FORBIDDEN]: 403,
  [ErrorCode.ADMIN_IN_USE]: 409,
};

export function authHandlers(env: AuthEnv): Record<string, Handler> {
  const { auth, users, tokens, sessions, audit } = env;
  const record = (ctx: RequestContext, action: string, target: string, outcome: 'ok' | 'failed' | 'denied', detail?: string): void => {
    audit.append({ user: ctx.principal.user, address: ctx.address, action, target, outcome, ...(detail !== undefined ? { detail } : {}) });
  };
  /** Run a store call; its FulcrumError becomes an answer (and an audit line when `action` is given). */
  const attempt = async (ctx: RequestContext, action: string, target: string, run: () => Answer | Promise<Answer>): Promise<Answer> => {
    try {
      const answer = await run();
      record(ctx, action, target, 'ok');
      return answer;
    } catch (error) {
      if (!(error instanceof FulcrumError)) throw error;
      const status = STATUS_OF[error.code];
      if (status === undefined) throw error;
      record(ctx, action, target, 'failed', error.message);
      return failureAnswer({ status, code: error.code, message: error.message });
    }
  };
  const objectBody = async (ctx: RequestContext): Promise<{ ok: true; value: Record<string, unknown> } | { ok: false; answer: Answer }> => {
    const body = await ctx.body();
    if (!body.ok) return { ok: false, answer: failureAnswer(body.failure) };
    if (body.value === null || typeof body.value !== 'object' || Array.isArray(body.value)) {
      return { ok: false, answer: failureAnswer({ status: 400, code: ErrorCode.ADMIN_BAD_REQUEST, message: 'the body must be a JSON object' }) };
    }
    return { ok: true, value: body.value as Record<string, unknown> };
  };
  const bad = (message: string, path: string): Answer => failureAnswer({ status: 400, code: ErrorCode.ADMIN_BAD_REQUEST, message, problems: [`${path}: ${message}`] });

  /** Locked-out attempts cost us no hashing, so a stranger can send thousands a second: one audit line per user and address a minute, not one each. */
  const deniedLogged = new Map<string, number>();
  const firstDenialThisMinute = (key: string): boolean => {
    const now = Date.now();
    const last = deniedLogged.get(key);
    if (last !== undefined && now - last < 60_000) return false;
    if (deniedLogged.size >= 1000) deniedLogged.clear();
    deniedLogged.set(key, now);
    return true;
  };

  const login: Handler = async (ctx) => {
    const body = await objectBody(ctx);
    if (!body.ok) return body.answer;
    const { user, password } = body.value;
    if (typeof user !== 'string' || typeof password !== 'string') return bad('send {"user": NAME, "password": PASSWORD}', '$');
    const result = await auth.login(user.slice(0, 64), password.slice(0, 1024), ctx.address);
    if (!result.ok) {
      const denied = result.failure.status === 429;
      if (!denied || firstDenialThisMinute(`${user.slice(0, 64)}\n${ctx.address}`)) {
        audit.append({ user: user.slice(0, 64), address: ctx.address, action: 'login', target: user.slice(0, 64), outcome: denied ? 'denied' : 'failed', detail: result.failure.message });
      }
      const headers = result.failure.retryAfterSeconds !== undefined ? { 'retry-after': String(result.failure.retryAfterSeconds) } : undefined;
      const { retryAfterSeconds: _r, ...failure } = result.failure;
      return { ...failureAnswer(failure), ...(headers !== undefined ? { headers } : {}) };
    }
    audit.append({ user: result.user, address: ctx.address, action: 'login', target: result.user, outcome: 'ok' });
    return {
      status: 200,
      headers: { 'set-cookie': auth.sessionCookie(result.session, ctx.secure) },
      body: { user: result.user, role: result.role, via: 'session', csrfToken: result.session.csrfToken, expiresAt: result.session.absoluteExpiresAt },
    };
  };

  const whoami: Handler = async (ctx) => {
    const { user, role, via, csrfToken } = ctx.principal;
    return { status: 200, body: { user, role, via, ...(csrfToken !== undefined ? { csrfToken } : {}) } };
  };

  const logout: Handler = async (ctx) => {
    auth.logout(ctx.req);
    record(ctx, 'logout', ctx.principal.user, 'ok');
    return { status: 204, headers: { 'set-cookie': auth.clearCookie(ctx.secure) } };
  };

  const usersList: Handler = async () => ({ status: 200, body: users.list() });

  const usersCreate: Handler = async (ctx) => {
    const body = await objectBody(ctx);
    if (!body.ok) return body.answer;
    const { name, role, password } = body.value;
    if (typeof name !== 'string') return bad('a user needs a name', '$.name');
    if (!isRole(role)) return bad(`role must be one of ${ROLES.join(', ')}`, '$.role');
    if (typeof password !== 'string') return bad('a user needs a password (12 characters at least)', '$.password');
    return attempt(ctx, 'user.add', name, async () => {
      const created = await users.add(name, role, password);
      return { status: 201, headers: { location: `/api/v1/users/${encodeURIComponent(name)}` }, body: created };
    });
  };

  const usersUpdate: Handler = async (ctx) => {
    const name = ctx.params.name ?? '';
    const body = await objectBody(ctx);
    if (!body.ok) return body.answer;
    const { role, password, currentPassword } = body.value;
    const admin = allows(ctx.principal.role, 'administer');
    if (!admin) {
      // Your own password, logged in as yourself, knowing the current one: a token (any role, and a
      // leaked viewer token is the likely case) or a stolen cookie must not become the account.
      const self = ctx.principal.user === name && ctx.principal.via === 'session';
      if (!self || role !== undefined) {
        record(ctx, 'user.update', name, 'denied');
        return failureAnswer({ status: 403, code: ErrorCode.ADMIN_FORBIDDEN, message: 'only an admin changes users; you may change your own password, logged in to the console, with your current one' });
      }
      if (typeof currentPassword !== 'string' || (await auth.login(name, currentPassword.slice(0, 1024), ctx.address)).ok !== true) {
        record(ctx, 'user.update', name, 'denied', 'wrong current password');
        return failureAnswer({ status: 403, code: ErrorCode.ADMIN_FORBIDDEN, message: 'send your current password as currentPassword to change it' });
      }
    }
    if (role !== undefined && !isRole(role)) return bad(`role must be one of ${ROLES.join(', ')}`, '$.role');
    if (password !== undefined && typeof password !== 'string') return bad('password must be a string', '$.password');
    if (users.get(name) === undefined) return failureAnswer({ status: 404, code: ErrorCode.ADMIN_NOT_FOUND, message: `no user ${JSON.stringify(name)}` });
    return attempt(ctx, 'user.update', name, async () => {
      if (role !== undefined) users.setRole(name, role as Role);
      if (typeof password === 'string') await users.setPassword(name, password);
      // A changed password or role ends the user's sessions: a stolen cookie dies with the old password.
      sessions.deleteForUser(name);
      return { status: 200, body: users.get(name) };
    });
  };

  const usersDelete: Handler = async (ctx) => {
    const name = ctx.params.name ?? '';
    if (users.get(name) === undefined) return failureAnswer({ status: 404, code: ErrorCode.ADMIN_NOT_FOUND, message: `no user ${JSON.stringify(name)}` });
    return attempt(ctx, 'user.remove', name, () => {
      users.remove(name);
      sessions.deleteForUser(name);
      return { status: 204 };
    });
  };

  const tokensList: Handler = async (ctx) => ({ status: 200, body: tokens.list(allows(ctx.principal.role, 'administer') ? undefined : ctx.principal.user) });

  const tokensCreate: Handler = async (ctx) => {
    const body = await objectBody(ctx);
    if (!body.ok) return body.answer;
    const { name, role, expiresIn } = body.value;
    if (typeof name !== 'string' || name === '' || name.length > 64) return bad('a token needs a name (1-64 characters) that says what uses it', '$.name');
    if (!isRole(role)) return bad(`role must be one of ${ROLES.join(', ')}`, '$.role');
    if (expiresIn !== undefined && typeof expiresIn !== 'string') return bad('expiresIn is a duration such as "30d", "12h" or "90m"', '$.expiresIn');
    if (!atMost(role, ctx.principal.role)) {
      record(ctx, 'token.create', name, 'denied', `role ${role} above ${ctx.principal.role}`);
      return failureAnswer({ status: 403, code: ErrorCode.ADMIN_FORBIDDEN, message: `a ${ctx.principal.role} cannot create a token with the role ${role}` });
    }
    if (ctx.principal.via === 'token' && ctx.principal.tokenId !== undefined) {
      // A token may make tokens (a script rotating its own), but none that outlives it: a leaked one-hour token must not mint a year.
      const caller = tokens.get(ctx.principal.tokenId);
      let wanted: number;
      try {
        wanted = Date.now() + parseExpiresIn(typeof expiresIn === 'string' ? expiresIn : DEFAULT_EXPIRES_IN);
      } catch (error) {
        return bad(error instanceof Error ? error.message : String(error), '$.expiresIn');
      }
      if (caller === undefined || wanted > Date.parse(caller.expiresAt)) {
        record(ctx, 'token.create', name, 'denied', 'outlives the token that asked');
        return failureAnswer({ status: 403, code: ErrorCode.ADMIN_FORBIDDEN, message: `a token cannot create a token that outlives it (this one expires ${caller?.expiresAt ?? 'now'}); ask for a shorter expiresIn, or create it logged in` });
      }
    }
    if (ctx.principal.via === 'loopback') return failureAnswer({ status: 409, code: ErrorCode.ADMIN_BAD_REQUEST, message: 'tokens belong to users, and there are none yet: create the first admin with `fulcrum user add NAME --role admin -c CONFIG`' });
    return attempt(ctx, 'token.create', name, () => {
      const created = tokens.create({ name, role, user: ctx.principal.user, expiresIn });
      return { status: 201, headers: { location: `/api/v1/tokens/${encodeURIComponent(created.id)}` }, body: created };
    });
  };

  const tokensDelete: Handler = async (ctx) => {
    const id = ctx.params.id ?? '';
    const token = tokens.get(id);
    if (token === undefined || (token.user !== ctx.principal.user && !allows(ctx.principal.role, 'administer'))) {
      return failureAnswer({ status: 404, code: ErrorCode.ADMIN_NOT_FOUND, message: `no token ${JSON.stringify(id)} of yours` });
    }
    return attempt(ctx, 'token.revoke', `${token.name} (${id})`, () => {
      tokens.revoke(id);
      return { status: 204 };
    });
  };

  return {
    'session.create': login,
    'session.get': whoami,
    'session.delete': logout,
    'users.list': usersList,
    'users.create': usersCreate,
    'users.update': usersUpdate,
    'users.delete': usersDelete,
    'tokens.list': tokensList,
    'tokens.create': tokensCreate,
    'tokens.delete': tokensDelete,
  };
}
