/**
 * Who is making an admin API request, and may they log in: the one place that turns credentials
 * (a Bearer token, the session cookie, or nothing on an open loopback API) into a Principal, checks
 * the CSRF token of cookie-authenticated writes, and runs a login through the rate limiter.
 * The HTTP routing (src/admin/api.ts) decides what each route needs (roles.ts `allows`) and writes
 * the audit log; nothing here writes an HTTP answer.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ErrorCode } from '../../errors.ts';
import { isLoopbackAddress } from '../../ip/loopback.ts';
import type { Principal, Role } from '../roles.ts';
import type { LoginLimiter } from './login-limiter.ts';
import type { Session, SessionStore } from './sessions.ts';
import type { TokenStore } from './tokens.ts';
import type { UserStore } from './users.ts';

export const SESSION_COOKIE = 'fulcrum_session';
/** Methods that change something; a cookie-authenticated one must carry X-CSRF-Token. */
const UNSAFE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** An answer the API sends as is: `{"error": {code, message}}` with `status` (and Retry-After for 429). */
export interface AuthFailure {
  status: number;
  code: ErrorCode;
  message: string;
  /** With 429: the Retry-After header's value. */
  retryAfterSeconds?: number;
}

export type AuthResult = { ok: true; principal: Principal } | { ok: false; failure: AuthFailure };
export type LoginResult = { ok: true; user: string; role: Role; session: Session } | { ok: false; failure: AuthFailure };

export interface AuthenticatorOptions {
  users: UserStore;
  tokens: TokenStore;
  sessions: SessionStore;
  limiter: LoginLimiter;
  now?: () => number;
  /** Are there users? Default: users.count() > 0. Without users, only loopback is served (as admin). */
  hasUsers?: () => boolean;
}

export interface Authenticator {
  /**
   * The principal of `req`: a Bearer token first, else the session cookie; with no users at all,
   * a loopback client is the admin "local" when opts.loopbackOpen.
   */
  authenticate(req: IncomingMessage, opts: { loopbackOpen: boolean }): AuthResult;
  /** A failure for an unsafe method made with the session cookie without the session's X-CSRF-Token; else null. */
  checkCsrf(req: IncomingMessage, principal: Principal): AuthFailure | null;
  /** Check a password (rate limited per user and per address) and start a session. */
  login(user: string, password: string, clientAddress: string): Promise<LoginResult>;
  /** End the session named by `req`'s cookie, if any (DELETE /api/v1/session). */
  logout(req: IncomingMessage): void;
  /** The Set-Cookie value for a new session: HttpOnly, SameSite=Strict, Secure over TLS, Max-Age up to its absolute expiry. */
  sessionCookie(session: Session, secure: boolean): string;
  /** The Set-Cookie value that removes the session cookie (at logout). */
  clearCookie(secure: boolean): string;
}

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const { users, tokens, sessions, limiter } = options;
  const now = options.now ?? Date.now;
  const hasUsers = options.hasUsers ?? ((): boolean => users.count() > 0);

  const unauthenticated = (message: string): AuthResult => ({ ok: false, failure: { status: 401, code: ErrorCode.ADMIN_UNAUTHENTICATED, message } });

  return {
    authenticate(req, opts) {
      // Without users, credentials mean nothing: loopback is the admin, everyone else is told how to create one.
      if (!hasUsers()) {
        if (opts.loopbackOpen && isLoopback(req.socket.remoteAddress)) return { ok: true, principal: { user: 'local', role: 'admin', via: 'loopback' } };
        return unauthenticated('no users exist yet, so the admin API answers only on loopback: create the first admin with `fulcrum user add NAME --role admin -c CONFIG` (or FULCRUM_ADMIN_USER and FULCRUM_ADMIN_PASSWORD at first start)');
      }
      const authorization = req.headers.authorization;
      if (authorization !== undefined) {
        const bearer = /^Bearer +(\S+) *$/i.exec(authorization);
        if (bearer === null) return unauthenticated('the Authorization header must be "Bearer TOKEN" (create a token with POST /api/v1/tokens)');
        const token = tokens.verify(bearer[1]!, now());
        if (token === null) return unauthenticated('the API token is unknown, revoked or expired: create a new one');
        return { ok: true, principal: { user: token.user, role: token.role, via: 'token', tokenId: token.id } };
      }
      const sessionId = sessionCookieValue(req);
      if (sessionId !== undefined) {
        const session = sessions.lookup(sessionId, now());
        if (session === null) return unauthenticated('the session has expired or was ended: log in again');
        return { ok: true, principal: { user: session.user, role: session.role, via: 'session', csrfToken: session.csrfToken } };
      }
      return unauthenticated('log in (POST /api/v1/session) or send Authorization: Bearer TOKEN');
    },

    checkCsrf(req, principal) {
      if (principal.via !== 'session' || !UNSAFE_METHODS.has(req.method ?? '')) return null;
      const sent = req.headers['x-csrf-token'];
      if (typeof sent === 'string' && principal.csrfToken !== undefined && equalSecrets(sent, principal.csrfToken)) return null;
      return {
        status: 403,
        code: ErrorCode.ADMIN_CSRF,
        message: `a ${req.method ?? ''} made with the session cookie needs the session's CSRF token in X-CSRF-Token (the csrfToken of POST or GET /api/v1/session)`,
      };
    },

    async login(user, password, clientAddress) {
      const verdict = limiter.check(user, clientAddress);
      if (!verdict.ok) {
        const who = verdict.scope === 'user' ? 'for this user name' : 'from this address';
        return {
          ok: false,
          failure: { status: 429, code: ErrorCode.ADMIN_RATE_LIMITED, message: `too many failed logins ${who}: retry after ${verdict.retryAfterSeconds} s`, retryAfterSeconds: verdict.retryAfterSeconds },
        };
      }
      limiter.recordFailure(user, clientAddress);
      const role = await users.verify(user, password);
      // One message whether the name exists or not: a login must not tell who has an account.
      if (role === null) return { ok: false, failure: { status: 401, code: ErrorCode.ADMIN_UNAUTHENTICATED, message: 'wrong user name or password' } };
      limiter.recordSuccess(user, clientAddress);
      const at = now();
      users.recordLogin(user, at);
      return { ok: true, user, role, session: sessions.create(user, role, at) };
    },

    logout(req) {
      const sessionId = sessionCookieValue(req);
      if (sessionId !== undefined) sessions.delete(sessionId);
    },

    sessionCookie(session, secure) {
      const maxAge = Math.max(0, Math.floor((Date.parse(session.absoluteExpiresAt) - now()) / 1000));
      return cookie(session.id, maxAge, secure);
    },

    clearCookie(secure) {
      return cookie('', 0, secure);
    },
  };
}

/**
 * SameSite=Strict: no other site's page can send the cookie, even by a top-level link (the console
 * has no entry point that needs one). HttpOnly: the console's scripts never read it.
 */
function cookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

/** The fulcrum_session cookie's value, or undefined when the request has none. */
export function sessionCookieValue(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const equals = part.indexOf('=');
    if (equals === -1 || part.slice(0, equals).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(equals + 1).trim();
    if (value !== '') return value;
  }
  return undefined;
}

/** Whether a client address is this machine's own (src/ip/loopback.ts). */
export const isLoopback = isLoopbackAddress;

/** Constant-time equality of two strings of any length (hashed first: timingSafeEqual needs equal lengths). */
function equalSecrets(a: string, b: string): boolean {
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(a), digest(b));
}
