// `fulcrum user ...` reaches src/cli/user-command.ts with its own options (--role) and main's -c
// and --json, wherever they stand; the password comes on standard input.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { fulcrum } from './stub-admin.ts';

let dir: string;
let config: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fulcrum-cli-user-'));
  config = join(dir, 'fulcrum.yaml');
  await writeFile(config, ['virtualServices:', '  - name: web', '    listen: 127.0.0.1:8080', '    protocol: http', '    realServers: [{ address: 127.0.0.1:9001 }]', ''].join('\n'));
});
after(async () => {
  await rm(dir, { recursive: true });
});

it('user add NAME --role admin -c CONFIG with the password on stdin, then -c CONFIG --json user list', async () => {
  const added = await fulcrum(['user', 'add', 'alice', '--role', 'admin', '-c', config], { home: dir }, 'correct horse battery staple\n');
  assert.equal(added.code, 0, added.stderr);
  const listed = await fulcrum(['-c', config, '--json', 'user', 'list'], { home: dir });
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual(
    (JSON.parse(listed.stdout) as { name: string; role: string }[]).map(({ name, role }) => ({ name, role })),
    [{ name: 'alice', role: 'admin' }],
  );
});

it('user with --admin or --token is a usage error: it works on the state database, not through the API', async () => {
  const run = await fulcrum(['user', 'list', '-c', config, '--admin', '127.0.0.1:9090'], { home: dir });
  assert.equal(run.code, 2);
  assert.match(run.stderr, /--admin applies to the commands that talk to the admin API, not to user/);
});
