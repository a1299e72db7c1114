/**
 * The admin plane's users: a name, a role and a scrypt password hash, in the state database.
 * There is always at least one admin once there is a user: the last admin can be neither removed
 * nor demoted, or nobody could manage users again without editing the database by hand.
 * A user's tokens and sessions go with them (foreign keys, ON DELETE CASCADE in tokens.ts and
 * sessions.ts).
 */
import { ErrorCode, FulcrumError } from '../../errors.ts';
import { isRole, ROLES, type Role } from '../roles.ts';
import { migrate, type StateDatabase } from '../state/database.ts';
import { checkPasswordPolicy, DUMMY_HASH, hashPassword, needsRehash, verifyPassword } from './passwords.ts';

/** 1-64 characters: letters, digits, ".", "_", "@" and "-" (an e-mail address fits). */
const USER_NAME = /^[A-Za-z0-9._@-]{1,64}$/;

const USER_TABLES = [
  `CREATE TABLE users (
     name TEXT PRIMARY KEY NOT NULL,
     role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
     password_hash TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     last_login INTEGER
   ) STRICT`,
];

/** Create the users table when missing; tokens.ts and sessions.ts call it before theirs, which refer to it. */
export function migrateUserTables(db: StateDatabase): void {
  migrate(db, 'users', USER_TABLES);
}

/** A user as the API shows it: never the hash. */
export interface UserInfo {
  name: string;
  role: Role;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601; null before the first login. */
  lastLogin: string | null;
}

interface UserRow {
  name: string;
  role: Role;
  created_at: number;
  last_login: number | null;
}

export interface UserStoreOptions {
  /** Milliseconds since the epoch; tests inject a clock. */
  now?: () => number;
}

export function userNameProblem(name: string): string | null {
  return USER_NAME.test(name) ? null : `"${name.slice(0, 80)}" is not a valid user name: use 1 to 64 letters, digits, ".", "_", "@" or "-"`;
}

export class UserStore {
  readonly #db: StateDatabase;
  readonly #now: () => number;

  constructor(db: StateDatabase, options: UserStoreOptions = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
    migrateUserTables(db);
  }

  /**
   * Add a user: ADMIN_BAD_REQUEST for a bad name, role or password, or a first user who is not an
   * admin; ADMIN_EXISTS when the name is taken.
   */
  async add(name: string, role: Role, password: string): Promise<UserInfo> {
    checkName(name);
    checkRole(role);
    checkPasswordPolicy(password);
    if (this.get(name) !== undefined) throw exists(name);
    const hash = await hashPassword(password);
    // Checked again in the transaction: another process (fulcrum user add) may have added it while we hashed.
    return this.#db.transaction(`add user "${name}"`, () => {
      if (this.#row(name) !== undefined) throw exists(name);
      if (role !== 'admin' && this.#admins() === 0) {
        throw new FulcrumError(ErrorCode.ADMIN_BAD_REQUEST, "there is no admin yet: the first user must have the role admin, or nobody could manage users");
      }
      this.#db.sql.prepare('INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)').run(name, role, hash, this.#now());
      return info(this.#row(name)!);
    });
  }

  /** Every user, by name. */
  list(): UserInfo[] {
    return this.#db.guard('list users', () => (this.#db.sql.prepare('SELECT name, role, created_at, last_login FROM users ORDER BY name').all() as unknown as UserRow[]).map(info));
  }

  get(name: string): UserInfo | undefined {
    const row = this.#db.guard(`read user "${name}"`, () => this.#row(name));
    return row === undefined ? undefined : info(row);
  }

  count(): number {
    return this.#db.guard('count users', () => (this.#db.sql.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n);
  }

  /** Change a user's role; the last admin cannot be demoted (ADMIN_IN_USE). */
  setRole(name: string, role: Role): UserInfo {
    checkRole(role);
    return this.#db.transaction(`change the role of user "${name}"`, () => {
      const row = this.#row(name);
      if (row === undefined) throw notFound(name);
      if (row.role === 'admin' && role !== 'admin' && this.#admins() === 1) {
        throw new FulcrumError(ErrorCode.ADMIN_IN_USE, `"${name}" is the last admin and cannot become ${role}: make another user admin first`);
      }
      this.#db.sql.prepare('UPDATE users SET role = ? WHERE name = ?').run(role, name);
      return info({ ...row, role });
    });
  }

  /** Set a new password (policy applies). The caller ends the user's sessions (SessionStore.deleteForUser). */
  async setPassword(name: string, password: string): Promise<void> {
    checkPasswordPolicy(password);
    if (this.get(name) === undefined) throw notFound(name);
    const hash = await hashPassword(password);
    const changes = this.#db.guard(`set the password of user "${name}"`, () => this.#db.sql.prepare('UPDATE users SET password_hash = ? WHERE name = ?').run(hash, name).changes);
    if (changes === 0) throw notFound(name);
  }

  /** Remove a user, their tokens and sessions; the last admin cannot be removed (ADMIN_IN_USE). */
  remove(name: string): void {
    this.#db.transaction(`remove user "${name}"`, () => {
      const row = this.#row(name);
      if (row === undefined) throw notFound(name);
      if (row.role === 'admin' && this.#admins() === 1) {
        throw new FulcrumError(ErrorCode.ADMIN_IN_USE, `"${name}" is the last admin and cannot be removed: make another user admin first`);
      }
      this.#db.sql.prepare('DELETE FROM users WHERE name = ?').run(name);
    });
  }

  /**
   * The user's role when `password` is theirs, else null. A name that does not exist is checked
   * against a dummy hash all the same, so the answer takes as long either way and its timing does
   * not tell who exists.
   */
  async verify(name: string, password: string): Promise<Role | null> {
    const row = this.#db.guard(`read user "${name}"`, () => this.#db.sql.prepare('SELECT role, password_hash FROM users WHERE name = ?').get(name) as { role: Role; password_hash: string } | undefined);
    if (row === undefined) {
      await verifyPassword(password, DUMMY_HASH);
      return null;
    }
    if (!(await verifyPassword(password, row.password_hash))) return null;
    if (needsRehash(row.password_hash)) {
      // Made with an older cost: the login just proved the password, so store it at today's.
      const hash = await hashPassword(password);
      this.#db.guard(`rehash the password of user "${name}"`, () => this.#db.sql.prepare('UPDATE users SET password_hash = ? WHERE name = ? AND password_hash = ?').run(hash, name, row.password_hash));
    }
    return row.role;
  }

  recordLogin(name: string, at: number = this.#now()): void {
    this.#db.guard(`record the login of user "${name}"`, () => this.#db.sql.prepare('UPDATE users SET last_login = ? WHERE name = ?').run(at, name));
  }

  #row(name: string): UserRow | undefined {
    return this.#db.sql.prepare('SELECT name, role, created_at, last_login FROM users WHERE name = ?').get(name) as UserRow | undefined;
  }

  #admins(): number {
    return (this.#db.sql.prepare("SELECT count(*) AS n FROM users WHERE role = 'admin'").get() as { n: number }).n;
  }
}

function info(row: UserRow): UserInfo {
  return {
    name: row.name,
    role: row.role,
    createdAt: new Date(row.created_at).toISOString(),
    lastLogin: row.last_login === null ? null : new Date(row.last_login).toISOString(),
  };
}

function checkName(name: string): void {
  const problem = userNameProblem(name);
  if (problem !== null) throw new FulcrumError(ErrorCode.ADMIN_BAD_REQUEST, problem);
}

function checkRole(role: unknown): void {
  if (!isRole(role)) throw new FulcrumError(ErrorCode.ADMIN_BAD_REQUEST, `"${String(role)}" is not a role: use ${ROLES.join(', ')}`);
}

function exists(name: string): FulcrumError {
  return new FulcrumError(ErrorCode.ADMIN_EXISTS, `user "${name}" exists already`);
}

function notFound(name: string): FulcrumError {
  return new FulcrumError(ErrorCode.ADMIN_NOT_FOUND, `no user named "${name}"`);
}
