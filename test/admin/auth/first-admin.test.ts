// The first admin from FULCRUM_ADMIN_USER and FULCRUM_ADMIN_PASSWORD at first start.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Logger } from 'pino';
import { UserStore } from '../../../src/admin/auth/users.ts';
import { ensureFirstAdmin, type FirstAdminLog } from '../../../src/admin/first-admin.ts';
import { ErrorCode, FulcrumError } from '../../../src/errors.ts';
import { tempDatabase, type TempDatabase } from './helpers.ts';

const PASSWORD = 'correct horse battery staple';

/** The supervisor's pino logger is a FirstAdminLog (checked by the compiler). */
export const pinoFits = (logger: Logger): FirstAdminLog => logger;

class RecordingLog implements FirstAdminLog {
  readonly lines: string[] = [];
  info(message: string): void {
    this.lines.push(`info: ${message}`);
  }
  warn(message: string): void {
    this.lines.push(`warn: ${message}`);
  }
}

describe('ensureFirstAdmin', () => {
  let temp: TempDatabase;
  let users: UserStore;
  let log: RecordingLog;
  beforeEach(() => {
    temp = tempDatabase();
    users = new UserStore(temp.db);
    log = new RecordingLog();
  });
  afterEach(() => temp.remove());

  it('creates the admin when there are no users, and drops the password from the environment', async () => {
    const env: NodeJS.ProcessEnv = { FULCRUM_ADMIN_USER: 'root', FULCRUM_ADMIN_PASSWORD: PASSWORD, PATH: '/bin' };
    assert.deepEqual(await ensureFirstAdmin(users, env, log), { action: 'created', user: 'root' });
    assert.equal(await users.verify('root', PASSWORD), 'admin');
    assert.deepEqual(env, { FULCRUM_ADMIN_USER: 'root', PATH: '/bin' }, 'workers forked later do not inherit the password');
    assert.equal(log.lines.length, 1);
    assert.match(log.lines[0]!, /^info: created the first admin "root" from FULCRUM_ADMIN_USER and FULCRUM_ADMIN_PASSWORD/);
  });

  it('does nothing but say so when users exist', async () => {
    await users.add('alice', 'admin', PASSWORD);
    const env: NodeJS.ProcessEnv = { FULCRUM_ADMIN_USER: 'root', FULCRUM_ADMIN_PASSWORD: PASSWORD };
    assert.deepEqual(await ensureFirstAdmin(users, env, log), { action: 'users-exist', users: 1 });
    assert.equal(users.get('root'), undefined);
    assert.equal(env['FULCRUM_ADMIN_PASSWORD'], undefined);
    assert.match(log.lines.join('\n'), /^warn: FULCRUM_ADMIN_USER\/FULCRUM_ADMIN_PASSWORD ignored: users exist already \(1\)/);
    assert.deepEqual(await ensureFirstAdmin(users, {}, new RecordingLog()), { action: 'users-exist', users: 1 }, 'and stays quiet without the variables');
  });

  it('without the variables and without users, warns that the API is open on loopback only; never a default password', async () => {
    assert.deepEqual(await ensureFirstAdmin(users, {}, log), { action: 'none' });
    assert.equal(users.count(), 0);
    assert.match(log.lines[0]!, /^warn: no users: the admin API answers only on loopback, where every client is admin; create the first admin with `fulcrum user add NAME --role admin -c CONFIG`/);
    assert.deepEqual(await ensureFirstAdmin(users, { FULCRUM_ADMIN_USER: '', FULCRUM_ADMIN_PASSWORD: '' }, log), { action: 'none' }, 'empty is unset');
  });

  it('a half-set pair, a bad name or a weak password is a clear error and creates nobody', async () => {
    const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [{ FULCRUM_ADMIN_USER: 'root' }, /FULCRUM_ADMIN_USER is set but FULCRUM_ADMIN_PASSWORD is not: set both .* \(there is no default password\)/],
      [{ FULCRUM_ADMIN_PASSWORD: PASSWORD }, /FULCRUM_ADMIN_PASSWORD is set but FULCRUM_ADMIN_USER is not/],
      [{ FULCRUM_ADMIN_USER: 'root user', FULCRUM_ADMIN_PASSWORD: PASSWORD }, /FULCRUM_ADMIN_USER: "root user" is not a valid user name/],
      [{ FULCRUM_ADMIN_USER: 'root', FULCRUM_ADMIN_PASSWORD: 'admin' }, /FULCRUM_ADMIN_PASSWORD: the password has 5 characters; use at least 12/],
    ];
    for (const [env, message] of cases) {
      await assert.rejects(ensureFirstAdmin(users, env, log), (error: unknown) => {
        assert.ok(error instanceof FulcrumError);
        assert.equal(error.code, ErrorCode.ADMIN_BAD_REQUEST);
        assert.match(error.message, /^cannot create the first admin: /);
        assert.match(error.message, message);
        return true;
      });
    }
    assert.equal(users.count(), 0);
  });
});
