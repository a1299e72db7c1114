// The state database: where it lives, how it is opened (WAL, private file), migrations, errors.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { migrate, openStateDatabase, statePath, withoutSqliteWarning } from '../../../src/admin/state/database.ts';
import { ErrorCode, FulcrumError } from '../../../src/errors.ts';

describe('statePath', () => {
  it('puts the database beside the config, named after it', () => {
    assert.equal(statePath('/etc/fulcrum/fulcrum.yaml'), '/etc/fulcrum/fulcrum.db');
    assert.equal(statePath('/etc/fulcrum/site.json'), '/etc/fulcrum/site.db');
    assert.equal(statePath('/etc/fulcrum/noext'), '/etc/fulcrum/noext.db');
    assert.equal(statePath('conf/lb.yaml'), path.resolve('conf/lb.db'), 'a relative config is resolved from the working directory');
  });

  it('takes admin.database relative to the config directory, or absolute', () => {
    assert.equal(statePath('/etc/fulcrum/fulcrum.yaml', 'state/admin.db'), '/etc/fulcrum/state/admin.db');
    assert.equal(statePath('/etc/fulcrum/fulcrum.yaml', '/var/lib/fulcrum/state.db'), '/var/lib/fulcrum/state.db');
    assert.equal(statePath('/etc/fulcrum/fulcrum.yaml', ''), '/etc/fulcrum/fulcrum.db', 'an empty setting is the default');
  });

  it('never names the config itself', () => {
    assert.equal(statePath('/etc/fulcrum/odd.db'), '/etc/fulcrum/odd.state.db');
  });
});

describe('openStateDatabase', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'fulcrum-db-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a private file in WAL mode, with a busy timeout and foreign keys', () => {
    const file = path.join(dir, 'new.db');
    const db = openStateDatabase(file);
    try {
      assert.equal(statSync(file).mode & 0o777, 0o600, 'it holds password hashes');
      assert.deepEqual({ ...db.sql.prepare('PRAGMA journal_mode').get() }, { journal_mode: 'wal' });
      assert.deepEqual({ ...db.sql.prepare('PRAGMA busy_timeout').get() }, { timeout: 5000 });
      assert.deepEqual({ ...db.sql.prepare('PRAGMA foreign_keys').get() }, { foreign_keys: 1 });
      db.sql.exec('CREATE TABLE t (x INTEGER) STRICT; INSERT INTO t VALUES (1)');
      assert.ok(existsSync(`${file}-wal`), 'a write went to the WAL');
      assert.equal(statSync(`${file}-wal`).mode & 0o777, 0o600, 'the WAL (which holds recent rows) is as private as the database');
    } finally {
      db.close();
    }
  });

  it('tightens an existing file that others could read', () => {
    const file = path.join(dir, 'loose.db');
    writeFileSync(file, '');
    chmodSync(file, 0o644);
    openStateDatabase(file).close();
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it('keeps what was written across a reopen, and a second connection sees it at once', () => {
    const file = path.join(dir, 'shared.db');
    const first = openStateDatabase(file);
    const second = openStateDatabase(file);
    try {
      first.sql.exec("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT) STRICT; INSERT INTO kv VALUES ('a', '1')");
      assert.deepEqual({ ...second.sql.prepare('SELECT v FROM kv WHERE k = ?').get('a') }, { v: '1' });
    } finally {
      first.close();
      second.close();
    }
    const again = openStateDatabase(file);
    try {
      assert.deepEqual({ ...again.sql.prepare('SELECT v FROM kv').get() }, { v: '1' });
    } finally {
      again.close();
    }
  });

  it('a missing directory is a STATE_DATABASE error naming the file and what to check', () => {
    const file = path.join(dir, 'no-such-dir', 'x.db');
    assert.throws(
      () => openStateDatabase(file),
      (error: unknown) => {
        assert.ok(error instanceof FulcrumError);
        assert.equal(error.code, ErrorCode.STATE_DATABASE);
        assert.ok(error.message.includes(file), error.message);
        assert.match(error.message, /directory exists/);
        return true;
      },
    );
  });

  it('a file that is not a database is a STATE_DATABASE error that says to restore a backup', () => {
    const file = path.join(dir, 'text.db');
    writeFileSync(file, 'this is a text file, not SQLite, and it is long enough to have a header '.repeat(20));
    assert.throws(
      () => openStateDatabase(file),
      (error: unknown) => {
        assert.ok(error instanceof FulcrumError);
        assert.equal(error.code, ErrorCode.STATE_DATABASE);
        assert.ok(error.message.includes(file));
        assert.match(error.message, /not a Fulcrum state database: move it aside and restore a backup/);
        return true;
      },
    );
  });
});

describe('migrate', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'fulcrum-migrate-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs each step once, in order, and only the new ones later', () => {
    const db = openStateDatabase(path.join(dir, 'm.db'));
    try {
      const v1 = ['CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL) STRICT'];
      migrate(db, 'notes', v1);
      migrate(db, 'notes', v1);
      db.sql.prepare('INSERT INTO notes (text) VALUES (?)').run('kept');
      const v2 = [...v1, 'ALTER TABLE notes ADD COLUMN author TEXT', "UPDATE notes SET author = 'nobody'"];
      migrate(db, 'notes', v2);
      migrate(db, 'notes', v2);
      assert.deepEqual({ ...db.sql.prepare('SELECT text, author FROM notes').get() }, { text: 'kept', author: 'nobody' });
      assert.deepEqual({ ...db.sql.prepare("SELECT version FROM schema_versions WHERE component = 'notes'").get() }, { version: 3 });
    } finally {
      db.close();
    }
  });

  it('components have their own versions', () => {
    const db = openStateDatabase(path.join(dir, 'c.db'));
    try {
      migrate(db, 'a', ['CREATE TABLE a (x INTEGER) STRICT']);
      migrate(db, 'b', ['CREATE TABLE b (x INTEGER) STRICT', 'CREATE INDEX b_x ON b (x)']);
      const rows = db.sql.prepare('SELECT component, version FROM schema_versions ORDER BY component').all().map((row) => ({ ...row }));
      assert.deepEqual(rows, [{ component: 'a', version: 1 }, { component: 'b', version: 2 }]);
    } finally {
      db.close();
    }
  });

  it('a failing step leaves the component where it was', () => {
    const db = openStateDatabase(path.join(dir, 'f.db'));
    try {
      const good = 'CREATE TABLE f (x INTEGER) STRICT';
      migrate(db, 'f', [good]);
      assert.throws(() => migrate(db, 'f', [good, 'CREATE TABLE g (y INTEGER) STRICT', 'THIS IS NOT SQL']), (error: unknown) => {
        assert.ok(error instanceof FulcrumError);
        assert.equal(error.code, ErrorCode.STATE_DATABASE);
        assert.match(error.message, /cannot create or update the f tables/);
        return true;
      });
      assert.equal(db.sql.prepare("SELECT name FROM sqlite_master WHERE name = 'g'").get(), undefined, 'the step before the bad one was rolled back too');
      assert.deepEqual({ ...db.sql.prepare("SELECT version FROM schema_versions WHERE component = 'f'").get() }, { version: 1 });
    } finally {
      db.close();
    }
  });

  it('refuses a database a newer Fulcrum wrote', () => {
    const db = openStateDatabase(path.join(dir, 'n.db'));
    try {
      migrate(db, 'n', ['CREATE TABLE n1 (x INTEGER) STRICT', 'CREATE TABLE n2 (x INTEGER) STRICT']);
      assert.throws(() => migrate(db, 'n', ['CREATE TABLE n1 (x INTEGER) STRICT']), /newer than this Fulcrum knows \(1\): a newer Fulcrum wrote it/);
    } finally {
      db.close();
    }
  });
});

describe('transaction', () => {
  it('rolls back everything when the function throws, and commits otherwise', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fulcrum-tx-'));
    const db = openStateDatabase(path.join(dir, 't.db'));
    try {
      db.sql.exec('CREATE TABLE t (x INTEGER) STRICT');
      assert.throws(() =>
        db.transaction('insert two', () => {
          db.sql.exec('INSERT INTO t VALUES (1)');
          throw new FulcrumError(ErrorCode.ADMIN_BAD_REQUEST, 'changed my mind');
        }),
      /changed my mind/);
      assert.deepEqual({ ...db.sql.prepare('SELECT count(*) AS n FROM t').get() }, { n: 0 });
      assert.equal(db.sql.isTransaction, false);
      assert.equal(db.transaction('insert one', () => db.sql.prepare('INSERT INTO t VALUES (2)').run().changes), 1);
      assert.deepEqual({ ...db.sql.prepare('SELECT count(*) AS n FROM t').get() }, { n: 1 });
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the SQLite ExperimentalWarning', () => {
  it('withoutSqliteWarning drops exactly that warning and every other one is still printed', async () => {
    const moduleUrl = new URL('../../../src/admin/state/database.ts', import.meta.url).href;
    const script = [
      `const { withoutSqliteWarning } = await import(${JSON.stringify(moduleUrl)});`,
      'withoutSqliteWarning(() => {',
      "  process.emitWarning('SQLite is an experimental feature and might change at any time', 'ExperimentalWarning');",
      "  process.emitWarning('Something else is an experimental feature', 'ExperimentalWarning');",
      "  process.emitWarning('SQLite said something that is not experimental', 'DeprecationWarning');",
      '});',
      "process.emitWarning('SQLite is an experimental feature (emitted after loading)', 'ExperimentalWarning');",
    ].join('\n');
    const { stderr } = await run(['--input-type=module', '-e', script]);
    const warnings = stderr.split('\n').filter((line) => line.includes('Warning: '));
    assert.deepEqual(
      warnings.map((line) => line.replace(/^\(node:\d+\) /, '')),
      [
        'ExperimentalWarning: Something else is an experimental feature',
        'DeprecationWarning: SQLite said something that is not experimental',
        'ExperimentalWarning: SQLite is an experimental feature (emitted after loading)',
      ],
      'only the SQLite ExperimentalWarning, and only while the module loads, is dropped',
    );
  });

  it('opening a database prints nothing on stderr', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fulcrum-warn-'));
    const moduleUrl = new URL('../../../src/admin/state/database.ts', import.meta.url).href;
    const script = `const { openStateDatabase } = await import(${JSON.stringify(moduleUrl)}); openStateDatabase(${JSON.stringify(path.join(dir, 'w.db'))}).close(); console.log('opened');`;
    try {
      const { stdout, stderr } = await run(['--input-type=module', '-e', script]);
      assert.equal(stdout, 'opened\n');
      assert.equal(stderr, '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function run(args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: 20_000 }, (error, stdout, stderr) => (error === null ? resolve({ stdout, stderr }) : reject(error)));
  });
}
