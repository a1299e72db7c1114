// `fulcrum` run as users run it: a real child process through bin/fulcrum.js.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'bin/fulcrum.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: readonly string[], nodeBinary = process.execPath): Promise<Run> {
  return new Promise((resolve) => {
    execFile(nodeBinary, [BIN, ...args], { cwd: REPO, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A Node older than 24 on this machine (the system node), to test the shim's hand-over. */
function olderNode(): string | undefined {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    try {
      const version = execFileSync(candidate, ['--version'], { encoding: 'utf8' }).trim();
      if (Number(/^v(\d+)/.exec(version)?.[1]) < 24) return candidate;
    } catch {
      // not installed here
    }
  }
  return undefined;
}

const VALID = ['virtualServices:', '  - name: web', '    listen: 127.0.0.1:8080', '    protocol: http', '    realServers: [{ address: 127.0.0.1:9001 }]'].join('\n');
const INVALID = VALID.replace('    realServers', '    schedular: round-robin\n    realServers');

describe('fulcrum CLI', () => {
  let dir: string;
  let valid: string;
  let invalid: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fulcrum-cli-'));
    valid = join(dir, 'valid.yaml');
    invalid = join(dir, 'invalid.yaml');
    await writeFile(valid, VALID);
    await writeFile(invalid, INVALID);
  });
  after(async () => {
    await rm(dir, { recursive: true });
  });

  it('check: a valid file prints OK and exits 0', async () => {
    const result = await run(['check', '-c', valid]);
    assert.deepEqual(result, { code: 0, stdout: `${valid}: OK (1 virtual service)\n`, stderr: '' });
  });

  it('check: the sample config passes', async () => {
    const result = await run(['check', '--config', 'examples/sample.yaml']);
    assert.deepEqual(result, { code: 0, stdout: 'examples/sample.yaml: OK (1 virtual service)\n', stderr: '' });
  });

  it('check: a GSLB-only config counts its FQDNs and zones (issue 5 sample)', async () => {
    const result = await run(['check', '-c', 'examples/gslb.yaml']);
    assert.deepEqual(result, { code: 0, stdout: 'examples/gslb.yaml: OK (0 virtual services, 2 GSLB FQDNs in 1 zone)\n', stderr: '' });
  });

  it('check: an invalid file prints each problem with its line and exits 1', async () => {
    const result = await run(['check', '-c', invalid]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.equal(
      result.stderr,
      `${invalid}:5:5: virtualServices[0].schedular: unknown key; did you mean "scheduler"? allowed keys: name, listen, protocol, acceptProxyProtocol, pool, scheduler, forwardedHeaders, timeouts, limits, retries, slowStart, sorryServer, notAvailable, outlierDetection, adaptive, persistence, drainTimeout, healthCheck, realServers, rules, access, rateLimit, trustedProxies, http2, redirectToHttps\n` +
        `${invalid}: 1 problem\n`,
    );
  });

  it('check: a missing file exits 1 with the reason', async () => {
    const result = await run(['check', '-c', join(dir, 'nope.yaml')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /nope\.yaml: cannot read the config file: no such file/);
  });

  it('--version prints the version from package.json', async () => {
    const { version } = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
    assert.deepEqual(await run(['--version']), { code: 0, stdout: `fulcrum ${version}\n`, stderr: '' });
    assert.equal((await run(['-v'])).stdout, `fulcrum ${version}\n`);
  });

  it('--help prints usage on stdout and exits 0', async () => {
    const result = await run(['--help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^Usage: fulcrum <command> -c FILE/);
    assert.match(result.stdout, /check/);
    assert.match(result.stdout, /start/);
  });

  it('usage errors exit 2 with the reason and the usage on stderr', async () => {
    const cases: [string[], RegExp][] = [
      [[], /no command given/],
      [['frobnicate', '-c', 'x.yaml'], /unknown command "frobnicate"/],
      [['check'], /check needs a config file: -c FILE/],
      [['start'], /start needs a config file: -c FILE/],
      [['check', '-c', 'a.yaml', 'extra'], /unexpected argument "extra"/],
      [['check', '--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [args, reason] of cases) {
      const result = await run(args);
      assert.equal(result.code, 2, args.join(' '));
      assert.equal(result.stdout, '');
      assert.match(result.stderr, reason);
      assert.match(result.stderr, /Usage: fulcrum/);
    }
  });

  const oldNode = olderNode();
  it('hands over from an older Node to the bundled Node 24, keeping output and exit codes', { skip: oldNode === undefined && 'no Node < 24 installed' }, async () => {
    const ok = await run(['check', '-c', valid], oldNode);
    assert.deepEqual(ok, { code: 0, stdout: `${valid}: OK (1 virtual service)\n`, stderr: '' });
    const bad = await run(['check', '-c', invalid], oldNode);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown key; did you mean "scheduler"\?/);
    assert.equal((await run([], oldNode)).code, 2);
  });
});
