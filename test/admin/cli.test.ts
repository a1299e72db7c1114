// `fulcrum status` and `fulcrum rs` against a running instance, run as users run them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StatusDocument } from '../../src/admin/types.ts';
import { freePort, fulcrumBin, startBackends, startFulcrum, type Backends, type Fulcrum } from '../helpers/fulcrum.ts';
import { adminConfig, get, status } from './helpers.ts';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [fulcrumBin, ...args], { cwd: repoRoot, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

describe('fulcrum status and fulcrum rs', () => {
  let backends: Backends;
  let fulcrum: Fulcrum;
  let adminPort: number;
  let vsPort: number;
  let up: string;
  let down: string;

  before(async () => {
    backends = await startBackends(1);
    up = backends.servers[0]!.address;
    down = `127.0.0.1:${await freePort()}`;
    [adminPort, vsPort] = [await freePort(), await freePort()];
    fulcrum = await startFulcrum({
      config: adminConfig({ adminPort, vsPort, servers: [up, down], vsExtra: ['    healthCheck: { type: tcp, interval: 1s, timeout: 500ms }'] }),
    });
    // Until the first check the down server counts as up; wait for the verdict.
    for (let i = 0; i < 100; i++) {
      const doc = await status(adminPort);
      if (doc.virtualServices[0]!.realServers[1]!.health.lastCheck !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  after(async () => {
    await fulcrum.stop();
    await backends.close();
  });

  it('status -c FILE prints tables: the virtual services with their pools, the pools with their users, each server with state, UP/DOWN and the reason, active requests', async () => {
    const run = await cli(['status', '-c', fulcrum.configPath]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split('\n');
    assert.match(lines[0]!, /^VIRTUAL SERVICE\s+LISTEN\s+PROTOCOL\s+POOL\s+CONNECTIONS$/);
    assert.match(run.stdout, /^web\s+127\.0\.0\.1:\d+\s+http\s+web\s+\d+$/m);
    assert.match(run.stdout, /^POOL\s+SCHEDULER\s+PERSISTENCE\s+QUEUED\s+USED BY$/m);
    assert.match(run.stdout, /^web\s+round-robin\s+off\s+0\s+web$/m);
    assert.match(run.stdout, /^POOL\s+REAL SERVER\s+STATE\s+HEALTH\s+ACTIVE\s+REQUESTS\s+REASON$/m);
    assert.match(run.stdout, new RegExp(`^web\\s+${up}\\s+enabled\\s+UP\\s+0\\s+\\d+(\\s|$)`, 'm'));
    assert.match(run.stdout, new RegExp(`^web\\s+${down}\\s+enabled\\s+DOWN\\s+0\\s+0\\s+.*refused`, 'm'));
    assert.match(run.stdout, /config generation 1, 1 worker/);
  });

  it('status --admin URL --json prints the API document', async () => {
    const run = await cli(['status', '--admin', `127.0.0.1:${adminPort}`, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout) as StatusDocument;
    assert.deepEqual(doc.virtualServices[0]!.realServers.map((r) => r.address), [up, down]);
    const withScheme = await cli(['status', '--admin', `http://127.0.0.1:${adminPort}`, '--json']);
    assert.equal(withScheme.code, 0, withScheme.stderr);
  });

  it('rs drain VS ADDRESS changes the state, the file and the traffic; rs enable undoes it', async () => {
    const drained = await cli(['rs', 'drain', 'web', up, '-c', fulcrum.configPath]);
    assert.equal(drained.code, 0, drained.stderr);
    assert.equal(drained.stdout, `real server ${up} in "web" is now drain; 0 active requests\n`);
    assert.match(await readFile(fulcrum.configPath, 'utf8'), new RegExp(`- address: ${up}   # rack 1\\n        state: drain\\n`));
    const table = await cli(['status', '-c', fulcrum.configPath]);
    assert.match(table.stdout, new RegExp(`^web\\s+${up}\\s+drain\\s+UP`, 'm'));
    // The only other server is down: nothing may take new clients now.
    assert.equal((await get(vsPort)).status, 503);

    const enabled = await cli(['rs', 'enable', 'web', up, '--admin', `127.0.0.1:${adminPort}`]);
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.equal(enabled.stdout, `real server ${up} in "web" is now enabled; health UP\n`);
    assert.equal((await get(vsPort)).status, 200);
  });

  it('rs with an unknown virtual service fails (exit 1) with the API message and its suggestion', async () => {
    const run = await cli(['rs', 'disable', 'wbe', up, '-c', fulcrum.configPath]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no virtual service named "wbe"; did you mean "web"\? .*FULCRUM_ERR_ADMIN_NOT_FOUND/);
  });

  it('usage errors (exit 2): no admin address, a config without admin.listen, a bad action, missing arguments', async () => {
    const none = await cli(['status']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /status needs the admin API's address: --admin URL .* or -c FILE with admin\.listen/);
    const noAdmin = path.join(repoRoot, 'examples', 'sample.yaml');
    const fromFile = await cli(['status', '-c', noAdmin]);
    assert.equal(fromFile.code, 2, fromFile.stderr);
    assert.match(fromFile.stderr, /has no admin\.listen; add "admin: \{ listen: 127\.0\.0\.1:9090 \}"/);
    const action = await cli(['rs', 'drian', 'web', up, '-c', fulcrum.configPath]);
    assert.equal(action.code, 2);
    assert.match(action.stderr, /unknown rs action "drian"; use drain, enable or disable/);
    const missing = await cli(['rs', 'drain', 'web', '-c', fulcrum.configPath]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /rs drain needs a pool \(or a virtual service\) and a real server/);
    const misplaced = await cli(['check', '-c', fulcrum.configPath, '--json']);
    assert.equal(misplaced.code, 2);
  });

  it('an admin API that is not running: exit 1 with a hint', async () => {
    const run = await cli(['status', '--admin', `127.0.0.1:${await freePort()}`]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /cannot reach the admin API at http:\/\/127\.0\.0\.1:\d+: connection refused; is fulcrum running with admin\.listen set/);
  });

  it('--help lists status and rs', async () => {
    const run = await cli(['--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /status\s+Show every virtual service/);
    assert.match(run.stdout, /rs drain\|enable\|disable POOL ADDRESS/);
    assert.match(run.stdout, /--admin URL/);
  });
});
