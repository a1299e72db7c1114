// UserStore over a real SQLite file: add, duplicates, roles, the last admin, verify, logins.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { UserStore } from '../../../src/admin/auth/users.ts';
import { openStateDatabase } from '../../../src/admin/state/database.ts';
import { ErrorCode } from '../../../src/errors.ts';
import { ManualClock, tempDatabase, type TempDatabase, hasCode } from './helpers.ts';

const PASSWORD = 'correct horse battery staple';


describe('UserStore', () => {
  let temp: TempDatabase;
  let clock: ManualClock;
  let users: UserStore;
  beforeEach(() => {
    temp = tempDatabase();
    clock = new ManualClock();
    users = new UserStore(temp.db, { now: clock.now });
  });
  afterEach(() => temp.remove());

  it('adds a user and lists it without the hash', async () => {
    const added = await users.add('alice', 'admin', PASSWORD);
    assert.deepEqual(added, { name: 'alice', role: 'admin', createdAt: new Date(clock.now()).toISOString(), lastLogin: null });
    assert.deepEqual(users.list(), [added]);
    assert.deepEqual(users.get('alice'), added);
    assert.equal(users.get('bob'), undefined);
    assert.equal(users.count(), 1);
    assert.ok(!JSON.stringify(users.list()).includes('scrypt'), 'no hash in what the API shows');
  });

  it('refuses a name that is taken, invalid, a bad role or a weak password', async () => {
    await users.add('alice', 'admin', PASSWORD);
    await assert.rejects(users.add('alice', 'viewer', PASSWORD), hasCode(ErrorCode.ADMIN_EXISTS, /"alice" exists already/));
    await assert.rejects(users.add('', 'viewer', PASSWORD), hasCode(ErrorCode.ADMIN_BAD_REQUEST, /not a valid user name/));
    await assert.rejects(users.add('a b', 'viewer', PASSWORD), hasCode(ErrorCode.ADMIN_BAD_REQUEST, /letters, digits/));
    await assert.rejects(users.add('x'.repeat(65), 'viewer', PASSWORD), hasCode(ErrorCode.ADMIN_BAD_REQUEST));
    await assert.rejects(users.add('bob', 'root' as never, PASSWORD), hasCode(ErrorCode.ADMIN_BAD_REQUEST, /not a role: use viewer, operator, admin/));
    await assert.rejects(users.add('bob', 'viewer', 'short'), hasCode(ErrorCode.ADMIN_BAD_REQUEST, /at least 12/));
    await users.add('bob.smith@example.com', 'viewer', PASSWORD);
    assert.deepEqual(users.list().map((user) => user.name), ['alice', 'bob.smith@example.com']);
  });

  it('the first user must be an admin', async () => {
    await assert.rejects(users.add('viewer1', 'viewer', PASSWORD), hasCode(ErrorCode.ADMIN_BAD_REQUEST, /first user must have the role admin/));
    assert.equal(users.count(), 0);
  });

  it('verifies passwords: the role when right, null when wrong or unknown', async () => {
    await users.add('alice', 'admin', PASSWORD);
    await users.add('olivia', 'operator', 'operator password 1');
    assert.equal(await users.verify('alice', PASSWORD), 'admin');
    assert.equal(await users.verify('olivia', 'operator password 1'), 'operator');
    assert.equal(await users.verify('alice', 'operator password 1'), null);
    assert.equal(await users.verify('nobody', PASSWORD), null);
  });

  it('an unknown user takes about as long to refuse as a wrong password', async () => {
    await users.add('alice', 'admin', PASSWORD);
    const time = async (name: string): Promise<number> => {
      const start = process.hrtime.bigint();
      await users.verify(name, 'a wrong password');
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    await time('alice');
    const known = Math.min(await time('alice'), await time('alice'));
    const unknown = Math.min(await time('nobody'), await time('nobody'));
    // Both run one scrypt of the same cost (tens of ms); without the dummy hash the unknown one takes well under a millisecond.
    assert.ok(unknown > known / 3, `unknown ${unknown.toFixed(1)} ms vs known ${known.toFixed(1)} ms`);
  });

  it('changes a password; the old one stops working', async () => {
    await users.add('alice', 'admin', PASSWORD);
    await users.setPassword('alice', 'a brand new passphrase');
    assert.equal(await users.verify('alice', PASSWORD), null);
    assert.equal(await users.verify('alice', 'a brand new passphrase'), 'admin');
    await assert.rejects(users.setPassword('alice', 'short'), hasCode(ErrorCode.ADMIN_BAD_REQUEST));
    await assert.rejects(users.setPassword('nobody', 'a brand new passphrase'), hasCode(ErrorCode.ADMIN_NOT_FOUND, /no user named "nobody"/));
  });

  it('the last admin can be neither removed nor demoted', async () => {
    await users.add('alice', 'admin', PASSWORD);
    await users.add('vera', 'viewer', PASSWORD);
    assert.throws(() => users.remove('alice'), hasCode(ErrorCode.ADMIN_IN_USE, /last admin and cannot be removed: make another user admin first/));
    assert.throws(() => users.setRole('alice', 'operator'), hasCode(ErrorCode.ADMIN_IN_USE, /last admin and cannot become operator/));
    assert.equal(users.get('alice')?.role, 'admin');
    assert.equal(users.setRole('vera', 'admin').role, 'admin');
    assert.equal(users.setRole('alice', 'viewer').role, 'viewer', 'now that vera is admin too');
    users.remove('alice');
    assert.deepEqual(users.list().map((user) => [user.name, user.role]), [['vera', 'admin']]);
    assert.throws(() => users.remove('vera'), hasCode(ErrorCode.ADMIN_IN_USE));
    assert.throws(() => users.remove('alice'), hasCode(ErrorCode.ADMIN_NOT_FOUND));
    assert.throws(() => users.setRole('alice', 'admin'), hasCode(ErrorCode.ADMIN_NOT_FOUND));
  });

  it('records the last login with the injected clock', async () => {
    await users.add('alice', 'admin', PASSWORD);
    clock.advance(3_600_000);
    users.recordLogin('alice');
    assert.equal(users.get('alice')?.lastLogin, new Date(clock.now()).toISOString());
  });

  it('rehashes a password made with an older cost at the next successful login', async () => {
    await users.add('alice', 'admin', PASSWORD);
    const { hashPassword } = await import('../../../src/admin/auth/passwords.ts');
    const current = await hashPassword(PASSWORD);
    // The same password at N=2^14 (cheaper than today's): what an older Fulcrum might have written.
    const { scrypt, randomBytes } = await import('node:crypto');
    const salt = randomBytes(32);
    const key = await new Promise<Buffer>((resolve, reject) => scrypt(PASSWORD, salt, 64, { N: 2 ** 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }, (e, k) => (e === null ? resolve(k) : reject(e))));
    const old = `scrypt$16384$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
    temp.db.sql.prepare('UPDATE users SET password_hash = ? WHERE name = ?').run(old, 'alice');
    assert.equal(await users.verify('alice', PASSWORD), 'admin');
    const stored = (temp.db.sql.prepare('SELECT password_hash FROM users WHERE name = ?').get('alice') as { password_hash: string }).password_hash;
    assert.equal(stored.split('$')[1], current.split('$')[1], 'stored again at today\'s N');
    assert.equal(await users.verify('alice', PASSWORD), 'admin');
  });

  it('a second process (another connection) sees users at once', async () => {
    await users.add('alice', 'admin', PASSWORD);
    const other = openStateDatabase(temp.path);
    try {
      const theirs = new UserStore(other);
      assert.equal(theirs.count(), 1);
      await theirs.add('bob', 'viewer', PASSWORD);
      assert.equal(users.get('bob')?.role, 'viewer');
    } finally {
      other.close();
    }
  });
});
