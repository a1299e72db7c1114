// `fulcrum token create|list|revoke` against a stand-in admin API: what the CLI sends and prints.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fulcrum, startStubAdmin, type StubAdmin } from './stub-admin.ts';

describe('fulcrum token', () => {
  let stub: StubAdmin;
  let home: string;
  const env = (): { home: string; FULCRUM_TOKEN: string } => ({ home, FULCRUM_TOKEN: 'secret-admin-token' });

  before(async () => {
    stub = await startStubAdmin();
    home = await mkdtemp(join(tmpdir(), 'fulcrum-cli-token-'));
  });
  after(async () => {
    await stub.close();
    await rm(home, { recursive: true });
  });
  beforeEach(() => {
    stub.requests.length = 0;
  });

  it('create NAME --role R --expires 90d POSTs {name, role, expiresIn} with the bearer token and prints the secret alone on stdout', async () => {
    stub.reply('POST /api/v1/tokens', { status: 201, body: { id: 'tk7', token: 'fulcrum_s3cr3t', name: 'deploy', role: 'operator', expiresAt: '2027-03-06T16:00:00.000Z' } });
    const run = await fulcrum(['token', 'create', 'deploy', '--role', 'operator', '--expires', '90d', '--admin', stub.url], env());
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'fulcrum_s3cr3t\n');
    assert.match(run.stderr, /^token tk7 "deploy" \(operator\) works until 2027-03-06 16:00 UTC\. It is shown this once: keep it in ~\/\.config\/fulcrum\/token \(chmod 600\)/);
    assert.equal(stub.requests.length, 1);
    const [sent] = stub.requests;
    assert.equal(sent!.method, 'POST');
    assert.equal(sent!.url, '/api/v1/tokens');
    assert.equal(sent!.headers.authorization, 'Bearer secret-admin-token');
    assert.equal(sent!.headers['content-type'], 'application/json');
    assert.equal(sent!.headers['x-fulcrum-client'], 'cli');
    assert.deepEqual(JSON.parse(sent!.body), { name: 'deploy', role: 'operator', expiresIn: '90d' });
  });

  it('create without --expires leaves the default (30d) to the API; --json prints the API answer', async () => {
    const created = { id: 'tk8', token: 'fulcrum_other', name: 'ci', role: 'viewer', expiresAt: '2027-01-05T16:00:00.000Z' };
    stub.reply('POST /api/v1/tokens', { status: 201, body: created });
    const run = await fulcrum(['token', 'create', 'ci', '--role', 'viewer', '--json', '--admin', stub.url], env());
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), created);
    assert.deepEqual(JSON.parse(stub.requests[0]!.body), { name: 'ci', role: 'viewer' });
  });

  it('list prints a table of the tokens, never a secret', async () => {
    stub.reply('GET /api/v1/tokens', {
      status: 200,
      body: [
        { id: 'tk7', name: 'deploy script', role: 'operator', user: 'alice', createdAt: '2026-12-06T16:00:00.000Z', expiresAt: '2027-03-06T16:00:00.000Z', lastUsed: null },
        { id: 'tk12', name: 'ci', role: 'viewer', user: 'bob', createdAt: '2026-12-01T08:30:00.000Z', expiresAt: '2026-12-31T08:30:00.000Z', lastUsed: '2026-12-06T15:59:00.000Z' },
      ],
    });
    const run = await fulcrum(['token', 'list', '--admin', stub.url], env());
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      [
        'ID    ROLE      USER   CREATED           EXPIRES           LAST USED         NAME',
        'tk7   operator  alice  2026-12-06 16:00  2027-03-06 16:00  -                 deploy script',
        'tk12  viewer    bob    2026-12-01 08:30  2026-12-31 08:30  2026-12-06 15:59  ci',
        '',
      ].join('\n'),
    );
    assert.equal(stub.requests[0]!.method, 'GET');
    assert.equal(stub.requests[0]!.headers.authorization, 'Bearer secret-admin-token');
  });

  it('revoke ID sends DELETE /api/v1/tokens/ID (percent-encoded) and says so', async () => {
    stub.reply('DELETE /api/v1/tokens/tk%2F7', { status: 204 });
    const run = await fulcrum(['token', 'revoke', 'tk/7', '--admin', stub.url], env());
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'token tk/7 revoked\n');
    assert.equal(stub.requests[0]!.method, 'DELETE');
  });

  it('a token the API does not know: exit 1, the API message and what to do', async () => {
    stub.reply('DELETE /api/v1/tokens/nope', { status: 404, body: { error: { code: 'FULCRUM_ERR_ADMIN_NOT_FOUND', message: 'no token "nope"' } } });
    const run = await fulcrum(['token', 'revoke', 'nope', '--admin', stub.url], env());
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.equal(run.stderr, 'fulcrum: no token "nope" (FULCRUM_ERR_ADMIN_NOT_FOUND)\n');
  });

  it('usage errors exit 2 before any request', async () => {
    const cases: [string[], RegExp][] = [
      [['token'], /token needs a subcommand/],
      [['token', 'mint'], /unknown token subcommand "mint"/],
      [['token', 'create', '--role', 'admin'], /token create needs a name/],
      [['token', 'create', 'ci'], /token create needs a role: --role viewer\|operator\|admin/],
      [['token', 'create', 'ci', '--role', 'root'], /unknown role "root"; use viewer, operator, admin/],
      [['token', 'create', 'ci', '--role', 'viewer', '--expires', '2w'], /--expires "2w": give minutes, hours or days/],
      [['token', 'create', 'ci', '--role', 'viewer', '--frob'], /Unknown option '--frob'/],
      [['token', 'revoke'], /token revoke needs the token's id/],
      [['token', 'list', 'extra'], /unexpected argument "extra"/],
    ];
    for (const [args, reason] of cases) {
      const run = await fulcrum([...args, '--admin', stub.url], env());
      assert.equal(run.code, 2, args.join(' '));
      assert.match(run.stderr, reason, args.join(' '));
      assert.match(run.stderr, /Usage: fulcrum/);
    }
    assert.equal(stub.requests.length, 0);
  });
});
