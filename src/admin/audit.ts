/**
 * The audit log: who did what, when, from where, and with what outcome, for every change (with
 * the config diff), every login and failed login, and every refused request worth knowing about.
 * In the state database, newest first, bounded: the oldest rows beyond 100,000 (about a year of a
 * busy team's changes) are deleted as new ones arrive.
 *
 * Actions are dotted strings: 'login', 'login-failed', 'logout', 'config.update', 'user.add',
 * 'token.create', 'token.revoke', 'rs.state', 'restore', ...
 */
import { ErrorCode, FulcrumError } from '../errors.ts';
import { migrate, type StateDatabase } from './state/database.ts';

export const AUDIT_OUTCOMES = ['ok', 'failed', 'denied'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export const DEFAULT_MAX_AUDIT_ROWS = 100_000;
export const DEFAULT_AUDIT_PAGE = 100;
export const MAX_AUDIT_PAGE = 1000;
/**
 * Longest kept text per field; longer is cut with a note. A diff of a whole config replaced
 * through the API can be large; 64 KiB is a few thousand lines, more than anyone reads in a log.
 */
const MAX_DIFF_CHARS = 64 * 1024;
const MAX_DETAIL_CHARS = 4096;
const MAX_SHORT_CHARS = 256;
const MAX_TARGET_CHARS = 1024;

const AUDIT_TABLES = [
  `CREATE TABLE audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     user TEXT NOT NULL,
     address TEXT NOT NULL,
     action TEXT NOT NULL,
     target TEXT NOT NULL,
     outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'failed', 'denied')),
     detail TEXT,
     diff TEXT
   ) STRICT`,
];

export interface AuditRecord {
  /** Milliseconds since the epoch; default now. */
  at?: number;
  /** The principal's user ("local" on an open loopback API); for a failed login, the name tried. */
  user: string;
  /** The client's address. */
  address: string;
  action: string;
  /** What was acted on: "virtual-services/web", "users/alice", "tokens/0f3a..."; "" when nothing in particular. */
  target: string;
  outcome: AuditOutcome;
  /** A sentence: why it failed, what changed in words. */
  detail?: string | undefined;
  /** A unified diff of the config, for a config change. */
  diff?: string | undefined;
}

export interface AuditEntry {
  id: number;
  /** ISO 8601. */
  at: string;
  user: string;
  address: string;
  action: string;
  target: string;
  outcome: AuditOutcome;
  detail: string | null;
  diff: string | null;
}

export interface AuditQuery {
  /** Default 100, at most 1000. */
  limit?: number | undefined;
  /** Entries older than this id (the id of the last entry of the previous page). */
  before?: number | undefined;
}

export interface AuditLogOptions {
  now?: () => number;
  /** Most rows kept (default 100,000); tests use a small bound. */
  maxRows?: number;
}

/** An entry as stored: its time in milliseconds since the epoch. */
type AuditRow = Omit<AuditEntry, 'at'> & { at: number };

export class AuditLog {
  readonly #db: StateDatabase;
  readonly #now: () => number;
  readonly #maxRows: number;

  constructor(db: StateDatabase, options: AuditLogOptions = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
    this.#maxRows = Math.max(1, options.maxRows ?? DEFAULT_MAX_AUDIT_ROWS);
    migrate(db, 'audit', AUDIT_TABLES);
  }

  /** Record one entry; its id. */
  append(record: AuditRecord): number {
    if (typeof record.action !== 'string' || record.action === '') throw new FulcrumError(ErrorCode.ADMIN_INTERNAL, 'an audit entry needs an action');
    if (!(AUDIT_OUTCOMES as readonly string[]).includes(record.outcome)) throw new FulcrumError(ErrorCode.ADMIN_INTERNAL, `"${String(record.outcome)}" is not an audit outcome`);
    return this.#db.transaction(`write the audit entry "${record.action}"`, () => {
      const { lastInsertRowid } = this.#db.sql
        .prepare('INSERT INTO audit (at, user, address, action, target, outcome, detail, diff) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(
          record.at ?? this.#now(),
          cut(record.user, MAX_SHORT_CHARS),
          cut(record.address, MAX_SHORT_CHARS),
          cut(record.action, MAX_SHORT_CHARS),
          cut(record.target, MAX_TARGET_CHARS),
          record.outcome,
          record.detail === undefined ? null : cut(record.detail, MAX_DETAIL_CHARS),
          record.diff === undefined ? null : cut(record.diff, MAX_DIFF_CHARS),
        );
      const id = Number(lastInsertRowid);
      // AUTOINCREMENT ids only grow, so the rows beyond the bound are exactly those with id <= id - maxRows: one range delete on the primary key, nothing to count.
      this.#db.sql.prepare('DELETE FROM audit WHERE id <= ?').run(id - this.#maxRows);
      return id;
    });
  }

  /** Newest first; page on with `before` = the last id received. */
  list(query: AuditQuery = {}): AuditEntry[] {
    const requested = query.limit === undefined || !Number.isFinite(query.limit) ? DEFAULT_AUDIT_PAGE : Math.floor(query.limit);
    const limit = Math.min(Math.max(requested, 1), MAX_AUDIT_PAGE);
    const columns = 'id, at, user, address, action, target, outcome, detail, diff';
    const rows = this.#db.guard('read the audit log', () =>
      query.before === undefined || !Number.isFinite(query.before)
        ? this.#db.sql.prepare(`SELECT ${columns} FROM audit ORDER BY id DESC LIMIT ?`).all(limit)
        : this.#db.sql.prepare(`SELECT ${columns} FROM audit WHERE id < ? ORDER BY id DESC LIMIT ?`).all(Math.floor(query.before), limit),
    ) as unknown as AuditRow[];
    return rows.map((row) => ({ ...row, at: new Date(row.at).toISOString() }));
  }
}

function cut(text: string, max: number): string {
  const value = String(text);
  if (value.length <= max) return value;
  const note = `\n... (${value.length - max} more characters not kept)`;
  return value.slice(0, max - note.length) + note;
}
