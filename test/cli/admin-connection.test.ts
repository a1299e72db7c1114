// How the CLI reaches the admin API: where the token comes from (--token, FULCRUM_TOKEN, the token
// file) and in that order; what a 401 says; https with a private CA (--ca, FULCRUM_CA, admin.tls).
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { REPO, fulcrum, startStubAdmin, type StubAdmin } from './stub-admin.ts';

const STATUS = { virtualServices: [], pools: [], workers: [101], workersNotAnswering: [], generation: 1 };
const fixture = (name: string): string => join(REPO, 'test/fixtures/tls', name);

describe('the admin API connection: token', () => {
  let stub: StubAdmin;
  let home: string;
  let tokenFile: string;

  before(async () => {
    stub = await startStubAdmin();
    stub.reply('GET /api/v1/status', { status: 200, body: STATUS });
  });
  after(async () => {
    await stub.close();
    await rm(home, { recursive: true });
  });
  beforeEach(async () => {
    stub.requests.length = 0;
    if (home !== undefined) await rm(home, { recursive: true });
    home = await mkdtemp(join(tmpdir(), 'fulcrum-cli-home-'));
    tokenFile = join(home, '.config', 'fulcrum', 'token');
  });

  async function writeToken(path: string, text: string, mode: number): Promise<void> {
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, text);
    await chmod(path, mode);
  }

  /** Runs status --json and answers the Authorization header the stub saw. */
  async function sentAuthorization(args: readonly string[], env: Record<string, string> = {}): Promise<{ authorization: string | undefined; stderr: string }> {
    const run = await fulcrum(['status', '--json', '--admin', stub.url, ...args], { home, ...env });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), STATUS);
    const last = stub.requests.at(-1)!;
    return { authorization: last.headers.authorization, stderr: run.stderr };
  }

  it('no token anywhere: no Authorization header (a loopback API without users needs none)', async () => {
    assert.deepEqual(await sentAuthorization([]), { authorization: undefined, stderr: '' });
  });

  it('the token file (~/.config/fulcrum/token, trimmed) when there is no flag and no variable; mode 0600 is quiet', async () => {
    await writeToken(tokenFile, 'from-file\n', 0o600);
    assert.deepEqual(await sentAuthorization([]), { authorization: 'Bearer from-file', stderr: '' });
  });

  it('a token file other users can read works, with a warning like ssh gives', async () => {
    await writeToken(tokenFile, 'from-file', 0o644);
    const { authorization, stderr } = await sentAuthorization([]);
    assert.equal(authorization, 'Bearer from-file');
    assert.equal(stderr, `fulcrum: warning: ${tokenFile} is accessible by other users (mode 0644); make it private: chmod 600 ${tokenFile}\n`);
  });

  it('XDG_CONFIG_HOME moves the token file', async () => {
    await writeToken(tokenFile, 'from-home-config', 0o600);
    const xdg = join(home, 'xdg');
    await writeToken(join(xdg, 'fulcrum', 'token'), 'from-xdg', 0o600);
    assert.equal((await sentAuthorization([], { XDG_CONFIG_HOME: xdg })).authorization, 'Bearer from-xdg');
  });

  it('FULCRUM_TOKEN wins over the file, --token over both', async () => {
    await writeToken(tokenFile, 'from-file', 0o600);
    assert.equal((await sentAuthorization([], { FULCRUM_TOKEN: 'from-env' })).authorization, 'Bearer from-env');
    assert.equal((await sentAuthorization(['--token', 'from-flag'], { FULCRUM_TOKEN: 'from-env' })).authorization, 'Bearer from-flag');
  });

  it('401 without a token: says where a token comes from and how to create one, then the API\'s words', async () => {
    stub.reply('GET /api/v1/tokens', { status: 401, body: { error: { code: 'FULCRUM_ERR_ADMIN_UNAUTHENTICATED', message: 'log in (POST /api/v1/session) or send Authorization: Bearer TOKEN' } } });
    const run = await fulcrum(['token', 'list', '--admin', stub.url], { home });
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      'fulcrum: the admin API needs a token: --token, FULCRUM_TOKEN or ~/.config/fulcrum/token (create one with fulcrum token create or in the console)\n' +
        '  the API says: log in (POST /api/v1/session) or send Authorization: Bearer TOKEN\n',
    );
  });

  it('401 with a token: says which token was refused', async () => {
    stub.reply('GET /api/v1/tokens', { status: 401, body: { error: { code: 'FULCRUM_ERR_ADMIN_UNAUTHENTICATED', message: 'the API token is unknown, revoked or expired: create a new one' } } });
    const run = await fulcrum(['token', 'list', '--admin', stub.url, '--token', 'stale'], { home });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^fulcrum: the admin API did not accept the token from --token: the API token is unknown, revoked or expired: create a new one \(FULCRUM_ERR_ADMIN_UNAUTHENTICATED\); create a new one with fulcrum token create or in the console\n$/);
  });

  it('--json on a refused call prints the API error document on stdout as well', async () => {
    const error = { error: { code: 'FULCRUM_ERR_ADMIN_FORBIDDEN', message: 'this needs the role admin; yours is viewer' } };
    stub.reply('GET /api/v1/tokens', { status: 403, body: error });
    const run = await fulcrum(['token', 'list', '--json', '--admin', stub.url, '--token', 'viewer-token'], { home });
    assert.equal(run.code, 1);
    assert.deepEqual(JSON.parse(run.stdout), error);
    assert.match(run.stderr, /the role of the token from --token is not enough for this/);
  });

  it('--token, --admin, --ca on a command that does not talk to the API: usage error', async () => {
    const run = await fulcrum(['check', '-c', 'examples/sample.yaml', '--token', 'x'], { home });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--token applies to the commands that talk to the admin API, not to check/);
  });
});

describe('the admin API connection: https with a private CA', () => {
  let stub: StubAdmin;
  let dir: string;

  before(async () => {
    // app1.internal's certificate names 127.0.0.1 and is signed by the test "internal" CA.
    stub = await startStubAdmin({ key: await readFile(fixture('app1.internal.key'), 'utf8'), cert: await readFile(fixture('app1.internal.pem'), 'utf8') });
    stub.reply('GET /api/v1/status', { status: 200, body: STATUS });
    dir = await mkdtemp(join(tmpdir(), 'fulcrum-cli-tls-'));
  });
  after(async () => {
    await stub.close();
    await rm(dir, { recursive: true });
  });

  it('--ca FILE trusts the private CA', async () => {
    const run = await fulcrum(['status', '--json', '--admin', stub.url, '--ca', fixture('internal-ca.pem')], { home: dir });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), STATUS);
  });

  it('FULCRUM_CA does the same', async () => {
    const run = await fulcrum(['status', '--json', '--admin', stub.url], { home: dir, FULCRUM_CA: fixture('internal-ca.pem') });
    assert.equal(run.code, 0, run.stderr);
  });

  it('without the CA: exit 1, the certificate is not trusted, and how to give the CA', async () => {
    const run = await fulcrum(['status', '--admin', stub.url], { home: dir });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^fulcrum: cannot reach the admin API at https:\/\/127\.0\.0\.1:\d+: its certificate is not trusted \(.*\); give the CA that signed it with --ca FILE or FULCRUM_CA=FILE\n$/);
  });

  it('a CA file that cannot be read: exit 1 before any request', async () => {
    const before = stub.requests.length;
    const run = await fulcrum(['status', '--admin', stub.url, '--ca', join(dir, 'nope.pem')], { home: dir });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /cannot read the CA file .*nope\.pem \(--ca\): ENOENT/);
    assert.equal(stub.requests.length, before);
  });

  it('-c FILE: admin.listen with admin.tls means https; only the YAML is read, so a file with schema problems still works', async () => {
    const config = join(dir, 'fulcrum.yaml');
    await writeFile(config, ['admin:', `  listen: 127.0.0.1:${stub.port}`, '  tls:', '    certificates: [{ cert: a.pem, key: a.key }]', 'virtualServices: not-a-list', ''].join('\n'));
    const run = await fulcrum(['status', '--json', '-c', config, '--ca', fixture('internal-ca.pem')], { home: dir });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), STATUS);
  });
});
