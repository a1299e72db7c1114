/**
 * Backup and restore of what a node holds: the config text, and the users and API tokens (hashed,
 * as stored: a backup never holds a password or a token in clear, but keep it as secret as the
 * database). Sessions, the audit log and statistics are not in a backup: they describe the past
 * of this node.
 *
 * Restore checks the whole document first, every user and token as the tables and their readers
 * demand (src/admin/auth/users.ts, tokens.ts), so that a backup that passes cannot fail in the
 * INSERT and a dry run fails exactly where a real run would. Then the config goes through
 * ConfigChanges like any edit (validated, applied, versioned), then users and tokens are replaced
 * in one transaction. Should that transaction still fail (the disk), the answer is a 500 saying
 * the config is in and the users are not, and the audit log says so too.
 */
import { ErrorCode } from '../../errors.ts';
import type { ConfigStore } from '../../store/config-store.ts';
import type { ConfigChanges } from '../config-changes.ts';
import type { StateDatabase } from '../state/database.ts';
import { userNameProblem } from '../auth/users.ts';
import { isRole, ROLES } from '../roles.ts';
import { failureAnswer, type Handler, requestOf } from './context.ts';

export const BACKUP_FORMAT = 'fulcrum-backup';
const BACKUP_VERSION = 1;
/** A SHA-256 hash is 32 bytes: 44 characters of padded base64. A wrong length makes timingSafeEqual throw at the token's first use. */
const SHA256_BYTES = 32;
const SHA256_BASE64 = /^[A-Za-z0-9+/]{43}=$/;
/** A token id as tokens.ts makes and reads it: 8 random bytes in hex. */
const TOKEN_ID = /^[0-9a-f]{16}$/;
/** As tokens.ts create() allows a token's name. */
const MAX_TOKEN_NAME = 100;
/** A backup of thousands of broken rows gets the first 100 problems, then a count: enough to see the pattern. */
const MAX_PROBLEMS = 100;

export interface UserRow {
  name: string;
  role: string;
  password_hash: string;
  created_at: number;
  last_login: number | null;
}
export interface TokenRow {
  id: string;
  /** base64 of the 32-byte SHA-256 of the secret. */
  secret_sha256: string;
  name: string;
  role: string;
  owner: string;
  created_at: number;
  expires_at: number;
  last_used: number | null;
}

export interface Backup {
  config: { text: string };
  users: UserRow[];
  tokens: TokenRow[];
}

type AuditEntry = { user: string; address: string; action: string; target: string; outcome: 'ok' | 'failed'; detail?: string };

export interface BackupEnv {
  db: StateDatabase;
  store: ConfigStore;
  changes: ConfigChanges;
  version: string;
  /** The audit log: every real restore gets an entry for its users and tokens (ConfigChanges audits the config only when its text changed). */
  audit?: (entry: AuditEntry) => void;
  /** For the one failure the checks cannot rule out: the users' transaction failing after the config went in. */
  log?: (fields: Record<string, unknown>, message: string) => void;
}

export function backupHandlers(env: BackupEnv): Record<string, Handler> {
  const { db, store, changes } = env;
  const audit = env.audit ?? ((): void => {});
  const log = env.log ?? ((): void => {});

  const backup: Handler = async (ctx) => {
    const stored = await store.read();
    const users = db.guard('read users for a backup', () => db.sql.prepare('SELECT name, role, password_hash, created_at, last_login FROM users ORDER BY name').all() as unknown as UserRow[]);
    const tokens = db.guard('read tokens for a backup', () =>
      (db.sql.prepare('SELECT id, secret_sha256, name, role, owner, created_at, expires_at, last_used FROM tokens ORDER BY id').all() as unknown as Array<Omit<TokenRow, 'secret_sha256'> & { secret_sha256: Uint8Array }>).map((t) => ({
        ...t,
        secret_sha256: Buffer.from(t.secret_sha256).toString('base64'),
      })),
    );
    const at = new Date().toISOString();
    return {
      status: 200,
      headers: { 'content-disposition': `attachment; filename="fulcrum-backup-${at.slice(0, 19).replaceAll(':', '')}.json"` },
      body: { format: BACKUP_FORMAT, version: BACKUP_VERSION, fulcrum: env.version, createdAt: at, createdBy: ctx.principal.user, config: { text: stored.text, revision: stored.revision }, users, tokens },
    };
  };

  const restore: Handler = async (ctx) => {
    const body = await ctx.body();
    if (!body.ok) return failureAnswer(body.failure);
    const checked = checkBackup(body.value);
    if (!checked.ok) return failureAnswer({ status: 400, code: ErrorCode.ADMIN_BAD_REQUEST, message: `not restored, nothing changed: ${checked.problems[0]!}`, problems: checked.problems });
    const { config, users, tokens } = checked.backup;
    const result = await changes.apply({
      ...requestOf(ctx, 'backup.restore', 'config', 'restore'),
      edit: () => ({ ok: true, text: config.text, summary: 'restored from a backup' }),
    });
    if (!result.ok) return failureAnswer(result.failure);
    const counts = { users: users.length, tokens: tokens.length };
    const replaced = `${plural(users.length, 'user')}, ${plural(tokens.length, 'token')} replaced`;
    const who = { user: ctx.principal.user, address: ctx.address, action: 'backup.restore', target: 'users and tokens' };
    if (!result.dryRun) {
      try {
        replaceUsersAndTokens(db, users, tokens);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        const message = `the config of the backup was applied (revision ${result.revision}) but its users and tokens were not: ${reason}; the users and tokens of before are still in place. Fix the cause and restore the same backup again`;
        log({ error: reason, revision: result.revision, user: ctx.principal.user }, 'restore: the config was applied but users and tokens were not replaced');
        audit({ ...who, outcome: 'failed', detail: message });
        return failureAnswer({ status: 500, code: ErrorCode.STATE_DATABASE, message });
      }
      audit({ ...who, outcome: 'ok', detail: replaced });
    }
    return { status: 200, body: { dryRun: result.dryRun, changed: result.changed, diff: result.diff, revision: result.revision, generation: result.generation, ...counts } };
  };

  return { 'backup.get': backup, 'restore.create': restore };
}

/** Sessions go too: they belong to the users being replaced, and a backup holds none. */
function replaceUsersAndTokens(db: StateDatabase, users: readonly UserRow[], tokens: readonly TokenRow[]): void {
  db.transaction('restore users and tokens', () => {
    db.sql.exec('DELETE FROM sessions; DELETE FROM tokens; DELETE FROM users');
    const addUser = db.sql.prepare('INSERT INTO users (name, role, password_hash, created_at, last_login) VALUES (?, ?, ?, ?, ?)');
    for (const u of users) addUser.run(u.name, u.role, u.password_hash, u.created_at, u.last_login);
    const addToken = db.sql.prepare('INSERT INTO tokens (id, secret_sha256, name, role, owner, created_at, expires_at, last_used) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (const t of tokens) addToken.run(t.id, Buffer.from(t.secret_sha256, 'base64'), t.name, t.role, t.owner, t.created_at, t.expires_at, t.last_used);
  });
}

/**
 * The backup in `doc`, or every problem with its JSON path ("$.users[3].name: ..."). What passes
 * fits the users and tokens tables (STRICT, NOT NULL, keys, the owner's foreign key) and what
 * their readers expect (a 32-byte hash, a user name the login accepts).
 */
export function checkBackup(doc: unknown): { ok: true; backup: Backup } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  if (!isObject(doc) || doc.format !== BACKUP_FORMAT) {
    return { ok: false, problems: [`$.format: not a Fulcrum backup (format must be "${BACKUP_FORMAT}"; make one with GET /api/v1/backup)`] };
  }
  if (doc.version !== BACKUP_VERSION) problems.push(`$.version: this Fulcrum reads backups of version ${BACKUP_VERSION}`);
  if (!isObject(doc.config) || typeof doc.config.text !== 'string') problems.push('$.config.text: the config text is missing');

  const names = new Map<string, number>();
  if (!Array.isArray(doc.users)) problems.push('$.users: a list of users as a backup holds them ({name, role, password_hash, created_at, last_login})');
  else {
    doc.users.forEach((user, i) => problems.push(...userProblems(user, `$.users[${i}]`, names, i)));
    if (!doc.users.some((u) => isObject(u) && u.role === 'admin')) problems.push('$.users: no admin among them; nobody could manage the restored node');
  }

  const ids = new Map<string, number>();
  if (doc.tokens !== undefined && !Array.isArray(doc.tokens)) problems.push('$.tokens: a list of tokens as a backup holds them ({id, secret_sha256, name, role, owner, created_at, expires_at, last_used})');
  else if (Array.isArray(doc.tokens)) {
    // Owners are checked against the users only when the users list itself is there to check against.
    const owners = Array.isArray(doc.users) ? names : null;
    doc.tokens.forEach((token, i) => problems.push(...tokenProblems(token, `$.tokens[${i}]`, ids, i, owners)));
  }

  if (problems.length > 0) {
    const shown = problems.slice(0, MAX_PROBLEMS);
    if (problems.length > MAX_PROBLEMS) shown.push(`... and ${problems.length - MAX_PROBLEMS} more problems`);
    return { ok: false, problems: shown };
  }
  return { ok: true, backup: { config: { text: (doc.config as { text: string }).text }, users: doc.users as UserRow[], tokens: (doc.tokens ?? []) as TokenRow[] } };
}

function userProblems(value: unknown, at: string, names: Map<string, number>, index: number): string[] {
  if (!isObject(value)) return [`${at}: a user is an object {name, role, password_hash, created_at, last_login}`];
  const problems: string[] = [];
  const { name } = value;
  if (typeof name !== 'string') problems.push(`${at}.name: missing (a string)`);
  else {
    const bad = userNameProblem(name);
    if (bad !== null) problems.push(`${at}.name: ${bad}`);
    const first = names.get(name);
    if (first !== undefined) problems.push(`${at}.name: "${name.slice(0, 80)}" is also the name of $.users[${first}]; each user once`);
    else names.set(name, index);
  }
  if (!isRole(value.role)) problems.push(wrong(`${at}.role`, value.role, `a role: ${ROLES.join(', ')}`));
  if (typeof value.password_hash !== 'string' || !/^scrypt\$[^$]+\$[^$]+\$[^$]+\$[^$]+\$[^$]+$/.test(value.password_hash)) {
    problems.push(`${at}.password_hash: not a password hash as Fulcrum stores it (scrypt$N$r$p$salt$hash)`);
  }
  problems.push(...timeProblems(value, at, ['created_at'], ['last_login']));
  return problems;
}

function tokenProblems(value: unknown, at: string, ids: Map<string, number>, index: number, owners: Map<string, number> | null): string[] {
  if (!isObject(value)) return [`${at}: a token is an object {id, secret_sha256, name, role, owner, created_at, expires_at, last_used}`];
  const problems: string[] = [];
  const { id, secret_sha256: hash, name, owner } = value;
  if (typeof id !== 'string' || !TOKEN_ID.test(id)) problems.push(wrong(`${at}.id`, id, 'a token id (16 hex digits)'));
  else {
    const first = ids.get(id);
    if (first !== undefined) problems.push(`${at}.id: "${id}" is also the id of $.tokens[${first}]; each token once`);
    else ids.set(id, index);
  }
  if (typeof hash !== 'string') problems.push(`${at}.secret_sha256: missing (the base64 of the secret's 32-byte SHA-256 hash)`);
  else {
    const bytes = Buffer.from(hash, 'base64').length;
    if (bytes !== SHA256_BYTES) problems.push(`${at}.secret_sha256: not the base64 of a ${SHA256_BYTES}-byte SHA-256 hash (it decodes to ${bytes} bytes)`);
    else if (!SHA256_BASE64.test(hash)) problems.push(`${at}.secret_sha256: not written as a backup writes it (44 characters of base64, ending in "=")`);
  }
  if (typeof name !== 'string' || name.trim() === '' || name.length > MAX_TOKEN_NAME || /\p{Cc}/u.test(name)) problems.push(`${at}.name: 1 to ${MAX_TOKEN_NAME} printable characters`);
  if (!isRole(value.role)) problems.push(wrong(`${at}.role`, value.role, `a role: ${ROLES.join(', ')}`));
  if (typeof owner !== 'string') problems.push(`${at}.owner: missing (the name of a user in $.users)`);
  else if (owners !== null && !owners.has(owner)) problems.push(`${at}.owner: no user "${owner.slice(0, 80)}" in $.users; a token belongs to a user of the backup`);
  problems.push(...timeProblems(value, at, ['created_at', 'expires_at'], ['last_used']));
  return problems;
}

/** Times are whole milliseconds since 1970 (STRICT INTEGER columns); `optional` ones may be null but must be there (node:sqlite binds no undefined). */
function timeProblems(value: Record<string, unknown>, at: string, required: readonly string[], optional: readonly string[]): string[] {
  const problems: string[] = [];
  const isTime = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  for (const key of required) {
    if (!isTime(value[key])) problems.push(wrong(`${at}.${key}`, value[key], 'a time (whole milliseconds since 1970)'));
  }
  for (const key of optional) {
    if (value[key] !== null && !isTime(value[key])) problems.push(wrong(`${at}.${key}`, value[key], 'a time (whole milliseconds since 1970) or null (never)'));
  }
  return problems;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** "$.users[2].last_login: missing; ..." or "$.users[2].role: \"root\" is not a role: ...". */
function wrong(at: string, value: unknown, want: string): string {
  if (value === undefined) return `${at}: missing; ${want}`;
  const text = JSON.stringify(value);
  return `${at}: ${text.length > 80 ? `${text.slice(0, 80)}...` : text} is not ${want}`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
