// The authenticator against real HTTP requests: tokens, session cookies, loopback without users,
// CSRF, login with rate limiting, cookies.
import assert from 'node:assert/strict';
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { createAuthenticator, isLoopback, type AuthFailure, type Authenticator } from '../../../src/admin/auth/authenticate.ts';
import { LoginLimiter } from '../../../src/admin/auth/login-limiter.ts';
import { SessionStore } from '../../../src/admin/auth/sessions.ts';
import { TokenStore } from '../../../src/admin/auth/tokens.ts';
import { UserStore } from '../../../src/admin/auth/users.ts';
import type { Principal } from '../../../src/admin/roles.ts';
import { ErrorCode } from '../../../src/errors.ts';
import { HOUR, ManualClock, MINUTE, tempDatabase, type TempDatabase } from './helpers.ts';

const PASSWORD = 'correct horse battery staple';

/** A server whose handler the test sets; answers JSON with what the handler returns. */
interface Probe {
  port: number;
  handle: (req: IncomingMessage) => unknown;
  close(): Promise<void>;
}

async function startProbe(): Promise<Probe> {
  const probe = {
    port: 0,
    handle: (_req: IncomingMessage): unknown => null,
    close: (): Promise<void> => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(probe.handle(req) ?? null));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  probe.port = (server.address() as AddressInfo).port;
  return probe;
}

function request(port: number, method: string, headers: Record<string, string> = {}): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: '/api/v1/status', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(JSON.parse(body)));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A request as the authenticator sees one, from any address (a real socket can only come from loopback here). */
function fakeRequest(remoteAddress: string, headers: Record<string, string> = {}, method = 'GET'): IncomingMessage {
  return { headers, method, socket: { remoteAddress } } as unknown as IncomingMessage;
}

describe('createAuthenticator', () => {
  let probe: Probe;
  let temp: TempDatabase;
  let clock: ManualClock;
  let users: UserStore;
  let tokens: TokenStore;
  let sessions: SessionStore;
  let auth: Authenticator;
  before(async () => {
    probe = await startProbe();
  });
  after(() => probe.close());
  beforeEach(() => {
    temp = tempDatabase();
    clock = new ManualClock();
    users = new UserStore(temp.db, { now: clock.now });
    tokens = new TokenStore(temp.db, { now: clock.now });
    sessions = new SessionStore(temp.db, { now: clock.now });
    auth = createAuthenticator({ users, tokens, sessions, limiter: new LoginLimiter({ now: clock.now }), now: clock.now });
  });
  afterEach(() => temp.remove());

  const authenticateOverHttp = (headers: Record<string, string> = {}, loopbackOpen = true, method = 'GET'): Promise<unknown> => {
    probe.handle = (req) => auth.authenticate(req, { loopbackOpen });
    return request(probe.port, method, headers);
  };

  describe('without users', () => {
    it('a loopback client is the admin "local" when the API is open on loopback', async () => {
      assert.deepEqual(await authenticateOverHttp(), { ok: true, principal: { user: 'local', role: 'admin', via: 'loopback' } });
      assert.deepEqual(auth.authenticate(fakeRequest('::1'), { loopbackOpen: true }), { ok: true, principal: { user: 'local', role: 'admin', via: 'loopback' } });
      assert.deepEqual(auth.authenticate(fakeRequest('::ffff:127.0.0.1'), { loopbackOpen: true }).ok, true);
    });

    it('anyone else, or loopback when not open, is told how to create the first admin', async () => {
      const remote = auth.authenticate(fakeRequest('192.0.2.1'), { loopbackOpen: true });
      assert.equal(remote.ok, false);
      const failure = (remote as { failure: AuthFailure }).failure;
      assert.deepEqual([failure.status, failure.code], [401, ErrorCode.ADMIN_UNAUTHENTICATED]);
      assert.match(failure.message, /fulcrum user add NAME --role admin/);
      assert.equal(((await authenticateOverHttp({}, false)) as { ok: boolean }).ok, false);
    });
  });

  describe('with users', () => {
    beforeEach(async () => {
      await users.add('alice', 'admin', PASSWORD);
      await users.add('vera', 'viewer', PASSWORD);
    });

    it('loopback is no longer open', async () => {
      const answer = (await authenticateOverHttp()) as { ok: boolean; failure: AuthFailure };
      assert.equal(answer.ok, false);
      assert.equal(answer.failure.status, 401);
      assert.match(answer.failure.message, /log in \(POST \/api\/v1\/session\) or send Authorization: Bearer TOKEN/);
    });

    it('a Bearer token is its owner with the token\'s role', async () => {
      const created = tokens.create({ name: 'script', role: 'operator', user: 'alice' });
      assert.deepEqual(await authenticateOverHttp({ authorization: `Bearer ${created.token}` }), {
        ok: true,
        principal: { user: 'alice', role: 'operator', via: 'token', tokenId: created.id },
      });
      assert.equal(((await authenticateOverHttp({ authorization: `bearer  ${created.token}` })) as { ok: boolean }).ok, true, 'the scheme is case-insensitive');
    });

    it('a bad, revoked or expired token, or another scheme, is 401 even with a valid cookie', async () => {
      const created = tokens.create({ name: 'script', role: 'viewer', user: 'alice', expiresIn: '1h' });
      clock.advance(HOUR);
      const session = sessions.create('alice', 'admin');
      const cookie = `fulcrum_session=${session.id}`;
      const status = async (headers: Record<string, string>): Promise<number | undefined> => ((await authenticateOverHttp(headers)) as { failure?: AuthFailure }).failure?.status;
      assert.equal(await status({ authorization: `Bearer ${created.token}`, cookie }), 401, 'expired');
      assert.equal(await status({ authorization: 'Basic YWxpY2U6cGFzcw==', cookie }), 401);
      const fresh = tokens.create({ name: 'script', role: 'viewer', user: 'alice', expiresIn: '1h' });
      assert.equal(await status({ authorization: `Bearer ${fresh.token}` }), undefined);
      tokens.revoke(fresh.id);
      assert.equal(await status({ authorization: `Bearer ${fresh.token}`, cookie }), 401, 'revoked');
      assert.equal(await status({ cookie }), undefined, 'the cookie alone works');
    });

    it('the session cookie is its user, with the CSRF token; an ended session is 401', async () => {
      const session = sessions.create('vera', 'viewer');
      const principal = { user: 'vera', role: 'viewer', via: 'session', csrfToken: session.csrfToken };
      assert.deepEqual(await authenticateOverHttp({ cookie: `theme=dark; fulcrum_session=${session.id}; other=1` }), { ok: true, principal });
      clock.advance(31 * MINUTE);
      const answer = (await authenticateOverHttp({ cookie: `fulcrum_session=${session.id}` })) as { failure: AuthFailure };
      assert.equal(answer.failure.status, 401);
      assert.match(answer.failure.message, /session has expired or was ended: log in again/);
    });

    it('logout ends the session the cookie names', () => {
      const session = sessions.create('vera', 'viewer');
      auth.logout(fakeRequest('127.0.0.1', { cookie: `fulcrum_session=${session.id}` }, 'DELETE'));
      assert.equal(sessions.lookup(session.id), null);
      auth.logout(fakeRequest('127.0.0.1', {}, 'DELETE'));
    });
  });

  describe('checkCsrf', () => {
    const session: Principal = { user: 'alice', role: 'admin', via: 'session', csrfToken: 'the-csrf-token-of-this-session' };

    it('an unsafe method with the cookie needs X-CSRF-Token equal to the session\'s', () => {
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        const missing = auth.checkCsrf(fakeRequest('127.0.0.1', {}, method), session);
        assert.deepEqual([missing?.status, missing?.code], [403, ErrorCode.ADMIN_CSRF], method);
        assert.match(missing!.message, /X-CSRF-Token/);
        assert.equal(auth.checkCsrf(fakeRequest('127.0.0.1', { 'x-csrf-token': 'wrong' }, method), session)?.status, 403);
        assert.equal(auth.checkCsrf(fakeRequest('127.0.0.1', { 'x-csrf-token': 'the-csrf-token-of-this-session' }, method), session), null);
      }
    });

    it('safe methods, tokens and loopback need none', () => {
      assert.equal(auth.checkCsrf(fakeRequest('127.0.0.1', {}, 'GET'), session), null);
      assert.equal(auth.checkCsrf(fakeRequest('127.0.0.1', {}, 'HEAD'), session), null);
      assert.equal(auth.checkCsrf(fakeRequest('127.0.0.1', {}, 'POST'), { user: 'alice', role: 'admin', via: 'token', tokenId: 'abc' }), null);
      assert.equal(auth.checkCsrf(fakeRequest('127.0.0.1', {}, 'DELETE'), { user: 'local', role: 'admin', via: 'loopback' }), null);
    });
  });

  describe('login', () => {
    beforeEach(async () => {
      await users.add('alice', 'admin', PASSWORD);
    });

    it('starts a session and records the login', async () => {
      const result = await auth.login('alice', PASSWORD, '127.0.0.1');
      assert.ok(result.ok);
      assert.deepEqual([result.user, result.role], ['alice', 'admin']);
      assert.equal(sessions.lookup(result.session.id)?.user, 'alice');
      assert.equal(users.get('alice')?.lastLogin, new Date(clock.now()).toISOString());
    });

    it('answers the same 401 for a wrong password and a user that does not exist', async () => {
      const wrong = await auth.login('alice', 'not the password', '127.0.0.1');
      const unknown = await auth.login('mallory', 'not the password', '127.0.0.1');
      assert.ok(!wrong.ok && !unknown.ok);
      assert.deepEqual(wrong.failure, { status: 401, code: ErrorCode.ADMIN_UNAUTHENTICATED, message: 'wrong user name or password' });
      assert.deepEqual(unknown.failure, wrong.failure);
    });

    it('locks a user name after 5 failures with 429 and Retry-After, even for the right password; a success before clears it', async () => {
      for (let i = 0; i < 4; i++) assert.equal((await auth.login('alice', 'guess', `10.0.0.${i}`)).ok, false);
      assert.equal((await auth.login('alice', PASSWORD, '10.0.0.9')).ok, true, 'the right password within the limit');
      for (let i = 0; i < 5; i++) assert.equal(((await auth.login('alice', 'guess', '10.0.0.1')) as { failure: AuthFailure }).failure.status, 401, `attempt ${i + 1}`);
      const locked = await auth.login('alice', PASSWORD, '10.0.0.2');
      assert.ok(!locked.ok);
      assert.deepEqual(locked.failure, {
        status: 429,
        code: ErrorCode.ADMIN_RATE_LIMITED,
        message: 'too many failed logins for this user name: retry after 900 s',
        retryAfterSeconds: 900,
      });
      clock.advance(15 * MINUTE);
      assert.equal((await auth.login('alice', PASSWORD, '10.0.0.2')).ok, true);
    });

    it('parallel guesses cannot slip past the limit while scrypt runs', async () => {
      const results = await Promise.all(Array.from({ length: 8 }, () => auth.login('alice', 'guess', '10.0.0.1')));
      const statuses = results.map((result) => (result.ok ? 200 : result.failure.status)).sort();
      assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
    });

    it('locks an address after its limit of failures, whatever the names', async () => {
      // The limiter's own tests cover the default of 20; 6 here spares 14 scrypt runs.
      const limiter = new LoginLimiter({ now: clock.now, perAddress: { failures: 6, windowMs: 15 * MINUTE } });
      auth = createAuthenticator({ users, tokens, sessions, limiter, now: clock.now });
      for (let i = 0; i < 6; i++) await auth.login(`user${i}`, 'guess', '192.0.2.1');
      const locked = await auth.login('alice', PASSWORD, '192.0.2.1');
      assert.ok(!locked.ok);
      assert.equal(locked.failure.status, 429);
      assert.match(locked.failure.message, /from this address/);
      assert.equal((await auth.login('alice', PASSWORD, '192.0.2.2')).ok, true);
    });
  });

  describe('cookies', () => {
    it('sets HttpOnly, SameSite=Strict, Path=/, Max-Age to the absolute expiry, and Secure over TLS', async () => {
      await users.add('alice', 'admin', PASSWORD);
      const session = sessions.create('alice', 'admin');
      assert.equal(auth.sessionCookie(session, false), `fulcrum_session=${session.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200`);
      clock.advance(HOUR);
      assert.equal(auth.sessionCookie(session, true), `fulcrum_session=${session.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=39600; Secure`);
      assert.equal(auth.clearCookie(true), 'fulcrum_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure');
      assert.equal(auth.clearCookie(false), 'fulcrum_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0');
    });
  });
});

describe('isLoopback', () => {
  it('knows 127/8, ::1 and IPv4-mapped loopback, and nothing else', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1']) assert.equal(isLoopback(address), true, address);
    for (const address of ['10.0.0.1', '::2', '::', '128.0.0.1', '::ffff:10.0.0.1', 'localhost', '', undefined]) assert.equal(isLoopback(address), false, String(address));
  });
});
