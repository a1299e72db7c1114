/**
 * Replace a file so that a reader (or a crash) sees either the old content or the new, never a
 * mix: write a temporary file in the same directory (rename is atomic only within one file
 * system), fsync it, rename it over the target, fsync the directory so the rename itself is on
 * disk. On any failure the temporary file is removed and the target is left as it was.
 */
import { randomBytes } from 'node:crypto';
import { chown, open, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** Called with the temporary file's path once it is written and fsynced, before the rename (tests use it to fail there). */
  beforeRename?: (tempPath: string) => void | Promise<void>;
  /** Permission bits of a new file (default 0o644; an existing file keeps its own): 0o600 for a private key. */
  mode?: number;
}

export async function writeFileAtomic(path: string, data: string, options: AtomicWriteOptions = {}): Promise<void> {
  // Write where a symlink points (/etc/fulcrum/fulcrum.yaml -> a checkout), not over the link.
  const target = await realpath(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return path;
    throw error;
  });
  const existing = await stat(target).catch(() => null);
  const dir = dirname(target);
  // A dot file, so that a glob over the directory (conf.d/*.yaml) never picks it up half-written.
  const tempPath = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  // The new file keeps the old one's permission bits: a config may hold secrets (cookie keys).
  const mode = existing === null ? (options.mode ?? 0o644) : existing.mode & 0o7777;
  let renamed = false;
  try {
    const file = await open(tempPath, 'wx', mode);
    try {
      await file.writeFile(data, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    if (existing !== null && process.getuid?.() === 0) {
      // root writing a file someone else owns: keep the owner, or a later non-root edit fails.
      await chown(tempPath, existing.uid, existing.gid).catch(() => {});
    }
    await options.beforeRename?.(tempPath);
    await rename(tempPath, target);
    renamed = true;
  } finally {
    if (!renamed) await unlink(tempPath).catch(() => {});
  }
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
