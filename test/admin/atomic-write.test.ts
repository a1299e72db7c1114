// writeFileAtomic: the new content appears whole (rename over the target) or not at all.
import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeFileAtomic } from '../../src/admin/atomic-write.ts';

describe('writeFileAtomic', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-atomic-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('renames a complete temporary file from the same directory over the target, keeping its mode', async () => {
    const target = path.join(dir, 'a.yaml');
    await writeFile(target, 'old\n');
    await chmod(target, 0o640);
    const inodeBefore = (await stat(target)).ino;
    let seen: { path: string; content: string } | null = null;
    await writeFileAtomic(target, 'new content\n', {
      beforeRename: async (tempPath) => {
        seen = { path: tempPath, content: await readFile(tempPath, 'utf8') };
        assert.equal(await readFile(target, 'utf8'), 'old\n', 'the target is untouched until the rename');
      },
    });
    assert.ok(seen !== null);
    const { path: tempPath, content } = seen as { path: string; content: string };
    assert.equal(path.dirname(tempPath), dir, 'same directory, so rename is atomic');
    assert.equal(content, 'new content\n', 'fully written before the rename');
    assert.equal(await readFile(target, 'utf8'), 'new content\n');
    const after = await stat(target);
    assert.notEqual(after.ino, inodeBefore, 'a new file was renamed over, not the old one rewritten in place');
    assert.equal(after.mode & 0o777, 0o640);
    assert.deepEqual(await readdir(dir), ['a.yaml'], 'no temporary file left');
  });

  it('a failure before the rename leaves the target as it was and no temporary file', async () => {
    const target = path.join(dir, 'b.yaml');
    await writeFile(target, 'original\n');
    await assert.rejects(
      writeFileAtomic(target, 'half', {
        beforeRename: () => {
          throw new Error('disk full (simulated)');
        },
      }),
      /disk full/,
    );
    assert.equal(await readFile(target, 'utf8'), 'original\n');
    assert.deepEqual((await readdir(dir)).filter((f) => f.includes('b.yaml')), ['b.yaml']);
  });

  it('a failing rename (the target is a directory) leaves no temporary file', async () => {
    const target = path.join(dir, 'c.yaml');
    await mkdir(path.join(target, 'inside'), { recursive: true });
    await assert.rejects(writeFileAtomic(target, 'x'), (error: NodeJS.ErrnoException) => error.code === 'EISDIR' || error.code === 'ENOTEMPTY' || error.code === 'EEXIST');
    assert.deepEqual((await readdir(dir)).filter((f) => f.includes('c.yaml')), ['c.yaml']);
    assert.deepEqual(await readdir(target), ['inside']);
  });

  it('writes through a symlink to its target, keeping the link', async () => {
    const real = path.join(dir, 'real.yaml');
    const link = path.join(dir, 'link.yaml');
    await writeFile(real, 'old\n');
    await symlink(real, link);
    await writeFileAtomic(link, 'via link\n');
    assert.equal(await readFile(real, 'utf8'), 'via link\n');
    assert.ok((await lstat(link)).isSymbolicLink());
  });
});
