/**
 * The admin plane's state database: users, API tokens, browser sessions, the audit log, config
 * versions and statistics history, in one SQLite file next to the config file
 * (/etc/fulcrum/fulcrum.yaml -> /etc/fulcrum/fulcrum.db), through Node 24's built-in node:sqlite
 * (no native package to build or download).
 *
 * - WAL mode: the supervisor and a `fulcrum user` command (another process) use the file at once;
 *   readers never wait for a writer, and a writer waits up to 5 s (busy_timeout) for another.
 * - Mode 0600: it holds password hashes. SQLite gives the -wal and -shm files the same mode.
 * - Each component owns its tables and creates them with `migrate(db, component, steps)`: a list of
 *   SQL steps, applied once each and in order, recorded in `schema_versions`.
 * - Every failure is a FulcrumError(STATE_DATABASE) that names the file and says what to do.
 *
 * Other modules must not `import { DatabaseSync } from 'node:sqlite'` themselves (only
 * `import type`): loading the module here is what keeps its ExperimentalWarning off the terminal.
 */
import { chmodSync, closeSync, fstatSync, openSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { ErrorCode, FulcrumError } from '../../errors.ts';

/** How long a write waits for another process's write lock before failing (SQLITE_BUSY). */
const BUSY_TIMEOUT_MS = 5000;
const PRIVATE_FILE_MODE = 0o600;

/**
 * Where the state database of a config lives: `configured` (admin.database, relative to the
 * config's directory) when given, else beside the config with its name: fulcrum.yaml -> fulcrum.db.
 */
export function statePath(configPath: string, configured?: string): string {
  const configFile = resolve(configPath);
  const dir = dirname(configFile);
  if (configured !== undefined && configured !== '') return resolve(dir, configured);
  const base = basename(configFile, extname(configFile));
  const path = join(dir, `${base}.db`);
  // A config named fulcrum.db (unlikely, but) must never be opened as the database.
  return path === configFile ? join(dir, `${base}.state.db`) : path;
}

export class StateDatabase {
  readonly path: string;
  /** The connection. Prepare statements once and run them inside guard() or transaction(). */
  readonly sql: DatabaseSync;

  constructor(path: string, sql: DatabaseSync) {
    this.path = path;
    this.sql = sql;
  }

  /** Run `fn`; an SQLite failure becomes a FulcrumError(STATE_DATABASE) saying what could not be done ("add user \"alice\""). */
  guard<T>(action: string, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw stateError(this.path, action, error);
    }
  }

  /**
   * Run `fn` (synchronous: node:sqlite is) in one write transaction, rolled back if it throws.
   * BEGIN IMMEDIATE takes the write lock first, so a check then write ("is this the last admin?")
   * cannot interleave with another process's. Inside another transaction, `fn` joins it.
   */
  transaction<T>(action: string, fn: () => T): T {
    if (this.sql.isTransaction) return this.guard(action, fn);
    return this.guard(action, () => {
      this.sql.exec('BEGIN IMMEDIATE');
      try {
        const result = fn();
        this.sql.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.sql.isTransaction) this.sql.exec('ROLLBACK');
        throw error;
      }
    });
  }

  close(): void {
    if (this.sql.isOpen) this.sql.close();
  }
}

/** Open (creating when missing) the state database at `path`. */
export function openStateDatabase(path: string): StateDatabase {
  const { DatabaseSync } = loadSqlite();
  if (path !== ':memory:') ensurePrivateFile(path);
  let sql: DatabaseSync;
  try {
    sql = new DatabaseSync(path);
  } catch (error) {
    throw stateError(path, 'open it', error);
  }
  const db = new StateDatabase(path, sql);
  try {
    db.guard('set it up', () => {
      // busy_timeout first: switching to WAL needs a lock another process may hold.
      sql.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      const mode = sql.prepare('PRAGMA journal_mode = WAL').get() as { journal_mode: string } | undefined;
      if (path !== ':memory:' && mode?.journal_mode !== 'wal') {
        throw new Error(`the file system refused WAL mode (journal_mode is ${mode?.journal_mode ?? 'unknown'}); put the database on a local disk`);
      }
      sql.exec('PRAGMA foreign_keys = ON');
      sql.exec('CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL) STRICT');
    });
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/**
 * Bring `component`'s tables up to date: run each of `steps` (SQL, several statements allowed)
 * not run yet, in order, in one transaction. Steps are append-only: never edit a released step,
 * add a new one (ALTER TABLE ...). Safe to call at every start and from several processes at once.
 */
export function migrate(db: StateDatabase, component: string, steps: readonly string[]): void {
  const versionOf = (): number => {
    const row = db.sql.prepare('SELECT version FROM schema_versions WHERE component = ?').get(component) as { version: number } | undefined;
    return row?.version ?? 0;
  };
  // Up to date (every start after the first): no write lock taken.
  if (db.guard(`read the ${component} schema version`, versionOf) === steps.length) return;
  db.transaction(`create or update the ${component} tables`, () => {
    const current = versionOf();
    if (current > steps.length) {
      throw new FulcrumError(
        ErrorCode.STATE_DATABASE,
        `${db.path}: its ${component} tables are at version ${current}, newer than this Fulcrum knows (${steps.length}): a newer Fulcrum wrote it; run that version, or restore a backup this version made`,
      );
    }
    for (let version = current; version < steps.length; version++) db.sql.exec(steps[version]!);
    db.sql.prepare('INSERT INTO schema_versions (component, version) VALUES (?, ?) ON CONFLICT (component) DO UPDATE SET version = excluded.version').run(component, steps.length);
  });
}

/** A SQLite (or file system) failure, as a FulcrumError that names the file and what to do. */
export function stateError(path: string, action: string, error: unknown): FulcrumError {
  if (error instanceof FulcrumError) return error;
  const { errcode, errstr, code } = (error ?? {}) as { errcode?: number; errstr?: string; code?: string };
  const reason = errstr ?? (error instanceof Error ? error.message : String(error));
  return new FulcrumError(ErrorCode.STATE_DATABASE, `state database ${path}: cannot ${action}: ${reason}; ${advice(errcode, code)}`, { cause: error });
}

function advice(errcode: number | undefined, code: string | undefined): string {
  // SQLite's extended codes keep the primary code in the low byte (517 SQLITE_BUSY_SNAPSHOT -> 5).
  switch (errcode === undefined ? undefined : errcode & 0xff) {
    case 5: // SQLITE_BUSY
    case 6: // SQLITE_LOCKED
      return `another process (the running fulcrum, or a fulcrum user command) held it locked for more than ${BUSY_TIMEOUT_MS / 1000} s: try again`;
    case 3: // SQLITE_PERM
    case 8: // SQLITE_READONLY
    case 14: // SQLITE_CANTOPEN
      return 'check that its directory exists and that the user running fulcrum may write to it and to the file (SQLite also creates NAME-wal and NAME-shm beside it)';
    case 13: // SQLITE_FULL
      return 'the disk is full: free some space';
    case 10: // SQLITE_IOERR
      return 'the disk reported an I/O error: check it';
    case 11: // SQLITE_CORRUPT
    case 26: // SQLITE_NOTADB
      return 'the file is damaged or is not a Fulcrum state database: move it aside and restore a backup (users and tokens otherwise have to be created again)';
    case 19: // SQLITE_CONSTRAINT: a bug, the stores check before writing
      return 'this is a bug in Fulcrum: please report it';
    default:
      if (code === 'EACCES' || code === 'EPERM' || code === 'ENOENT' || code === 'EROFS') {
        return 'check that its directory exists and that the user running fulcrum may write to it';
      }
      return 'check the file and its directory';
  }
}

/**
 * Create the file with mode 0600 before SQLite does (SQLite would use 0644), or tighten an existing
 * one we own. A file someone else owns and lets us write (a shared group) is their choice: left as is.
 */
function ensurePrivateFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'a', PRIVATE_FILE_MODE);
  } catch (error) {
    throw stateError(path, 'open it', error);
  }
  try {
    const stats = fstatSync(fd);
    const ours = stats.uid === process.getuid?.();
    if (ours && (stats.mode & 0o077) !== 0) chmodSync(path, PRIVATE_FILE_MODE);
  } catch (error) {
    throw stateError(path, `make it private (mode 0600; it holds password hashes)`, error);
  } finally {
    closeSync(fd);
  }
}

type SqliteModule = typeof import('node:sqlite');
let sqliteModule: SqliteModule | undefined;

/**
 * node:sqlite, loaded once. Node 24 releases before about 24.14 print "ExperimentalWarning: SQLite
 * is an experimental feature" when it is first loaded (24.21 no longer does); a user running
 * `fulcrum user list` cannot act on it, so exactly that warning is dropped and every other warning
 * still printed.
 */
function loadSqlite(): SqliteModule {
  sqliteModule ??= withoutSqliteWarning(() => process.getBuiltinModule('node:sqlite'));
  return sqliteModule;
}

/** Run `load` with the SQLite ExperimentalWarning (emitted synchronously while the module loads) dropped. */
export function withoutSqliteWarning<T>(load: () => T): T {
  const emitWarning = process.emitWarning;
  process.emitWarning = function emitWarningExceptSqlite(this: NodeJS.Process, warning: string | Error, ...rest: unknown[]): void {
    if (isSqliteExperimentalWarning(warning, rest[0])) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    return load();
  } finally {
    process.emitWarning = emitWarning;
  }
}

function isSqliteExperimentalWarning(warning: string | Error, typeOrOptions: unknown): boolean {
  const message = typeof warning === 'string' ? warning : warning.message;
  const type = typeof warning !== 'string' ? warning.name : typeof typeOrOptions === 'string' ? typeOrOptions : (typeOrOptions as { type?: string } | undefined)?.type;
  return type === 'ExperimentalWarning' && message.startsWith('SQLite ');
}
