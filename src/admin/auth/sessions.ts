/**
 * Browser sessions for the console: an unguessable id in the `fulcrum_session` cookie.
 *
 * - Kept in the state database, so a restart or a reload leaves people logged in; only a SHA-256
 *   of the id is stored (the id is 32 random bytes, so its hash cannot be inverted), so a copy of
 *   the database or a backup logs nobody in.
 * - Expiry: 30 minutes without a request (a console left open on an unattended desk) and 12 hours
 *   after login whatever happens (a working day; a stolen cookie is not good forever).
 * - The CSRF token is derived from the id (SHA-256 with its own label), so it needs no storage and
 *   knowing it tells nothing about the id.
 * - The role is the lower of the one at login and the user's current one: a demotion applies at
 *   once, a promotion at the next login. A removed user's sessions go with them (ON DELETE CASCADE).
 */
import { createHash, randomBytes } from 'node:crypto';
import { ErrorCode, FulcrumError } from '../../errors.ts';
import { atMost, type Role } from '../roles.ts';
import { migrate, type StateDatabase } from '../state/database.ts';
import { migrateUserTables } from './users.ts';

const MINUTE_MS = 60_000;
export const SESSION_IDLE_TIMEOUT_MS = 30 * MINUTE_MS;
export const SESSION_ABSOLUTE_TIMEOUT_MS = 12 * 60 * MINUTE_MS;
/** The idle deadline is pushed back at most once a minute: the console polls every few seconds, and each push is a write. */
const RENEW_GRANULARITY_MS = MINUTE_MS;
/** Oldest sessions beyond this per user are ended: a script that logs in on every run must not grow the table forever. */
export const MAX_SESSIONS_PER_USER = 50;
const ID_BYTES = 32;

const SESSION_TABLES = [
  `CREATE TABLE sessions (
     id_sha256 BLOB PRIMARY KEY NOT NULL,
     owner TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
     role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
     created_at INTEGER NOT NULL,
     renewed_at INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX sessions_owner ON sessions (owner, created_at)`,
];

export interface Session {
  /** The cookie's value: 32 random bytes, base64url. Never stored. */
  id: string;
  /** To be echoed in X-CSRF-Token by every unsafe request made with the cookie. */
  csrfToken: string;
  user: string;
  role: Role;
  /** ISO 8601: when the session ends if unused (the idle deadline, capped by the absolute one). */
  expiresAt: string;
  /** ISO 8601: when the session ends in any case (login + 12 h); the cookie's Max-Age. */
  absoluteExpiresAt: string;
}

interface SessionRow {
  owner: string;
  role: Role;
  created_at: number;
  renewed_at: number;
  user_role: Role;
}

export interface SessionStoreOptions {
  now?: () => number;
}

/** The CSRF token of a session id. */
export function csrfTokenFor(id: string): string {
  return createHash('sha256').update('fulcrum csrf\0').update(id).digest('base64url');
}

export class SessionStore {
  readonly #db: StateDatabase;
  readonly #now: () => number;

  constructor(db: StateDatabase, options: SessionStoreOptions = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
    migrateUserTables(db);
    migrate(db, 'sessions', SESSION_TABLES);
  }

  /** A new session for `user` (who must exist: ADMIN_NOT_FOUND otherwise). */
  create(user: string, role: Role, now: number = this.#now()): Session {
    const id = randomBytes(ID_BYTES).toString('base64url');
    this.#db.transaction(`start a session for user "${user}"`, () => {
      if (this.#db.sql.prepare('SELECT 1 FROM users WHERE name = ?').get(user) === undefined) {
        throw new FulcrumError(ErrorCode.ADMIN_NOT_FOUND, `no user named "${user}"`);
      }
      this.#db.sql.prepare('DELETE FROM sessions WHERE created_at <= ? OR renewed_at <= ?').run(now - SESSION_ABSOLUTE_TIMEOUT_MS, now - SESSION_IDLE_TIMEOUT_MS);
      this.#db.sql
        .prepare('DELETE FROM sessions WHERE owner = ? AND id_sha256 NOT IN (SELECT id_sha256 FROM sessions WHERE owner = ? ORDER BY created_at DESC LIMIT ?)')
        .run(user, user, MAX_SESSIONS_PER_USER - 1);
      this.#db.sql.prepare('INSERT INTO sessions (id_sha256, owner, role, created_at, renewed_at) VALUES (?, ?, ?, ?, ?)').run(hashId(id), user, role, now, now);
    });
    return session(id, { owner: user, role, created_at: now, renewed_at: now, user_role: role });
  }

  /** The live session with this id, its idle deadline pushed back; null when unknown or expired (an expired one is deleted). */
  lookup(id: string, now: number = this.#now()): Session | null {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return null;
    const key = hashId(id);
    const row = this.#db.guard('check a session', () =>
      this.#db.sql.prepare('SELECT s.owner, s.role, s.created_at, s.renewed_at, u.role AS user_role FROM sessions s JOIN users u ON u.name = s.owner WHERE s.id_sha256 = ?').get(key),
    ) as SessionRow | undefined;
    if (row === undefined) return null;
    if (now >= deadline(row)) {
      this.#db.guard('end an expired session', () => this.#db.sql.prepare('DELETE FROM sessions WHERE id_sha256 = ?').run(key));
      return null;
    }
    if (now - row.renewed_at >= RENEW_GRANULARITY_MS) {
      this.#db.guard('renew a session', () => this.#db.sql.prepare('UPDATE sessions SET renewed_at = ? WHERE id_sha256 = ?').run(now, key));
      row.renewed_at = now;
    }
    return session(id, row);
  }

  /** Log out; false when there was no such session. */
  delete(id: string): boolean {
    return this.#db.guard('end a session', () => this.#db.sql.prepare('DELETE FROM sessions WHERE id_sha256 = ?').run(hashId(id)).changes > 0);
  }

  /** End every session of `user` (after a password change); how many there were. */
  deleteForUser(user: string): number {
    return Number(this.#db.guard(`end the sessions of user "${user}"`, () => this.#db.sql.prepare('DELETE FROM sessions WHERE owner = ?').run(user).changes));
  }
}

function deadline(row: Pick<SessionRow, 'created_at' | 'renewed_at'>): number {
  return Math.min(row.renewed_at + SESSION_IDLE_TIMEOUT_MS, row.created_at + SESSION_ABSOLUTE_TIMEOUT_MS);
}

function session(id: string, row: SessionRow): Session {
  return {
    id,
    csrfToken: csrfTokenFor(id),
    user: row.owner,
    role: atMost(row.role, row.user_role) ? row.role : row.user_role,
    expiresAt: new Date(deadline(row)).toISOString(),
    absoluteExpiresAt: new Date(row.created_at + SESSION_ABSOLUTE_TIMEOUT_MS).toISOString(),
  };
}

function hashId(id: string): Buffer {
  return createHash('sha256').update(id).digest();
}
