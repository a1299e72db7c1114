/**
 * API tokens for scripts and the CLI: `Authorization: Bearer fulcrum_<id>_<secret>`.
 *
 * - Shown once: only a hash of the secret is stored. SHA-256 (not scrypt) is right here: the
 *   secret is 32 random bytes (256 bits), so no dictionary or brute force can invert its hash and
 *   a slow hash would only make every API call slow.
 * - The id (16 hex digits, never "_") is public: it names the token in lists and for revoking.
 * - Every token expires (default 90 days, at most 366) and belongs to a user: its role is at most
 *   its owner's, at creation (a higher one is refused) and at each use (an owner demoted since
 *   drags their tokens down); a removed owner's tokens go with them (ON DELETE CASCADE).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCode, FulcrumError } from '../../errors.ts';
import { atMost, isRole, ROLES, type Role } from '../roles.ts';
import { migrate, type StateDatabase } from '../state/database.ts';
import { migrateUserTables } from './users.ts';

const TOKEN_PREFIX = 'fulcrum_';
const ID_BYTES = 8;
const SECRET_BYTES = 32;
const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
export const DEFAULT_EXPIRES_IN = '90d';
export const MAX_EXPIRY_DAYS = 366;
/** lastUsed is written at most once a minute per token: a script polling every second must not turn every read into a write. */
const LAST_USED_GRANULARITY_MS = MINUTE_MS;
/** Expired tokens stay listed (so a script's owner sees why it fails) for 30 days, then go. */
const KEEP_EXPIRED_MS = 30 * DAY_MS;
/** A bound on rows one user can create (each is tiny; the bound is against a runaway script). */
export const MAX_TOKENS_PER_USER = 100;
const MAX_NAME_LENGTH = 100;

const TOKEN_TABLES = [
  `CREATE TABLE tokens (
     id TEXT PRIMARY KEY NOT NULL,
     secret_sha256 BLOB NOT NULL,
     name TEXT NOT NULL,
     role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
     owner TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     last_used INTEGER
   ) STRICT;
   CREATE INDEX tokens_owner ON tokens (owner)`,
];

export interface NewToken {
  name: string;
  role: Role;
  /** The owner: a user that exists. */
  user: string;
  /** "30d", "12h", "90m"; default 90d, at most 366d. */
  expiresIn?: string | undefined;
}

/** A token as lists show it: never the secret. Times are ISO 8601. */
export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  user: string;
  createdAt: string;
  expiresAt: string;
  lastUsed: string | null;
}

/** What create() answers, once: `token` is the only time the secret exists outside the caller's hands. */
export interface CreatedToken extends Omit<TokenInfo, 'lastUsed'> {
  token: string;
}

export interface VerifiedToken {
  id: string;
  user: string;
  /** The token's role, lowered to its owner's current role. */
  role: Role;
}

interface TokenRow {
  id: string;
  name: string;
  role: Role;
  owner: string;
  created_at: number;
  expires_at: number;
  last_used: number | null;
}

export interface TokenStoreOptions {
  now?: () => number;
}

/** "30d", "12h", "90m" in milliseconds; ADMIN_BAD_REQUEST for anything else, zero, or more than 366 days. */
export function parseExpiresIn(text: string): number {
  const match = /^([0-9]{1,6})([dhm])$/.exec(text);
  const unit = { d: DAY_MS, h: 60 * MINUTE_MS, m: MINUTE_MS } as const;
  const ms = match === null ? NaN : Number(match[1]) * unit[match[2] as keyof typeof unit];
  if (!(ms > 0)) throw new FulcrumError(ErrorCode.ADMIN_BAD_REQUEST, `expiresIn "${text.slice(0, 40)}" is not a duration: write a number and d, h or m, e.g. 30d, 12h, 90m`);
  if (ms > MAX_EXPIRY_DAYS * DAY_MS) throw new FulcrumError(ErrorCode.ADMIN_BAD_REQUEST, `expiresIn "${text}" is longer than ${MAX_EXPIRY_DAYS} days: every token expires; create a new one before it does`);
  return ms;
}

export class TokenStore {
  readonly #db: StateDatabase;
  readonly #now: () => number;

  constructor(db: StateDatabase, options: TokenStoreOptions = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
    migrateUserTables(db);
    migrate(db, 'tokens', TOKEN_TABLES);
  }

  /**
   * A new token for `user`. ADMIN_BAD_REQUEST for a bad name, role, expiry or an unknown user;
   * ADMIN_FORBIDDEN when the role is above the owner's.
   */
  create(request: NewToken, now: number = this.#now()): CreatedToken {
    const { name, role, user } = request;
    if (typeof name !== 'string' || name.trim() === '' || name.length > MAX_NAME_LENGTH || /\p{Cc}/u.test(name)) {
      throw new FulcrumError(ErrorCode.ADMIN_BAD_REQUEST, `a token needs a name of 1 to ${MAX_NAME_LENGTH} printable characters (what it is for: "backup script")`);
    }
    if (!isRole(role)) throw new FulcrumError(ErrorCode.ADMIN_BAD_REQUEST, `"${String(role)}" is not a role: use ${ROLES.join(', ')}`);
    const lifetime = parseExpiresIn(request.expiresIn ?? DEFAULT_EXPIRES_IN);
    const id = randomBytes(ID_BYTES).toString('hex');
    const secret = randomBytes(SECRET_BYTES).toString('base64url');
    const row: TokenRow = { id, name, role, owner: user, created_at: now, expires_at: now + lifetime, last_used: null };
    this.#db.transaction(`create a token for user "${user}"`, () => {
      const owner = this.#db.sql.prepare('SELECT role FROM users WHERE name = ?').get(user) as { role: Role } | undefined;
      if (owner === undefined) throw new FulcrumError(ErrorCode.ADMIN_BAD_REQUEST, `no user named "${user}": a token belongs to a user (create one with fulcrum user add)`);
      if (!atMost(role, owner.role)) throw new FulcrumError(ErrorCode.ADMIN_FORBIDDEN, `a token of user "${user}" can have at most their role, ${owner.role}, not ${role}`);
      this.#db.sql.prepare('DELETE FROM tokens WHERE expires_at <= ?').run(now - KEEP_EXPIRED_MS);
      const held = (this.#db.sql.prepare('SELECT count(*) AS n FROM tokens WHERE owner = ?').get(user) as { n: number }).n;
      if (held >= MAX_TOKENS_PER_USER) throw new FulcrumError(ErrorCode.ADMIN_BAD_REQUEST, `user "${user}" has ${held} tokens, the most allowed: revoke some first`);
      this.#db.sql
        .prepare('INSERT INTO tokens (id, secret_sha256, name, role, owner, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(id, sha256(secret), name, role, user, row.created_at, row.expires_at);
    });
    const { lastUsed: _, ...shown } = info(row);
    return { ...shown, token: `${TOKEN_PREFIX}${id}_${secret}` };
  }

  /** Who a Bearer token speaks for, or null when it is malformed, unknown, revoked, expired or its owner is gone. */
  verify(token: string, now: number = this.#now()): VerifiedToken | null {
    const parsed = parseToken(token);
    if (parsed === null) return null;
    const row = this.#db.guard('check an API token', () =>
      this.#db.sql
        .prepare('SELECT t.secret_sha256, t.role, t.owner, t.expires_at, t.last_used, u.role AS owner_role FROM tokens t JOIN users u ON u.name = t.owner WHERE t.id = ?')
        .get(parsed.id),
    ) as { secret_sha256: Uint8Array; role: Role; owner: string; expires_at: number; last_used: number | null; owner_role: Role } | undefined;
    if (row === undefined) return null;
    // Compared whatever the expiry, in constant time: the hash of a guess says nothing about the stored one.
    if (!timingSafeEqual(sha256(parsed.secret), row.secret_sha256)) return null;
    if (now >= row.expires_at) return null;
    if (row.last_used === null || now - row.last_used >= LAST_USED_GRANULARITY_MS) {
      this.#db.guard('record the use of an API token', () => this.#db.sql.prepare('UPDATE tokens SET last_used = ? WHERE id = ?').run(now, parsed.id));
    }
    return { id: parsed.id, user: row.owner, role: atMost(row.role, row.owner_role) ? row.role : row.owner_role };
  }

  /** Every token (or `user`'s), newest first, without secrets. */
  list(user?: string): TokenInfo[] {
    const columns = 'id, name, role, owner, created_at, expires_at, last_used';
    const rows = this.#db.guard('list API tokens', () =>
      user === undefined
        ? this.#db.sql.prepare(`SELECT ${columns} FROM tokens ORDER BY created_at DESC, id`).all()
        : this.#db.sql.prepare(`SELECT ${columns} FROM tokens WHERE owner = ? ORDER BY created_at DESC, id`).all(user),
    ) as unknown as TokenRow[];
    return rows.map(info);
  }

  get(id: string): TokenInfo | undefined {
    const row = this.#db.guard('read an API token', () => this.#db.sql.prepare('SELECT id, name, role, owner, created_at, expires_at, last_used FROM tokens WHERE id = ?').get(id)) as TokenRow | undefined;
    return row === undefined ? undefined : info(row);
  }

  /** Revoke a token at once; false when there is none with that id. */
  revoke(id: string): boolean {
    return this.#db.guard(`revoke API token ${id}`, () => this.#db.sql.prepare('DELETE FROM tokens WHERE id = ?').run(id).changes > 0);
  }
}

function parseToken(token: string): { id: string; secret: string } | null {
  if (!token.startsWith(TOKEN_PREFIX)) return null;
  const rest = token.slice(TOKEN_PREFIX.length);
  const separator = rest.indexOf('_');
  if (separator === -1) return null;
  const id = rest.slice(0, separator);
  const secret = rest.slice(separator + 1);
  if (!/^[0-9a-f]{16}$/.test(id) || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return null;
  return { id, secret };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function info(row: TokenRow): TokenInfo {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    user: row.owner,
    createdAt: new Date(row.created_at).toISOString(),
    expiresAt: new Date(row.expires_at).toISOString(),
    lastUsed: row.last_used === null ? null : new Date(row.last_used).toISOString(),
  };
}
