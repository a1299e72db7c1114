/**
 * Backup and restore of what a node holds: the config text, and the users and API tokens (hashed,
 * as stored: a backup never holds a password or a token in clear, but keep it as secret as the
 * database). Restore puts the config through ConfigChanges like any edit (validated, applied,
 * versioned) and replaces users and tokens in one transaction, only once the config is in.
 * Sessions, the audit log and statistics are not in a backup: they describe the past of this node.
 */
import { ErrorCode } from '../../errors.ts';
import type { ConfigStore } from '../../store/config-store.ts';
import type { ConfigChanges } from '../config-changes.ts';
import type { StateDatabase } from '../state/database.ts';
import { isRole } from '../roles.ts';
import { failureAnswer, type Handler } from './context.ts';

export const BACKUP_FORMAT = 'fulcrum-backup';
const BACKUP_VERSION = 1;

interface UserRow {
  name: string;
  role: string;
  password_hash: string;
  created_at: number;
  last_login: number | null;
}
interface TokenRow {
  id: string;
  secret_sha256: string;
  name: string;
  role: string;
  owner: string;
  created_at: number;
  expires_at: number;
  last_used: number | null;
}

export interface BackupEnv {
  db: StateDatabase;
  store: ConfigStore;
  changes: ConfigChanges;
  version: string;
  /** Called after users changed (sessions of removed users end). */
  usersReplaced: () => void;
}

export function backupHandlers(env: BackupEnv): Record<string, Handler> {
  const { db, store, changes } = env;

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
    const doc = body.value as { format?: unknown; version?: unknown; config?: { text?: unknown }; users?: unknown; tokens?: unknown } | null;
    const problems: string[] = [];
    if (doc === null || typeof doc !== 'object' || doc.format !== BACKUP_FORMAT) problems.push(`$.format: not a Fulcrum backup (format must be "${BACKUP_FORMAT}"; make one with GET /api/v1/backup)`);
    else {
      if (doc.version !== BACKUP_VERSION) problems.push(`$.version: this Fulcrum reads backups of version ${BACKUP_VERSION}`);
      if (typeof doc.config?.text !== 'string') problems.push('$.config.text: the config text is missing');
      if (!Array.isArray(doc.users) || !doc.users.every(validUser)) problems.push('$.users: a list of users as a backup holds them');
      else if (!doc.users.some((u) => (u as UserRow).role === 'admin')) problems.push('$.users: no admin among them; nobody could manage the restored node');
      if (doc.tokens !== undefined && (!Array.isArray(doc.tokens) || !doc.tokens.every(validToken))) problems.push('$.tokens: a list of tokens as a backup holds them');
    }
    if (problems.length > 0) return failureAnswer({ status: 400, code: ErrorCode.ADMIN_BAD_REQUEST, message: problems[0]!, problems });
    const { config, users, tokens } = doc as { config: { text: string }; users: UserRow[]; tokens?: TokenRow[] };
    const result = await changes.apply({
      principal: ctx.principal,
      address: ctx.address,
      source: 'restore',
      action: 'backup.restore',
      target: 'config, users, tokens',
      dryRun: ctx.dryRun,
      edit: () => ({ ok: true, text: config.text, summary: 'restored from a backup' }),
    });
    if (!result.ok) return failureAnswer(result.failure);
    if (!result.dryRun) {
      db.transaction('restore users and tokens', () => {
        db.sql.exec('DELETE FROM sessions; DELETE FROM tokens; DELETE FROM users');
        const addUser = db.sql.prepare('INSERT INTO users (name, role, password_hash, created_at, last_login) VALUES (?, ?, ?, ?, ?)');
        for (const u of users) addUser.run(u.name, u.role, u.password_hash, u.created_at, u.last_login);
        const addToken = db.sql.prepare('INSERT INTO tokens (id, secret_sha256, name, role, owner, created_at, expires_at, last_used) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
        for (const t of tokens ?? []) {
          if (users.some((u) => u.name === t.owner)) addToken.run(t.id, Buffer.from(t.secret_sha256, 'base64'), t.name, t.role, t.owner, t.created_at, t.expires_at, t.last_used);
        }
      });
      env.usersReplaced();
    }
    return { status: 200, body: { dryRun: result.dryRun, changed: result.changed, diff: result.diff, revision: result.revision, generation: result.generation, users: users.length, tokens: tokens?.length ?? 0 } };
  };

  return { 'backup.get': backup, 'restore.create': restore };
}

function validUser(u: unknown): boolean {
  const r = u as UserRow;
  return r !== null && typeof r === 'object' && typeof r.name === 'string' && isRole(r.role) && typeof r.password_hash === 'string' && r.password_hash.startsWith('scrypt$') && typeof r.created_at === 'number';
}

function validToken(t: unknown): boolean {
  const r = t as TokenRow;
  return r !== null && typeof r === 'object' && typeof r.id === 'string' && typeof r.secret_sha256 === 'string' && typeof r.name === 'string' && isRole(r.role) && typeof r.owner === 'string' && typeof r.expires_at === 'number' && typeof r.created_at === 'number';
}
