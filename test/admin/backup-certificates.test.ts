// Issue 12 review: restore checks a backup whole before it changes anything (every problem with
// its JSON path, the dry run failing where the real run would), says in the audit log that users
// and tokens were replaced, and answers a 500 that says what happened when the users' transaction
// fails after the config went in; an uploaded certificate answers an ETag that DELETE's If-Match
// is checked against; a viewer sees certificate file names, not the node's paths.
// `fulcrum start` as an administrator runs it, the first admin from the environment.
import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStateDatabase } from '../../src/admin/state/database.ts';
import { freePort, startBackends, type Backends } from '../helpers/fulcrum.ts';
import { adminConfig, request, startNode, type FulcrumNode, type Reply } from './helpers.ts';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const fixture = (name: string): string => path.join(REPO, 'test/fixtures/tls', name);
const ROOT_PASSWORD = 'correct horse battery staple';
const PASSWORD = 'a passphrase of five words';
const UNSAFE = new Set(['POST', 'PUT', 'DELETE']);

type Session = { cookie: string; csrf: string };
type Caller = (method: string, route: string, body?: unknown, headers?: Record<string, string>) => Promise<Reply>;

function withSession(port: number, session: Session): Caller {
  return (method, route, body, headers = {}) =>
    request(port, method, route, { body, headers: { cookie: session.cookie, ...(UNSAFE.has(method) ? { 'x-csrf-token': session.csrf } : {}), ...headers } });
}

function withToken(port: number, token: string): Caller {
  return (method, route, body) => request(port, method, route, { body, headers: { authorization: `Bearer ${token}` } });
}

async function login(port: number, user: string, password: string): Promise<Session> {
  const reply = await request(port, 'POST', '/api/v1/session', { body: { user, password } });
  assert.equal(reply.status, 200, reply.text);
  const header = [reply.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('fulcrum_session='));
  assert.ok(header !== undefined, 'a session cookie');
  return { cookie: header.split(';')[0]!, csrf: reply.json.csrfToken };
}

function expectError(reply: Reply, status: number, code: string, message?: RegExp): void {
  assert.equal(reply.status, status, reply.text);
  assert.equal(reply.json?.error?.code, code, reply.text);
  if (message !== undefined) assert.match(reply.json.error.message, message);
}

const exists = (file: string): Promise<boolean> => access(file).then(
  () => true,
  () => false,
);

interface AuditEntry {
  id: number;
  user: string;
  address: string;
  action: string;
  target: string;
  outcome: string;
  detail: string | null;
}

describe('backup and restore, uploaded certificates: one node with users', () => {
  let dir: string;
  let configPath: string;
  let certificates: string;
  let node: FulcrumNode;
  let backends: Backends;
  let port: number;
  let admin: Caller;
  let rootToken: string;

  const file = (): Promise<string> => readFile(configPath, 'utf8');
  const users = async (): Promise<unknown> => {
    const reply = await admin('GET', '/api/v1/users');
    assert.equal(reply.status, 200, reply.text);
    return reply.json;
  };
  const restoreAudit = async (): Promise<AuditEntry[]> => {
    const reply = await admin('GET', '/api/v1/audit?limit=1000');
    assert.equal(reply.status, 200, reply.text);
    return (reply.json as AuditEntry[]).filter((e) => e.action === 'backup.restore' && e.target === 'users and tokens');
  };
  const relogin = async (): Promise<void> => {
    admin = withSession(port, await login(port, 'root', ROOT_PASSWORD));
  };

  before(async () => {
    backends = await startBackends(1);
    port = await freePort();
    dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-backup-certificates-'));
    configPath = path.join(dir, 'edge.yaml');
    certificates = path.join(dir, 'certificates');
    await writeFile(configPath, adminConfig({ adminPort: port, vsPort: await freePort(), servers: backends.servers.map((s) => s.address) }));
    node = await startNode(configPath, { FULCRUM_ADMIN_USER: 'root', FULCRUM_ADMIN_PASSWORD: ROOT_PASSWORD });
    await relogin();
    for (const [name, role] of [['vera', 'viewer'], ['otto', 'operator']]) {
      const created = await admin('POST', '/api/v1/users', { name, role, password: PASSWORD });
      assert.equal(created.status, 201, created.text);
    }
    const token = await admin('POST', '/api/v1/tokens', { name: 'backup script', role: 'admin', expiresIn: '1d' });
    assert.equal(token.status, 201, token.text);
    rootToken = token.json.token;
  });

  after(async () => {
    await node?.stop();
    await backends?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('an uploaded certificate answers an ETag; DELETE with a stale If-Match is 412 and keeps the files, with the current one (or *) it deletes', async () => {
    const cert = await readFile(fixture('www.surveyor.lab.rsa.pem'), 'utf8');
    const key = await readFile(fixture('www.surveyor.lab.rsa.key'), 'utf8');
    for (const name of ['surveyor', 'spare']) assert.equal((await admin('POST', '/api/v1/certificates', { name, cert, key })).status, 201);
    const files = [path.join(certificates, 'surveyor.crt'), path.join(certificates, 'surveyor.key')];

    const read = await admin('GET', '/api/v1/certificates/surveyor');
    assert.equal(read.status, 200, read.text);
    const etag = String(read.headers.etag);
    assert.match(etag, /^"[A-Za-z0-9_-]{22}"$/);
    assert.equal((await admin('GET', '/api/v1/certificates/surveyor')).headers.etag, etag, 'the same files, the same tag');

    const stale = await admin('DELETE', '/api/v1/certificates/surveyor', undefined, { 'if-match': '"AAAAAAAAAAAAAAAAAAAAAA"' });
    expectError(stale, 412, 'FULCRUM_ERR_ADMIN_PRECONDITION', /changed since it was read/);
    assert.deepEqual(await Promise.all(files.map(exists)), [true, true], 'a refused delete keeps both files');
    assert.equal((await admin('GET', '/api/v1/certificates/surveyor')).status, 200);

    const dry = await admin('DELETE', '/api/v1/certificates/surveyor?dryRun=true', undefined, { 'if-match': etag });
    assert.equal(dry.status, 200, dry.text);
    assert.deepEqual(await Promise.all(files.map(exists)), [true, true], 'a dry run keeps both files');

    const removed = await admin('DELETE', '/api/v1/certificates/surveyor', undefined, { 'if-match': etag });
    assert.equal(removed.status, 200, removed.text);
    assert.deepEqual(await Promise.all(files.map(exists)), [false, false]);
    expectError(await admin('GET', '/api/v1/certificates/surveyor'), 404, 'FULCRUM_ERR_ADMIN_NOT_FOUND');

    assert.equal((await admin('DELETE', '/api/v1/certificates/spare', undefined, { 'if-match': '*' })).status, 200);
    assert.equal(await exists(path.join(certificates, 'spare.crt')), false);
  });

  it('an admin sees the absolute paths of certificate files (for tls.certificates); a viewer only their names', async () => {
    const cert = await readFile(fixture('www.surveyor.lab.rsa.pem'), 'utf8');
    const key = await readFile(fixture('www.surveyor.lab.rsa.key'), 'utf8');
    assert.equal((await admin('POST', '/api/v1/certificates', { name: 'viewed', cert, key })).status, 201);
    const viewer = withSession(port, await login(port, 'vera', PASSWORD));

    const mine = (await admin('GET', '/api/v1/certificates/viewed')).json;
    assert.deepEqual([mine.certFile, mine.keyFile], [path.join(certificates, 'viewed.crt'), path.join(certificates, 'viewed.key')]);
    const adminList = (await admin('GET', '/api/v1/certificates')).json.find((c: { name: string }) => c.name === 'viewed');
    assert.equal(adminList.certFile, path.join(certificates, 'viewed.crt'));

    const one = await viewer('GET', '/api/v1/certificates/viewed');
    assert.equal(one.status, 200, one.text);
    assert.deepEqual([one.json.certFile, one.json.keyFile], ['viewed.crt', 'viewed.key']);
    assert.equal(one.headers.etag, (await admin('GET', '/api/v1/certificates/viewed')).headers.etag, 'the tag is of the files, whoever reads them');
    const list = await viewer('GET', '/api/v1/certificates');
    assert.equal(list.status, 200, list.text);
    const listed = list.json.find((c: { name: string }) => c.name === 'viewed');
    assert.deepEqual([listed.certFile, listed.keyFile], ['viewed.crt', 'viewed.key']);
    for (const text of [one.text, list.text]) assert.equal(text.includes(dir), false, `no path of the node in ${text}`);

    assert.equal((await admin('DELETE', '/api/v1/certificates/viewed')).status, 200);
  });

  it('a backup that would fail in the database is refused whole: 400 naming every problem, the config, users and sessions unchanged; the dry run answers the same', async () => {
    const backup = await admin('GET', '/api/v1/backup');
    assert.equal(backup.status, 200, backup.text);
    assert.deepEqual(backup.json.users.map((u: { name: string }) => u.name), ['otto', 'root', 'vera']);
    assert.equal(backup.json.tokens.length, 1);
    const broken = structuredClone(backup.json);
    const token = broken.tokens[0];
    broken.config.text += '# a change the restore must not make\n';
    broken.users[0].created_at = 1.5;
    delete broken.users[2].last_login;
    broken.users.push({ ...broken.users[1] });
    broken.tokens.push({ ...token, id: 'ffffffffffffffff', owner: 'ghost' });
    token.secret_sha256 = Buffer.alloc(31, 7).toString('base64');

    const configBefore = await file();
    const usersBefore = await users();
    const auditBefore = await restoreAudit();
    const dry = await admin('POST', '/api/v1/restore?dryRun=true', broken);
    const real = await admin('POST', '/api/v1/restore', broken);
    for (const reply of [dry, real]) {
      expectError(reply, 400, 'FULCRUM_ERR_ADMIN_BAD_REQUEST', /^not restored, nothing changed: \$\.users\[0\]\.created_at: /);
      const problems = reply.json.error.problems as Array<{ path: string; message: string }>;
      assert.deepEqual(problems.map((p) => p.path), ['$.users[0].created_at', '$.users[2].last_login', '$.users[3].name', '$.tokens[0].secret_sha256', '$.tokens[1].owner'], JSON.stringify(problems));
      assert.equal(problems[0]!.message, '1.5 is not a time (whole milliseconds since 1970)');
      assert.equal(problems[1]!.message, 'missing; a time (whole milliseconds since 1970) or null (never)');
      assert.match(problems[2]!.message, /^"root" is also the name of \$\.users\[1\]/);
      assert.equal(problems[3]!.message, 'not the base64 of a 32-byte SHA-256 hash (it decodes to 31 bytes)');
      assert.match(problems[4]!.message, /^no user "ghost" in \$\.users/);
    }
    assert.deepEqual(real.json, dry.json, 'the dry run fails exactly where the real run does');
    assert.equal(await file(), configBefore, 'the config was not applied');
    assert.deepEqual(await users(), usersBefore);
    assert.equal((await admin('GET', '/api/v1/session')).status, 200, 'sessions were not ended');
    assert.equal((await withToken(port, rootToken)('GET', '/api/v1/session')).status, 200, 'the token still works');
    assert.deepEqual(await restoreAudit(), auditBefore, 'nothing was replaced, so nothing is audited as replaced');
  });

  it('a good restore puts users and tokens back and says so in the audit log; its dry run changes nothing', async () => {
    const backup = (await admin('GET', '/api/v1/backup')).json;
    assert.equal((await admin('DELETE', '/api/v1/users/otto')).status, 204);
    const auditBefore = await restoreAudit();

    const dry = await admin('POST', '/api/v1/restore?dryRun=true', backup);
    assert.equal(dry.status, 200, dry.text);
    assert.deepEqual([dry.json.dryRun, dry.json.users, dry.json.tokens], [true, 3, 1]);
    assert.deepEqual((await users() as Array<{ name: string }>).map((u) => u.name), ['root', 'vera'], 'the dry run put nobody back');
    assert.deepEqual(await restoreAudit(), auditBefore);

    const restored = await admin('POST', '/api/v1/restore', backup);
    assert.equal(restored.status, 200, restored.text);
    assert.deepEqual([restored.json.dryRun, restored.json.users, restored.json.tokens], [false, 3, 1]);
    await relogin();
    assert.deepEqual((await users() as Array<{ name: string }>).map((u) => u.name), ['otto', 'root', 'vera']);
    assert.equal((await withToken(port, rootToken)('GET', '/api/v1/session')).status, 200, 'the token came back');
    const entries = await restoreAudit();
    assert.equal(entries.length, auditBefore.length + 1, JSON.stringify(entries));
    const entry = entries[0]!;
    assert.deepEqual([entry.user, entry.address, entry.outcome, entry.detail], ['root', '127.0.0.1', 'ok', '3 users, 1 token replaced']);
  });

  it('when the users\' transaction fails after the config went in: a 500 that says so, an audit entry, the users and sessions of before kept', async () => {
    const backup = (await admin('GET', '/api/v1/backup')).json;
    backup.config.text += '# restored while the database refuses tokens\n';
    assert.equal((await admin('DELETE', '/api/v1/users/otto')).status, 204);
    const usersBefore = await users();
    // A real SQLite failure inside the transaction, after the users' INSERTs (a constraint the checks cannot know): the whole of it must roll back.
    const refuse = (sql: string): void => {
      const db = openStateDatabase(path.join(dir, 'edge.db'));
      try {
        db.sql.exec(sql);
      } finally {
        db.close();
      }
    };
    refuse("CREATE TRIGGER refuse_tokens BEFORE INSERT ON tokens BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
    try {
      const failed = await admin('POST', '/api/v1/restore', backup);
      expectError(failed, 500, 'FULCRUM_ERR_STATE_DATABASE', /^the config of the backup was applied \(revision \S+\) but its users and tokens were not: .*cannot restore users and tokens: constraint failed.*; the users and tokens of before are still in place/);
    } finally {
      refuse('DROP TRIGGER refuse_tokens');
    }
    assert.equal(await file(), backup.config.text, 'the config is in');
    assert.equal((await admin('GET', '/api/v1/session')).status, 200, 'the sessions of before were kept');
    assert.deepEqual(await users(), usersBefore, 'otto did not come back: none of the users were replaced');
    const entry = (await restoreAudit())[0]!;
    assert.equal(entry.outcome, 'failed');
    assert.match(entry.detail ?? '', /but its users and tokens were not: .*constraint failed/);
    assert.ok(node.logs.some((l) => /the config was applied but users and tokens were not replaced/.test(String(l.msg)) && /constraint failed/.test(String(l.error))), 'logged');

    const again = await admin('POST', '/api/v1/restore', backup);
    assert.equal(again.status, 200, again.text);
    await relogin();
    assert.deepEqual((await users() as Array<{ name: string }>).map((u) => u.name), ['otto', 'root', 'vera']);
  });
});
