/**
 * One node orders a name at a time: several Fulcrum nodes sharing the storage folder all reach a
 * renewal's due time together, and without a lock each would order its own certificate (and
 * spend the CA's rate limits). The lock is a file created with O_EXCL, which NFS (v3 and later)
 * and every local file system create atomically; certmagic (Caddy) locks its storage the same way.
 *
 * A node that dies holding the lock leaves the file: it is taken over after STALE_MS, longer than
 * any order (acme-client polls for at most a few minutes).
 */
import { hostname } from 'node:os';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ensureFolder } from './storage.ts';

export const STALE_MS = 10 * 60_000;

interface LockBody {
  host: string;
  pid: number;
  /** ms since the epoch. */
  at: number;
}

/** Take the lock, or learn who holds it. `release` removes it. */
export async function tryLock(file: string, now: number): Promise<{ release: () => Promise<void> } | { heldBy: string }> {
  await ensureFolder(dirname(file));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      const body: LockBody = { host: hostname(), pid: process.pid, at: now };
      try {
        await handle.writeFile(JSON.stringify(body));
      } finally {
        await handle.close();
      }
      return { release: () => unlink(file).catch(() => {}) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const held = await readLock(file);
    if (held !== null && now - held.at < STALE_MS) return { heldBy: `${held.host} (pid ${held.pid}) since ${new Date(held.at).toISOString()}` };
    // Stale (or unreadable, half written by a node that died): moved aside, not deleted, so that
    // two nodes breaking it at once cannot delete the lock one of them has just taken.
    const aside = `${file}.stale.${randomBytes(4).toString('hex')}`;
    if (await rename(file, aside).then(() => true, () => false)) await unlink(aside).catch(() => {});
  }
  return { heldBy: 'another node (the lock was just taken over)' };
}

async function readLock(file: string): Promise<LockBody | null> {
  try {
    const body = JSON.parse(await readFile(file, 'utf8')) as Partial<LockBody>;
    return typeof body.at === 'number' ? { host: String(body.host), pid: Number(body.pid), at: body.at } : null;
  } catch {
    return null;
  }
}
