// splitArguments: the global options anywhere on the line, the command's own options handed on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitArguments } from '../../src/cli/arguments.ts';

describe('splitArguments', () => {
  it('takes the global options before or after the command and keeps the command\'s, in order', () => {
    assert.deepEqual(splitArguments(['-c', 'f.yaml', 'token', 'create', 'ci', '--role', 'viewer', '--json', '--expires=30d']), {
      ok: true,
      command: 'token',
      args: ['create', 'ci', '--role', 'viewer', '--expires=30d'],
      global: { config: 'f.yaml', json: true },
    });
    assert.deepEqual(splitArguments(['status', '--admin', 'https://lb:9443', '--token=t0k', '--ca', 'ca.pem']), {
      ok: true,
      command: 'status',
      args: [],
      global: { admin: 'https://lb:9443', token: 't0k', ca: 'ca.pem' },
    });
  });

  it('hands on a command\'s short option with its value glued or apart', () => {
    assert.deepEqual(splitArguments(['backup', '-ob.json']), { ok: true, command: 'backup', args: ['-ob.json'], global: {} });
    assert.deepEqual(splitArguments(['backup', '-o', 'b.json', '-c', 'f.yaml']), { ok: true, command: 'backup', args: ['-o', 'b.json'], global: { config: 'f.yaml' } });
  });

  it('user add NAME --role admin -c CONFIG: everything but -c goes to user', () => {
    assert.deepEqual(splitArguments(['user', 'add', 'alice', '--role', 'admin', '-c', 'f.yaml']), { ok: true, command: 'user', args: ['add', 'alice', '--role', 'admin'], global: { config: 'f.yaml' } });
  });

  it('after --, nothing is a global option', () => {
    assert.deepEqual(splitArguments(['config', 'apply', '--', '--json']), { ok: true, command: 'config', args: ['apply', '--', '--json'], global: {} });
  });

  it('-h and -v, alone or grouped; no command', () => {
    assert.deepEqual(splitArguments(['-hv']), { ok: true, command: undefined, args: [], global: { help: true, version: true } });
    assert.deepEqual(splitArguments([]), { ok: true, command: undefined, args: [], global: {} });
  });

  it('refuses a global option without its value, a value on a flag, and a group mixing global and command options', () => {
    assert.deepEqual(splitArguments(['status', '-c']), { ok: false, message: "Option '-c, --config <value>' argument missing" });
    assert.deepEqual(splitArguments(['status', '--json=yes']), { ok: false, message: "Option '--json' does not take an argument" });
    assert.deepEqual(splitArguments(['backup', '-ho', 'x']), { ok: false, message: 'write "-ho" as separate options' });
  });
});
