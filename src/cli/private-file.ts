/**
 * Write a file only its owner can read (mode 0600), atomically: a temporary file in the same
 * directory, fsync, rename over the target, fsync the directory. A reader or a crash sees the old
 * file or the new one, never half a backup; an old file's looser mode is not kept (unlike
 * src/admin/atomic-write.ts, which keeps it for a config file): a backup holds password hashes.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writePrivateFile(path: string, data: string): Promise<void> {
  const dir = dirname(path);
  // A dot file, so that a glob over the directory never picks it up half-written.
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let renamed = false;
  try {
    const file = await open(temp, 'wx', 0o600);
    try {
      await file.writeFile(data, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
    renamed = true;
  } finally {
    if (!renamed) await unlink(temp).catch(() => {});
  }
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
