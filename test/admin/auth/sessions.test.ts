// SessionStore: idle and absolute expiry with an injected clock, hashed ids, roles, cleanup.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { csrfTokenFor, MAX_SESSIONS_PER_USER, SESSION_ABSOLUTE_TIMEOUT_MS, SESSION_IDLE_TIMEOUT_MS, SessionStore } from '../../../src/admin/auth/sessions.ts';
import { UserStore } from '../../../src/admin/auth/users.ts';
import { openStateDatabase } from '../../../src/admin/state/database.ts';
import { ErrorCode, FulcrumError } from '../../../src/errors.ts';
import { HOUR, ManualClock, MINUTE, tempDatabase, type TempDatabase } from './helpers.ts';

const PASSWORD = 'correct horse battery staple';

describe('SessionStore', () => {
  let temp: TempDatabase;
  let clock: ManualClock;
  let users: UserStore;
  let sessions: SessionStore;
  beforeEach(async () => {
    temp = tempDatabase();
    clock = new ManualClock();
    users = new UserStore(temp.db, { now: clock.now });
    sessions = new SessionStore(temp.db, { now: clock.now });
    await users.add('alice', 'admin', PASSWORD);
    await users.add('vera', 'viewer', PASSWORD);
  });
  afterEach(() => temp.remove());

  it('the timeouts are 30 minutes idle and 12 hours in all', () => {
    assert.equal(SESSION_IDLE_TIMEOUT_MS, 30 * MINUTE);
    assert.equal(SESSION_ABSOLUTE_TIMEOUT_MS, 12 * HOUR);
  });

  it('creates a session with a random id, stored only hashed, and a CSRF token derived from it', () => {
    const session = sessions.create('alice', 'admin');
    assert.match(session.id, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(sessions.create('alice', 'admin').id, session.id);
    assert.equal(session.csrfToken, csrfTokenFor(session.id));
    assert.notEqual(session.csrfToken, session.id);
    assert.deepEqual({ user: session.user, role: session.role }, { user: 'alice', role: 'admin' });
    assert.equal(session.expiresAt, new Date(clock.now() + 30 * MINUTE).toISOString());
    assert.equal(session.absoluteExpiresAt, new Date(clock.now() + 12 * HOUR).toISOString());
    const rows = temp.db.sql.prepare('SELECT * FROM sessions').all();
    const stored = JSON.stringify(rows.map((row) => ({ ...row, id_sha256: Buffer.from(row['id_sha256'] as Uint8Array).toString('hex') })));
    assert.ok(!stored.includes(session.id) && !stored.includes(session.csrfToken), 'neither the id nor the CSRF token is stored');
    assert.ok(stored.includes(createHash('sha256').update(session.id).digest('hex')));
  });

  it('ends after 30 minutes without a request', () => {
    const { id } = sessions.create('alice', 'admin');
    clock.advance(30 * MINUTE - 1);
    assert.equal(sessions.lookup(id)?.user, 'alice', 'a request just before the deadline renews it');
    clock.advance(30 * MINUTE - 1);
    assert.notEqual(sessions.lookup(id), null, 'still alive: the deadline moved');
    clock.advance(30 * MINUTE);
    assert.equal(sessions.lookup(id), null);
    clock.advance(-MINUTE);
    assert.equal(sessions.lookup(id), null, 'deleted when found expired');
  });

  it('renews the idle deadline at most once a minute (one write per minute, not per request)', () => {
    const { id } = sessions.create('alice', 'admin');
    clock.advance(30 * 1000);
    assert.equal(sessions.lookup(id)?.expiresAt, new Date(clock.now() - 30 * 1000 + 30 * MINUTE).toISOString(), 'not renewed within the first minute');
    clock.advance(30 * 1000);
    assert.equal(sessions.lookup(id)?.expiresAt, new Date(clock.now() + 30 * MINUTE).toISOString());
  });

  it('ends 12 hours after login however busy it is', () => {
    const { id } = sessions.create('alice', 'admin');
    for (let elapsed = 0; elapsed < 12 * HOUR - 20 * MINUTE; elapsed += 20 * MINUTE) {
      clock.advance(20 * MINUTE);
      assert.notEqual(sessions.lookup(id), null, `alive after ${elapsed / MINUTE + 20} minutes`);
    }
    const last = sessions.lookup(id);
    assert.equal(last?.expiresAt, new Date(Date.parse(last!.absoluteExpiresAt)).toISOString(), 'the idle deadline is capped by the absolute one');
    clock.advance(20 * MINUTE);
    assert.equal(sessions.lookup(id), null);
  });

  it('survives a restart (a new connection to the same file)', () => {
    const { id } = sessions.create('alice', 'admin');
    const other = openStateDatabase(temp.path);
    try {
      assert.equal(new SessionStore(other, { now: clock.now }).lookup(id)?.user, 'alice');
    } finally {
      other.close();
    }
  });

  it('logs out one session, or all of a user\'s', () => {
    const one = sessions.create('alice', 'admin');
    const two = sessions.create('alice', 'admin');
    const theirs = sessions.create('vera', 'viewer');
    assert.equal(sessions.delete(one.id), true);
    assert.equal(sessions.delete(one.id), false);
    assert.equal(sessions.lookup(one.id), null);
    assert.notEqual(sessions.lookup(two.id), null);
    assert.equal(sessions.deleteForUser('alice'), 1);
    assert.equal(sessions.lookup(two.id), null);
    assert.notEqual(sessions.lookup(theirs.id), null);
  });

  it('a removed user\'s sessions end; a demoted user\'s role drops at once', async () => {
    await users.add('root2', 'admin', PASSWORD);
    const session = sessions.create('alice', 'admin');
    users.setRole('alice', 'operator');
    assert.equal(sessions.lookup(session.id)?.role, 'operator');
    users.setRole('alice', 'admin');
    assert.equal(sessions.lookup(session.id)?.role, 'admin');
    users.remove('alice');
    assert.equal(sessions.lookup(session.id), null);
  });

  it('refuses an unknown user, and ignores ids of the wrong shape', () => {
    assert.throws(() => sessions.create('nobody', 'admin'), (error: unknown) => error instanceof FulcrumError && error.code === ErrorCode.ADMIN_NOT_FOUND);
    assert.equal(sessions.lookup(''), null);
    assert.equal(sessions.lookup('x'.repeat(10_000)), null);
  });

  it(`keeps at most ${MAX_SESSIONS_PER_USER} sessions per user (the oldest go) and drops expired ones`, () => {
    const first = sessions.create('vera', 'viewer');
    const old = sessions.create('alice', 'admin');
    for (let i = 0; i < MAX_SESSIONS_PER_USER; i++) {
      clock.advance(1);
      sessions.create('alice', 'admin');
    }
    assert.equal(sessions.lookup(old.id), null, 'the oldest of alice\'s went');
    const count = (user: string): number => (temp.db.sql.prepare('SELECT count(*) AS n FROM sessions WHERE owner = ?').get(user) as { n: number }).n;
    assert.equal(count('alice'), MAX_SESSIONS_PER_USER);
    assert.equal(count('vera'), 1, 'others are untouched');
    clock.advance(31 * MINUTE);
    sessions.create('alice', 'admin');
    assert.equal(count('alice'), 1);
    assert.equal(count('vera'), 0, 'expired sessions of anyone are dropped');
    assert.equal(sessions.lookup(first.id), null);
  });
});
