/**
 * The config versions a store keeps: the text of each one put into service, with who, when, how
 * and a one-line summary, newest first; restore takes any of them. Kept in the state database
 * (SQLite) beside users and the audit log. 50 versions: the issue asks for 20 at least, and a
 * version of a large config (1,000 virtual services) is about 200 KB, so 10 MB at most.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { ChangeMeta, ConfigVersion, StoredConfig } from './config-store.ts';

export const KEPT_VERSIONS = 50;

interface Row {
  id: number;
  revision: string;
  created_at: string;
  user: string;
  source: string;
  summary: string;
  text?: string;
}

export class VersionArchive {
  readonly #insert: StatementSync;
  readonly #latest: StatementSync;
  readonly #list: StatementSync;
  readonly #get: StatementSync;
  readonly #prune: StatementSync;
  readonly #now: () => number;
  readonly #kept: number;

  constructor(db: DatabaseSync, options: { now?: () => number; kept?: number } = {}) {
    db.exec(`CREATE TABLE IF NOT EXISTS config_versions (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      revision TEXT NOT NULL,
      created_at TEXT NOT NULL,
      user TEXT NOT NULL,
      source TEXT NOT NULL,
      summary TEXT NOT NULL,
      text TEXT NOT NULL)`);
    this.#insert = db.prepare('INSERT INTO config_versions (revision, created_at, user, source, summary, text) VALUES (?, ?, ?, ?, ?, ?)');
    this.#latest = db.prepare('SELECT id, revision FROM config_versions ORDER BY id DESC LIMIT 1');
    this.#list = db.prepare('SELECT id, revision, created_at, user, source, summary FROM config_versions ORDER BY id DESC');
    this.#get = db.prepare('SELECT id, revision, created_at, user, source, summary, text FROM config_versions WHERE id = ?');
    this.#prune = db.prepare('DELETE FROM config_versions WHERE id <= ?');
    this.#now = options.now ?? Date.now;
    this.#kept = options.kept ?? KEPT_VERSIONS;
  }

  remember(stored: StoredConfig, meta: Omit<ChangeMeta, 'expectedRevision'>): ConfigVersion | null {
    const latest = this.#latest.get() as { id: number; revision: string } | undefined;
    if (latest?.revision === stored.revision) return null;
    const createdAt = new Date(this.#now()).toISOString();
    const result = this.#insert.run(stored.revision, createdAt, meta.user, meta.source, meta.summary, stored.text);
    const id = Number(result.lastInsertRowid);
    if (id > this.#kept) this.#prune.run(id - this.#kept);
    return { id, revision: stored.revision, createdAt, user: meta.user, source: meta.source, summary: meta.summary };
  }

  list(): ConfigVersion[] {
    return (this.#list.all() as unknown as Row[]).map(toVersion);
  }

  get(id: number): (ConfigVersion & { text: string }) | null {
    const row = this.#get.get(id) as Row | undefined;
    return row === undefined ? null : { ...toVersion(row), text: row.text ?? '' };
  }
}

function toVersion(row: Row): ConfigVersion {
  return { id: row.id, revision: row.revision, createdAt: row.created_at, user: row.user, source: row.source as ConfigVersion['source'], summary: row.summary };
}
