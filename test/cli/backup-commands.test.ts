// `fulcrum backup [-o FILE]` and `fulcrum restore FILE` against a stand-in admin API.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fulcrum, startStubAdmin, type StubAdmin } from './stub-admin.ts';

const BACKUP = {
  format: 'fulcrum-backup-1',
  createdAt: '2026-12-06T16:00:00.000Z',
  config: 'virtualServices: []\n',
  users: [{ name: 'alice', role: 'admin', hash: 'scrypt$...' }],
  tokens: [{ id: 'tk7', name: 'deploy', hash: 'sha256$...' }],
};
/** The API's bytes, spacing and all: a backup must be restored exactly as it was taken. */
const BACKUP_TEXT = `${JSON.stringify(BACKUP, null, 1)}\n`;

describe('fulcrum backup and restore', () => {
  let stub: StubAdmin;
  let dir: string;
  const env = (): { home: string; FULCRUM_TOKEN: string } => ({ home: dir, FULCRUM_TOKEN: 'admin-token' });

  before(async () => {
    stub = await startStubAdmin();
    dir = await mkdtemp(join(tmpdir(), 'fulcrum-cli-backup-'));
    stub.reply('GET /api/v1/backup', { status: 200, text: BACKUP_TEXT, headers: { 'content-type': 'application/json' } });
  });
  after(async () => {
    await stub.close();
    await rm(dir, { recursive: true });
  });
  beforeEach(() => {
    stub.requests.length = 0;
  });

  it('backup writes the API document to standard output by default', async () => {
    const run = await fulcrum(['backup', '--admin', stub.url], env());
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, BACKUP_TEXT);
    assert.equal(stub.requests[0]!.method, 'GET');
    assert.equal(stub.requests[0]!.url, '/api/v1/backup');
    assert.equal(stub.requests[0]!.headers.authorization, 'Bearer admin-token');
  });

  it('backup -o FILE writes it with mode 0600, replacing a world-readable file, leaving no temporary file', async () => {
    const out = join(dir, 'backup.json');
    await writeFile(out, 'old', { mode: 0o644 });
    const run = await fulcrum(['backup', '-o', out, '--admin', stub.url], env());
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^wrote .*backup\.json \(mode 0600\): the config, 1 users, 1 tokens; restore it with fulcrum restore /);
    assert.equal(await readFile(out, 'utf8'), BACKUP_TEXT);
    assert.equal((await stat(out)).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(dir)).filter((name) => name.endsWith('.tmp')), []);
  });

  it('backup into a folder that does not exist: exit 1, nothing written', async () => {
    const run = await fulcrum(['backup', '-o', join(dir, 'missing', 'b.json'), '--admin', stub.url], env());
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^fulcrum: cannot write .*missing\/b\.json: ENOENT/);
  });

  it('restore FILE POSTs the document as JSON and prints the new config version', async () => {
    const file = join(dir, 'restore.json');
    await writeFile(file, BACKUP_TEXT);
    stub.reply('POST /api/v1/restore', { status: 200, body: { dryRun: false, changed: true, diff: '...', revision: 'r9', generation: 4, version: 'v9' } });
    const run = await fulcrum(['restore', file, '--admin', stub.url], env());
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `restored ${file}: the config is now version v9; users and tokens are the backup's\n`);
    const [sent] = stub.requests;
    assert.equal(sent!.method, 'POST');
    assert.equal(sent!.url, '/api/v1/restore');
    assert.equal(sent!.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(sent!.body), BACKUP);
  });

  it('restore of a file that is not JSON fails before any request', async () => {
    const file = join(dir, 'not-json.yaml');
    await writeFile(file, 'virtualServices: []\n');
    const run = await fulcrum(['restore', file, '--admin', stub.url], env());
    assert.equal(run.code, 1);
    assert.equal(run.stderr, `fulcrum: ${file} is not a backup: it is not JSON (a backup comes from fulcrum backup -o FILE)\n`);
    assert.equal(stub.requests.length, 0);
  });

  it('a viewer token is refused (403): the message says the role is not enough', async () => {
    stub.reply('POST /api/v1/restore', { status: 403, body: { error: { code: 'FULCRUM_ERR_ADMIN_FORBIDDEN', message: 'this needs the role admin; yours is viewer' } } });
    const file = join(dir, 'restore.json');
    const run = await fulcrum(['restore', file, '--admin', stub.url], env());
    assert.equal(run.code, 1);
    assert.equal(run.stderr, 'fulcrum: the role of the token from FULCRUM_TOKEN is not enough for this: this needs the role admin; yours is viewer (FULCRUM_ERR_ADMIN_FORBIDDEN)\n');
  });

  it('usage errors exit 2', async () => {
    for (const args of [['backup', 'out.json'], ['backup', '-o'], ['restore'], ['restore', 'a.json', 'b.json']]) {
      const run = await fulcrum([...args, '--admin', stub.url], env());
      assert.equal(run.code, 2, args.join(' '));
      assert.match(run.stderr, /Usage: fulcrum/);
    }
  });
});
