// `fulcrum user add|list|remove|passwd` run as a separate process on a real state database,
// with the password piped on standard input (and typed at a terminal, through script(1)).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SessionStore } from '../../src/admin/auth/sessions.ts';
import { UserStore } from '../../src/admin/auth/users.ts';
import { openStateDatabase } from '../../src/admin/state/database.ts';

const fixture = path.join(import.meta.dirname, 'fixtures', 'user-command.ts');
const PASSWORD = 'correct horse battery staple';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the command with `stdin` piped in (closed at once when undefined). */
function user(args: readonly string[], stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** Open the database the command wrote, check something, close it. */
async function withUsers<T>(dbPath: string, check: (users: UserStore, db: ReturnType<typeof openStateDatabase>) => T | Promise<T>): Promise<T> {
  const db = openStateDatabase(dbPath);
  try {
    return await check(new UserStore(db), db);
  } finally {
    db.close();
  }
}

describe('fulcrum user', () => {
  let dir: string;
  let config: string;
  let dbPath: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'fulcrum-user-cli-'));
    config = path.join(dir, 'fulcrum.yaml');
    dbPath = path.join(dir, 'fulcrum.db');
    writeFileSync(config, 'admin:\n  listen: 127.0.0.1:9090\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('list with no users says how to add the first admin, and creates a private database beside the config', async () => {
    const run = await user(['-c', config, 'list']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.match(run.stdout, /^no users in .*fulcrum\.db: the admin API answers only on loopback; add the first admin with fulcrum user add NAME --role admin -c CONFIG\n$/);
    assert.equal(statSync(dbPath).mode & 0o777, 0o600);
  });

  it('add reads the password from the first line of standard input', async () => {
    const run = await user(['-c', config, 'add', 'alice', '--role', 'admin'], `${PASSWORD}\nsecond line is ignored\n`);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^added user "alice" \(admin\) to .*fulcrum\.db; the admin API now needs a login or a token\n$/);
    await withUsers(dbPath, async (users) => {
      assert.equal(await users.verify('alice', PASSWORD), 'admin');
    });
  });

  it('strips a CRLF line ending and accepts a last line without one', async () => {
    assert.equal((await user(['-c', config, 'add', 'olivia', '--role', 'operator'], 'operator password\r\n')).code, 0);
    assert.equal((await user(['-c', config, 'add', 'vera', '--role', 'viewer'], 'viewer password no newline')).code, 0);
    await withUsers(dbPath, async (users) => {
      assert.equal(await users.verify('olivia', 'operator password'), 'operator');
      assert.equal(await users.verify('vera', 'viewer password no newline'), 'viewer');
    });
  });

  it('refuses a duplicate, a weak or missing password, and a bad name, with one line on stderr and exit 1', async () => {
    const cases: Array<[string[], string | undefined, RegExp]> = [
      [['add', 'alice', '--role', 'viewer'], `${PASSWORD}\n`, /^fulcrum: user "alice" exists already \(change their password with fulcrum user passwd alice\)\n$/],
      [['add', 'bob', '--role', 'viewer'], 'short\n', /^fulcrum: the password has 5 characters; use at least 12 .*\n$/],
      [['add', 'bob', '--role', 'viewer'], undefined, /^fulcrum: no password on standard input: pipe it in .*\n$/],
      [['add', 'bob', '--role', 'viewer'], '\n', /^fulcrum: the password is empty\n$/],
      [['add', 'bob smith', '--role', 'viewer'], `${PASSWORD}\n`, /^fulcrum: "bob smith" is not a valid user name: .*\n$/],
    ];
    for (const [args, stdin, message] of cases) {
      const run = await user(['-c', config, ...args], stdin);
      assert.equal(run.code, 1, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.equal(run.stdout, '');
    }
    await withUsers(dbPath, (users) => assert.equal(users.get('bob'), undefined));
  });

  it('list prints a table, or JSON with --json, never a hash', async () => {
    const table = await user(['-c', config, 'list']);
    assert.equal(table.code, 0);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^NAME +ROLE +CREATED +LAST LOGIN$/);
    assert.deepEqual(lines.slice(1).map((line) => line.split(/ +/).slice(0, 2)), [['alice', 'admin'], ['olivia', 'operator'], ['vera', 'viewer']]);
    assert.match(lines[1]!, /\d{4}-\d\d-\d\d \d\d:\d\dZ +never$/);
    const json = await user(['-c', config, '--json', 'list']);
    assert.equal(json.code, 0);
    const listed = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(listed.map((entry) => Object.keys(entry).sort()), Array(3).fill(['createdAt', 'lastLogin', 'name', 'role']));
    assert.ok(!json.stdout.includes('scrypt'));
  });

  it('passwd changes the password and ends the user\'s browser sessions', async () => {
    const sessionId = await withUsers(dbPath, (_users, db) => new SessionStore(db).create('alice', 'admin').id);
    const run = await user(['-c', config, 'passwd', 'alice'], 'a new passphrase for alice\n');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'changed the password of "alice"; ended 1 browser session\n');
    await withUsers(dbPath, async (users, db) => {
      assert.equal(await users.verify('alice', PASSWORD), null);
      assert.equal(await users.verify('alice', 'a new passphrase for alice'), 'admin');
      assert.equal(new SessionStore(db).lookup(sessionId), null);
    });
    const missing = await user(['-c', config, 'passwd', 'nobody'], `${PASSWORD}\n`);
    assert.deepEqual([missing.code, missing.stderr], [1, 'fulcrum: no user named "nobody"\n']);
  });

  it('remove refuses the last admin and removes anyone else', async () => {
    const last = await user(['-c', config, 'remove', 'alice']);
    assert.equal(last.code, 1);
    assert.equal(last.stderr, 'fulcrum: "alice" is the last admin and cannot be removed: make another user admin first\n');
    const run = await user(['-c', config, 'remove', 'vera']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'removed user "vera"; their API tokens and sessions no longer work\n');
    await withUsers(dbPath, (users) => assert.deepEqual(users.list().map((entry) => entry.name), ['alice', 'olivia']));
  });

  it('usage errors come back to main (exit 2 here) without touching the database', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['-c', config], /user needs a subcommand: add, list, remove or passwd/],
      [['-c', config, 'rename', 'a'], /unknown user subcommand "rename"/],
      [['-c', config, 'add', 'bob'], /user add needs a role: --role admin\|operator\|viewer/],
      [['-c', config, 'add', 'bob', '--role', 'root'], /"root" is not a role; use admin, operator, viewer/],
      [['-c', config, 'add', '--role', 'viewer'], /user add needs a user name/],
      [['-c', config, 'remove', 'a', 'b'], /unexpected argument "b"/],
      [['-c', config, 'list', '--role', 'admin'], /--role applies to user add/],
      [['-c', config, 'list', '--colour'], /Unknown option '--colour'/],
      [['add', 'bob', '--role', 'viewer'], /needs the config file: -c FILE/],
    ];
    for (const [args, message] of cases) {
      const run = await user(args, `${PASSWORD}\n`);
      assert.equal(run.code, 2, args.join(' '));
      assert.match(run.stderr, message);
    }
  });

  it('a config that cannot be read is a failure that says where the database would be', async () => {
    const run = await user(['-c', path.join(dir, 'missing.yaml'), 'list']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^fulcrum: cannot read the config file .*missing\.yaml: no such file \(the user database is next to it\)\n$/);
  });

  it('uses admin.database when the config sets it', async () => {
    const other = path.join(dir, 'other');
    mkdirSync(path.join(other, 'state'), { recursive: true });
    const otherConfig = path.join(other, 'lb.yaml');
    writeFileSync(otherConfig, 'admin:\n  listen: 127.0.0.1:9090\n  database: state/users.db\n');
    const run = await user(['-c', otherConfig, 'add', 'root', '--role', 'admin'], `${PASSWORD}\n`);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.stdout.includes(path.join(other, 'state', 'users.db')), run.stdout);
    await withUsers(path.join(other, 'state', 'users.db'), (users) => assert.equal(users.get('root')?.role, 'admin'));
  });

  const needsScript = { skip: hasScript() ? false : 'script(1) from util-linux is not installed' };

  it('prompts twice without echo at a terminal', needsScript, async () => {
    const typed = 'typed at the terminal';
    const run = await atTerminal(dir, ['add', 'tty', '--role', 'admin'], [typed, typed]);
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /Password for tty: .*Type it again: .*added user "tty" \(admin\)/s);
    assert.ok(!run.output.includes(typed), `the password was echoed: ${JSON.stringify(run.output)}`);
    await withUsers(path.join(dir, 'tty.db'), async (users) => assert.equal(await users.verify('tty', typed), 'admin'));
  });

  it('at a terminal, two different passwords change nothing', needsScript, async () => {
    const run = await atTerminal(dir, ['add', 'tty2', '--role', 'admin'], ['typed at the terminal', 'typed at the terminaL']);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, /fulcrum: the two passwords differ; nothing was changed/);
    await withUsers(path.join(dir, 'tty.db'), (users) => assert.equal(users.get('tty2'), undefined));
  });
});

/** Run the command on a pseudo-terminal (script(1)), typing each answer once its prompt shows. */
async function atTerminal(dir: string, args: readonly string[], answers: readonly string[]): Promise<{ code: number | null; output: string }> {
  const config = path.join(dir, 'tty.yaml');
  writeFileSync(config, 'admin:\n  listen: 127.0.0.1:9090\n');
  const command = [process.execPath, fixture, '-c', config, ...args].map((arg) => `'${arg}'`).join(' ');
  const child = spawn('script', ['-qefc', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  let output = '';
  const prompts = ['Password for ', 'Type it again: '];
  let answered = 0;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    // Each answer goes once its prompt is on the terminal, as a person would type it; Enter is \r in raw mode.
    while (answered < answers.length && output.includes(prompts[answered]!)) {
      child.stdin.write(`${answers[answered]}\r`);
      answered++;
    }
  });
  const code = await exited;
  return { code, output };
}

function hasScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
