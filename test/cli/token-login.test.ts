/**
 * `fulcrum token create NAME --role R --user USER`: the first token of a user who has none, made
 * by logging in with the password (from standard input), against a real `fulcrum start`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, fulcrumBin } from '../helpers/fulcrum.ts';
import { request, startNode, type FulcrumNode } from '../admin/helpers.ts';

const NODE = path.resolve(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'node');
const PASSWORD = 'a long enough password';

function fulcrum(args: string[], stdin: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(NODE, [fulcrumBin, ...args], { env: { ...process.env, HOME: tmpdir(), XDG_CONFIG_HOME: path.join(tmpdir(), 'fulcrum-no-such-config'), FULCRUM_TOKEN: '', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  child.stdin.end(stdin);
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('fulcrum token create --user', () => {
  let dir: string;
  let node: FulcrumNode;
  let adminPort: number;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-token-login-'));
    adminPort = await freePort();
    const config = path.join(dir, 'fulcrum.yaml');
    await writeFile(config, ['workers: 1', 'accessLog: off', 'admin:', `  listen: 127.0.0.1:${adminPort}`, 'virtualServices:', '  - name: web', `    listen: 127.0.0.1:${await freePort()}`, '    protocol: http', `    realServers: [{ address: 127.0.0.1:${await freePort()} }]`, ''].join('\n'));
    node = await startNode(config, { FULCRUM_ADMIN_USER: 'alice', FULCRUM_ADMIN_PASSWORD: PASSWORD });
  });
  after(async () => {
    await node?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('logs in with the password from stdin, prints only the token, and logs out again', async () => {
    const made = await fulcrum(['token', 'create', 'ci', '--role', 'viewer', '--user', 'alice', '--admin', `127.0.0.1:${adminPort}`], `${PASSWORD}\n`);
    assert.equal(made.code, 0, made.stderr);
    const token = made.stdout.trim();
    assert.match(token, /^fulcrum_[0-9a-f]+_\S+$/);
    const status = await request(adminPort, 'GET', '/api/v1/status', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(status.status, 200);
    // A viewer's token: reading works, writing does not.
    const write = await request(adminPort, 'DELETE', '/api/v1/virtual-services/web', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(write.status, 403);
    const audit = await request<Array<{ action: string; target: string; outcome: string; user: string }>>(adminPort, 'GET', '/api/v1/audit', { headers: { authorization: `Bearer ${(await adminToken()).trim()}` } });
    // Newest first: each token create is a login, the create and a logout, by alice.
    const ci = audit.json.findIndex((e) => e.action === 'token.create' && e.target === 'ci');
    assert.ok(ci > 0, JSON.stringify(audit.json.slice(0, 8)));
    assert.deepEqual(audit.json.slice(ci - 1, ci + 2).map((e) => `${e.action}:${e.outcome}:${e.user}`), ['logout:ok:alice', 'token.create:ok:alice', 'login:ok:alice']);
  });

  it('a wrong password fails with the API\'s words and exit code 1, and makes no token', async () => {
    const made = await fulcrum(['token', 'create', 'ci2', '--role', 'viewer', '--user', 'alice', '--admin', `127.0.0.1:${adminPort}`], 'not the password at all\n');
    assert.equal(made.code, 1);
    assert.equal(made.stdout, '');
    assert.match(made.stderr, /wrong user name or password/);
  });

  async function adminToken(): Promise<string> {
    const made = await fulcrum(['token', 'create', 'auditor', '--role', 'admin', '--user', 'alice', '--admin', `127.0.0.1:${adminPort}`], `${PASSWORD}\n`);
    assert.equal(made.code, 0, made.stderr);
    return made.stdout;
  }
});
