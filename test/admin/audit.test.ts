// The audit log over a real SQLite file: append, newest first, paging, the row bound.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { AuditLog, MAX_AUDIT_PAGE } from '../../src/admin/audit.ts';
import { openStateDatabase } from '../../src/admin/state/database.ts';
import { ErrorCode, FulcrumError } from '../../src/errors.ts';
import { ManualClock, tempDatabase, type TempDatabase } from './auth/helpers.ts';

describe('AuditLog', () => {
  let temp: TempDatabase;
  let clock: ManualClock;
  beforeEach(() => {
    temp = tempDatabase('fulcrum-audit-');
    clock = new ManualClock();
  });
  afterEach(() => temp.remove());

  it('records who, when, from where, what and the outcome, with a diff', () => {
    const audit = new AuditLog(temp.db, { now: clock.now });
    const diff = '--- a/fulcrum.yaml\n+++ b/fulcrum.yaml\n@@ -1 +1 @@\n-workers: 1\n+workers: 2\n';
    const id = audit.append({ user: 'alice', address: '127.0.0.1', action: 'config.update', target: 'config', outcome: 'ok', diff });
    clock.advance(1000);
    audit.append({ at: clock.now() + 5, user: 'mallory', address: '192.0.2.1', action: 'login-failed', target: 'users/mallory', outcome: 'failed', detail: 'wrong user name or password' });
    const entries = audit.list();
    assert.deepEqual(entries, [
      { id: id + 1, at: new Date(clock.now() + 5).toISOString(), user: 'mallory', address: '192.0.2.1', action: 'login-failed', target: 'users/mallory', outcome: 'failed', detail: 'wrong user name or password', diff: null },
      { id, at: new Date(clock.now() - 1000).toISOString(), user: 'alice', address: '127.0.0.1', action: 'config.update', target: 'config', outcome: 'ok', detail: null, diff },
    ]);
  });

  it('pages newest first with limit and before', () => {
    const audit = new AuditLog(temp.db, { now: clock.now });
    const ids = Array.from({ length: 25 }, (_, i) => audit.append({ user: 'alice', address: '::1', action: 'rs.state', target: `pools/web/real-servers/10.0.0.${i}:80`, outcome: 'ok' }));
    assert.equal(audit.list().length, 25);
    const first = audit.list({ limit: 10 });
    assert.deepEqual(first.map((entry) => entry.id), ids.slice(15).reverse());
    const second = audit.list({ limit: 10, before: first.at(-1)!.id });
    assert.deepEqual(second.map((entry) => entry.id), ids.slice(5, 15).reverse());
    const third = audit.list({ limit: 10, before: second.at(-1)!.id });
    assert.deepEqual(third.map((entry) => entry.id), ids.slice(0, 5).reverse());
    assert.deepEqual(audit.list({ before: ids[0] }), []);
  });

  it(`answers 100 by default and at most ${MAX_AUDIT_PAGE}`, () => {
    const audit = new AuditLog(temp.db, { now: clock.now });
    temp.db.transaction('fill', () => {
      for (let i = 0; i < 1100; i++) audit.append({ user: 'u', address: 'a', action: 'login', target: '', outcome: 'ok' });
    });
    assert.equal(audit.list().length, 100);
    assert.equal(audit.list({ limit: 5000 }).length, 1000);
    assert.equal(audit.list({ limit: 0 }).length, 1);
    assert.equal(audit.list({ limit: Number.NaN }).length, 100);
  });

  it('keeps at most maxRows entries, the newest', () => {
    const audit = new AuditLog(temp.db, { now: clock.now, maxRows: 10 });
    const ids = Array.from({ length: 35 }, (_, i) => audit.append({ user: 'alice', address: '::1', action: 'user.add', target: `users/u${i}`, outcome: 'ok' }));
    const count = (temp.db.sql.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n;
    assert.equal(count, 10);
    assert.deepEqual(audit.list().map((entry) => entry.id), ids.slice(25).reverse());
  });

  it('cuts a huge diff and says so', () => {
    const audit = new AuditLog(temp.db, { now: clock.now });
    audit.append({ user: 'alice', address: '::1', action: 'config.update', target: 'config', outcome: 'ok', diff: '+x\n'.repeat(100_000) });
    const [entry] = audit.list();
    assert.ok(entry!.diff!.length <= 64 * 1024);
    assert.match(entry!.diff!, /more characters not kept\)$/);
  });

  it('refuses an entry without an action or with an unknown outcome', () => {
    const audit = new AuditLog(temp.db, { now: clock.now });
    assert.throws(() => audit.append({ user: 'a', address: 'b', action: '', target: '', outcome: 'ok' }), (error: unknown) => error instanceof FulcrumError && error.code === ErrorCode.ADMIN_INTERNAL);
    assert.throws(() => audit.append({ user: 'a', address: 'b', action: 'x', target: '', outcome: 'maybe' as never }), /not an audit outcome/);
    assert.deepEqual(audit.list(), []);
  });

  it('survives a restart', () => {
    new AuditLog(temp.db, { now: clock.now }).append({ user: 'alice', address: '::1', action: 'restore', target: 'backup', outcome: 'ok' });
    const other = openStateDatabase(temp.path);
    try {
      assert.deepEqual(new AuditLog(other).list().map((entry) => entry.action), ['restore']);
    } finally {
      other.close();
    }
  });
});
