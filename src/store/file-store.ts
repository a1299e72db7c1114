/**
 * The embedded config store: the YAML file the administrator wrote. Writes are atomic
 * (temporary file, fsync, rename: src/admin/atomic-write.ts), the revision is a hash of the text,
 * and a write made against a revision the file no longer has (someone edited it by hand since)
 * is refused as stale rather than overwriting their edit. A file without any write bit is the
 * administrator's way of saying "not through the API": writes are refused, reads still work.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { writeFileAtomic } from '../admin/atomic-write.ts';
import type { ChangeMeta, ConfigStore, ConfigVersion, StoredConfig, WriteOutcome } from './config-store.ts';
import type { VersionArchive } from './version-archive.ts';

export function revisionOf(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 16);
}

export class FileConfigStore implements ConfigStore {
  readonly location: string;
  readonly #archive: VersionArchive;
  readonly #listeners = new Set<(stored: StoredConfig) => void>();

  constructor(path: string, archive: VersionArchive) {
    this.location = path;
    this.#archive = archive;
  }

  async read(): Promise<StoredConfig> {
    const text = await readFile(this.location, 'utf8');
    return { text, revision: revisionOf(text) };
  }

  async write(text: string, meta: ChangeMeta): Promise<WriteOutcome> {
    let current: StoredConfig;
    try {
      current = await this.read();
    } catch (error) {
      return { ok: false, reason: 'io', message: `cannot read ${this.location}: ${errorText(error)}` };
    }
    if (current.revision !== meta.expectedRevision) return { ok: false, reason: 'stale', current };
    const refusal = await this.#readOnly();
    if (refusal !== null) return { ok: false, reason: 'read-only', message: refusal };
    try {
      await writeFileAtomic(this.location, text);
    } catch (error) {
      return { ok: false, reason: 'io', message: `cannot write ${this.location}: ${errorText(error)}; it was left as it was` };
    }
    const stored = { text, revision: revisionOf(text) };
    for (const listener of this.#listeners) listener(stored);
    return { ok: true, stored };
  }

  watch(listener: (stored: StoredConfig) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  remember(stored: StoredConfig, meta: Omit<ChangeMeta, 'expectedRevision'>): ConfigVersion | null {
    return this.#archive.remember(stored, meta);
  }

  versions(): ConfigVersion[] {
    return this.#archive.list();
  }

  version(id: number): (ConfigVersion & { text: string }) | null {
    return this.#archive.get(id);
  }

  async #readOnly(): Promise<string | null> {
    const { mode } = await stat(this.location);
    if ((mode & 0o222) !== 0) return null;
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    return `the config file ${this.location} is read-only (mode ${octal}), so nothing was changed; make it writable to let the API change it, or edit it by hand and reload`;
  }
}

function errorText(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code !== undefined ? `${e.code}: ${e.message}` : error instanceof Error ? error.message : String(error);
}
