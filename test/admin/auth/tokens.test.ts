// TokenStore: shown once, stored hashed, expiry with an injected clock, revocation, the role ceiling.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { MAX_TOKENS_PER_USER, parseExpiresIn, TokenStore } from '../../../src/admin/auth/tokens.ts';
import { UserStore } from '../../../src/admin/auth/users.ts';
import { ErrorCode } from '../../../src/errors.ts';
import { DAY, hasCode, HOUR, ManualClock, MINUTE, tempDatabase, type TempDatabase } from './helpers.ts';

const PASSWORD = 'correct horse battery staple';


describe('parseExpiresIn', () => {
  it('reads days, hours and minutes up to 366 days', () => {
    assert.equal(parseExpiresIn('30d'), 30 * DAY);
    assert.equal(parseExpiresIn('12h'), 12 * HOUR);
    assert.equal(parseExpiresIn('90m'), 90 * MINUTE);
    assert.equal(parseExpiresIn('366d'), 366 * DAY);
    assert.throws(() => parseExpiresIn('367d'), hasCode(ErrorCode.ADMIN_BAD_REQUEST, /longer than 366 days/));
    assert.throws(() => parseExpiresIn('8785h'), hasCode(ErrorCode.ADMIN_BAD_REQUEST, /longer than 366 days/));
    for (const bad of ['0d', '', '30', 'd', '1w', '-1d', '1.5d', '30 d', 'never']) {
      assert.throws(() => parseExpiresIn(bad), hasCode(ErrorCode.ADMIN_BAD_REQUEST, /is not a duration/), bad);
    }
  });
});

describe('TokenStore', () => {
  let temp: TempDatabase;
  let clock: ManualClock;
  let users: UserStore;
  let tokens: TokenStore;
  beforeEach(async () => {
    temp = tempDatabase();
    clock = new ManualClock();
    users = new UserStore(temp.db, { now: clock.now });
    tokens = new TokenStore(temp.db, { now: clock.now });
    await users.add('alice', 'admin', PASSWORD);
    await users.add('olivia', 'operator', PASSWORD);
  });
  afterEach(() => temp.remove());

  it('creates a token shown once, stores only a hash of its secret, and verifies it', () => {
    const created = tokens.create({ name: 'backup script', role: 'viewer', user: 'alice', expiresIn: '30d' });
    assert.match(created.token, /^fulcrum_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.ok(created.token.startsWith(`fulcrum_${created.id}_`));
    assert.deepEqual(
      { ...created, token: undefined },
      { id: created.id, name: 'backup script', role: 'viewer', user: 'alice', createdAt: new Date(clock.now()).toISOString(), expiresAt: new Date(clock.now() + 30 * DAY).toISOString(), token: undefined },
    );
    const secret = created.token.slice(`fulcrum_${created.id}_`.length);
    const stored = temp.db.sql.prepare('SELECT * FROM tokens').get() as Record<string, unknown>;
    assert.ok(!Object.values(stored).some((value) => typeof value === 'string' && value.includes(secret)), 'the secret is not stored');
    assert.deepEqual(Buffer.from(stored['secret_sha256'] as Uint8Array), createHash('sha256').update(secret).digest());
    assert.deepEqual(tokens.verify(created.token), { id: created.id, user: 'alice', role: 'viewer' });
  });

  it('defaults to 90 days', () => {
    const created = tokens.create({ name: 'ci', role: 'operator', user: 'olivia' });
    assert.equal(Date.parse(created.expiresAt) - clock.now(), 90 * DAY);
  });

  it('refuses a wrong secret, a malformed token and an unknown id', () => {
    const created = tokens.create({ name: 'ci', role: 'viewer', user: 'alice', expiresIn: '1d' });
    const wrongSecret = `fulcrum_${created.id}_${'A'.repeat(43)}`;
    assert.equal(tokens.verify(wrongSecret), null);
    assert.equal(tokens.verify(`fulcrum_0000000000000000_${created.token.slice(-43)}`), null);
    for (const bad of ['', 'fulcrum_', created.token.slice(0, -1), `${created.token}x`, created.token.replace('fulcrum_', 'other_'), 'Bearer x']) {
      assert.equal(tokens.verify(bad), null, bad);
    }
    assert.notEqual(tokens.verify(created.token), null, 'the right one still works');
  });

  it('expires at expiresAt (injected clock)', () => {
    const created = tokens.create({ name: 'short', role: 'viewer', user: 'alice', expiresIn: '90m' });
    clock.advance(90 * MINUTE - 1);
    assert.notEqual(tokens.verify(created.token), null);
    clock.advance(1);
    assert.equal(tokens.verify(created.token), null);
    assert.notEqual(tokens.verify(created.token, clock.now() - 10 * MINUTE), null, 'an explicit now wins over the store clock');
  });

  it('is revoked at once, and revoking twice says there was nothing', () => {
    const created = tokens.create({ name: 'ci', role: 'viewer', user: 'alice' });
    assert.equal(tokens.revoke(created.id), true);
    assert.equal(tokens.verify(created.token), null);
    assert.equal(tokens.revoke(created.id), false);
    assert.equal(tokens.get(created.id), undefined);
  });

  it('a token can ask at most its owner\'s role', () => {
    assert.throws(() => tokens.create({ name: 'too much', role: 'admin', user: 'olivia' }), hasCode(ErrorCode.ADMIN_FORBIDDEN, /at most their role, operator, not admin/));
    assert.equal(tokens.create({ name: 'same', role: 'operator', user: 'olivia' }).role, 'operator');
    assert.equal(tokens.create({ name: 'less', role: 'viewer', user: 'olivia' }).role, 'viewer');
    assert.throws(() => tokens.create({ name: 'orphan', role: 'viewer', user: 'nobody' }), hasCode(ErrorCode.ADMIN_BAD_REQUEST, /no user named "nobody"/));
    assert.throws(() => tokens.create({ name: '', role: 'viewer', user: 'alice' }), hasCode(ErrorCode.ADMIN_BAD_REQUEST, /needs a name/));
    assert.throws(() => tokens.create({ name: 'x', role: 'god' as never, user: 'alice' }), hasCode(ErrorCode.ADMIN_BAD_REQUEST, /not a role/));
    assert.throws(() => tokens.create({ name: 'x', role: 'viewer', user: 'alice', expiresIn: '400d' }), hasCode(ErrorCode.ADMIN_BAD_REQUEST, /366 days/));
  });

  it('a demoted owner drags their tokens down; a removed owner\'s tokens stop working', async () => {
    const created = tokens.create({ name: 'admin script', role: 'admin', user: 'alice' });
    await users.add('root2', 'admin', PASSWORD);
    users.setRole('alice', 'viewer');
    assert.deepEqual(tokens.verify(created.token), { id: created.id, user: 'alice', role: 'viewer' });
    users.setRole('alice', 'admin');
    assert.equal(tokens.verify(created.token)?.role, 'admin', 'the token keeps the role it was created with');
    users.remove('alice');
    assert.equal(tokens.verify(created.token), null);
    assert.deepEqual(tokens.list('alice'), [], 'gone with its owner');
  });

  it('lists tokens without secrets, all or one user\'s, newest first, with lastUsed at most once a minute', () => {
    const a = tokens.create({ name: 'a', role: 'viewer', user: 'alice' });
    clock.advance(1000);
    const b = tokens.create({ name: 'b', role: 'operator', user: 'olivia' });
    assert.deepEqual(tokens.list().map((token) => token.id), [b.id, a.id]);
    assert.deepEqual(tokens.list('olivia').map((token) => token.id), [b.id]);
    assert.ok(!JSON.stringify(tokens.list()).includes(a.token.slice(-43)));
    assert.equal(tokens.list('alice')[0]!.lastUsed, null);

    const firstUse = clock.now();
    tokens.verify(a.token);
    assert.equal(tokens.get(a.id)?.lastUsed, new Date(firstUse).toISOString());
    clock.advance(59_000);
    tokens.verify(a.token);
    assert.equal(tokens.get(a.id)?.lastUsed, new Date(firstUse).toISOString(), 'not written again within a minute');
    clock.advance(1000);
    tokens.verify(a.token);
    assert.equal(tokens.get(a.id)?.lastUsed, new Date(clock.now()).toISOString());
  });

  it(`holds at most ${MAX_TOKENS_PER_USER} tokens per user, and forgets tokens expired for 30 days`, () => {
    for (let i = 0; i < MAX_TOKENS_PER_USER; i++) tokens.create({ name: `t${i}`, role: 'viewer', user: 'olivia', expiresIn: '1d' });
    assert.throws(() => tokens.create({ name: 'one more', role: 'viewer', user: 'olivia' }), hasCode(ErrorCode.ADMIN_BAD_REQUEST, /revoke some first/));
    clock.advance(2 * DAY);
    assert.equal(tokens.list('olivia').length, MAX_TOKENS_PER_USER, 'expired ones stay listed for a while');
    clock.advance(30 * DAY);
    tokens.create({ name: 'fresh', role: 'viewer', user: 'olivia' });
    assert.deepEqual(tokens.list('olivia').map((token) => token.name), ['fresh']);
  });
});
