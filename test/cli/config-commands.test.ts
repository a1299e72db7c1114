// `fulcrum config diff|apply|history|restore` against a stand-in admin API: the file's text goes as
// application/yaml, apply carries If-Match of the version it read, problems come back at FILE:LINE.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fulcrum, startStubAdmin, type StubAdmin } from './stub-admin.ts';

const NEW_CONFIG = ['# the new pool size', 'virtualServices:', '  - name: web', '    listen: 127.0.0.1:8080', '    protocol: http', '    realServers: [{ address: 127.0.0.1:9001 }, { address: 127.0.0.1:9002 }]', ''].join('\n');
const DIFF = ['--- fulcrum.yaml\trunning', '+++ fulcrum.yaml\tafter this change', '@@ -5,1 +5,1 @@', '-    realServers: [{ address: 127.0.0.1:9001 }]', '+    realServers: [{ address: 127.0.0.1:9001 }, { address: 127.0.0.1:9002 }]', ''].join('\n');

describe('fulcrum config', () => {
  let stub: StubAdmin;
  let home: string;
  let file: string;
  const env = (): { home: string; FULCRUM_TOKEN: string } => ({ home, FULCRUM_TOKEN: 'admin-token' });

  before(async () => {
    stub = await startStubAdmin();
    home = await mkdtemp(join(tmpdir(), 'fulcrum-cli-config-'));
    file = join(home, 'new.yaml');
    await writeFile(file, NEW_CONFIG);
  });
  after(async () => {
    await stub.close();
    await rm(home, { recursive: true });
  });
  beforeEach(() => {
    stub.requests.length = 0;
  });

  it('diff FILE PUTs the text as application/yaml with dryRun=true and prints the diff', async () => {
    stub.reply('PUT /api/v1/config?dryRun=true', { status: 200, body: { dryRun: true, changed: true, diff: DIFF, revision: 'r4', generation: null, version: null } });
    const run = await fulcrum(['config', 'diff', file, '--admin', stub.url], env());
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, DIFF);
    assert.equal(stub.requests.length, 1);
    const [sent] = stub.requests;
    assert.equal(sent!.method, 'PUT');
    assert.equal(sent!.headers['content-type'], 'application/yaml; charset=utf-8');
    assert.equal(sent!.headers.authorization, 'Bearer admin-token');
    assert.equal(sent!.headers['if-match'], undefined);
    assert.equal(sent!.body, NEW_CONFIG);
  });

  it('diff of the running config says there is nothing to change', async () => {
    stub.reply('PUT /api/v1/config?dryRun=true', { status: 200, body: { dryRun: true, changed: false, diff: '', revision: 'r4', generation: null, version: null } });
    const run = await fulcrum(['config', 'diff', file, '--admin', stub.url], env());
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${file} is the running config already; nothing to change\n`);
  });

  it('diff of an invalid file: each problem as FILE:LINE:COL: path: message, exit 1', async () => {
    stub.reply('PUT /api/v1/config?dryRun=true', {
      status: 400,
      body: {
        error: {
          code: 'FULCRUM_ERR_CONFIG_INVALID',
          message: 'the config has 2 problems: unknown key',
          problems: [
            { path: '$.virtualServices[0].schedular', configPath: '$.virtualServices[0].schedular', message: 'unknown key', suggestion: 'scheduler', allowed: 'name, listen, scheduler', line: 5, column: 5, code: 'FULCRUM_ERR_CONFIG_UNKNOWN_KEY' },
            { path: '$', message: 'no virtual service listens', code: 'FULCRUM_ERR_CONFIG_INVALID' },
          ],
        },
      },
    });
    const run = await fulcrum(['config', 'diff', file, '--admin', stub.url], env());
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.equal(
      run.stderr,
      `${file}:5:5: virtualServices[0].schedular: unknown key; did you mean "scheduler"? allowed keys: name, listen, scheduler\n${file}: no virtual service listens\n${file}: 2 problems\n`,
    );
  });

  it('apply FILE reads the current ETag, PUTs with If-Match and prints the diff and the new version', async () => {
    stub.reply('GET /api/v1/config', { status: 200, body: { virtualServices: [] }, headers: { etag: '"r4"' } });
    stub.reply('PUT /api/v1/config', { status: 200, body: { dryRun: false, changed: true, diff: DIFF, revision: 'r5', generation: 2, version: 'v5' }, headers: { etag: '"r5"' } });
    const run = await fulcrum(['config', 'apply', file, '--admin', stub.url], env());
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${DIFF}applied ${file}: the config is now version v5 (revision r5)\n`);
    assert.deepEqual(
      stub.requests.map((r) => `${r.method} ${r.url}`),
      ['GET /api/v1/config', 'PUT /api/v1/config'],
    );
    const put = stub.requests[1]!;
    assert.equal(put.headers['if-match'], '"r4"');
    assert.equal(put.headers['content-type'], 'application/yaml; charset=utf-8');
    assert.equal(put.body, NEW_CONFIG);
  });

  it('apply refused with 412 (someone else changed the config): exit 1 and what to do', async () => {
    stub.reply('GET /api/v1/config', { status: 200, body: {}, headers: { etag: '"r4"' } });
    stub.reply('PUT /api/v1/config', { status: 412, body: { error: { code: 'FULCRUM_ERR_ADMIN_PRECONDITION', message: 'the config changed since it was read (If-Match "r4", now "r6"); read it again and retry' } } });
    const run = await fulcrum(['config', 'apply', file, '--admin', stub.url], env());
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^fulcrum: the config changed since it was read .*\(FULCRUM_ERR_ADMIN_PRECONDITION\)\nsomeone changed the config while this apply ran; look at fulcrum config diff .*new\.yaml and apply again\n$/);
  });

  it('history prints id, when, user, source and summary, newest first, marking the running one', async () => {
    stub.reply('GET /api/v1/config/versions', {
      status: 200,
      body: [
        { id: 'v5', revision: 'r5', createdAt: '2026-12-06T16:01:02.000Z', user: 'alice', source: 'cli', summary: 'config replaced', current: true },
        { id: 'v4', revision: 'r4', createdAt: '2026-12-05T09:00:00.000Z', user: null, source: 'file', summary: 'file edited' },
      ],
    });
    const run = await fulcrum(['config', 'history', '--admin', stub.url], env());
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      [
        'ID    WHEN (UTC)        USER   SOURCE  SUMMARY',
        'v5 *  2026-12-06 16:01  alice  cli     config replaced',
        'v4    2026-12-05 09:00  -      file    file edited',
        '',
        '* the running config; go back to another with: fulcrum config restore ID',
        '',
      ].join('\n'),
    );
  });

  it('history --json prints the API answer', async () => {
    const versions = [{ id: 'v5', revision: 'r5', createdAt: '2026-12-06T16:01:02.000Z', user: 'alice', source: 'cli', summary: 'config replaced' }];
    stub.reply('GET /api/v1/config/versions', { status: 200, body: versions });
    const run = await fulcrum(['config', 'history', '--json', '--admin', stub.url], env());
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), versions);
  });

  it('restore ID POSTs to the version and prints the diff and the new version', async () => {
    stub.reply('POST /api/v1/config/versions/v4/restore', { status: 200, body: { dryRun: false, changed: true, diff: DIFF, revision: 'r6', generation: 3, version: 'v6' } });
    const run = await fulcrum(['config', 'restore', 'v4', '--admin', stub.url], env());
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${DIFF}restored version v4: the config is now version v6 (revision r6)\n`);
    assert.equal(stub.requests[0]!.method, 'POST');
    assert.equal(stub.requests[0]!.headers.authorization, 'Bearer admin-token');
  });

  it('usage errors and an unreadable FILE fail before any request', async () => {
    for (const [args, reason] of [
      [['config'], /config needs a subcommand/],
      [['config', 'show'], /unknown config subcommand "show"/],
      [['config', 'diff'], /config diff needs the config file to compare/],
      [['config', 'apply', 'a.yaml', 'b.yaml'], /unexpected argument "b\.yaml"/],
      [['config', 'restore'], /config restore needs a version id/],
    ] as const) {
      const run = await fulcrum([...args, '--admin', stub.url], env());
      assert.equal(run.code, 2, args.join(' '));
      assert.match(run.stderr, reason);
    }
    const missing = await fulcrum(['config', 'apply', join(home, 'nope.yaml'), '--admin', stub.url], env());
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read .*nope\.yaml: ENOENT/);
    assert.equal(stub.requests.length, 0);
  });
});
