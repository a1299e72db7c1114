// Setting a real server's state in the text of a config file: a one-line change, comments kept.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { editRealServerState } from '../../src/admin/config-edit.ts';
import { loadConfigText } from '../../src/config/load.ts';

const BLOCK = `# production
virtualServices:
  - name: web     # the site
    listen: 127.0.0.1:8080
    protocol: http
    realServers:
      - address: 10.0.0.11:80   # rack 1
        weight: 100

      # rack 2 is being replaced
      - address: 10.0.0.12:80
        enabled: false   # until the new disks arrive
        weight: 50
      - address: 10.0.0.13:80
        state: "disabled"  # quoted on purpose
      - { address: 10.0.0.14:80, weight: 10 }   # flow style
      - address: "[2001:DB8::1]:80"
  - name: api
    listen: 127.0.0.1:8081
    protocol: http
    realServers: [{ address: 10.0.0.21:80 }, { address: 10.0.0.22:80 }]
`;

function edited(text: string, vs: string, address: string, state: 'enabled' | 'disabled' | 'drain'): string {
  const result = editRealServerState(text, { kind: 'virtual-service', name: vs }, address, state);
  assert.ok(result.ok, JSON.stringify(result));
  assert.ok(loadConfigText(result.text, 'test.yaml').ok, 'the edited file is a valid config');
  return result.text;
}

/** The lines that differ between a and b (a one-line change shows one or two). */
function diff(a: string, b: string): { removed: string[]; added: string[] } {
  const before = a.split('\n');
  const after = b.split('\n');
  return { removed: before.filter((l) => !after.includes(l)), added: after.filter((l) => !before.includes(l)) };
}

describe('config edit: set a real server state in the file text', () => {
  it('adds `state` on its own line under the address, aligned, keeping the comment on the address line', () => {
    const text = edited(BLOCK, 'web', '10.0.0.11:80', 'drain');
    assert.equal(text, BLOCK.replace('      - address: 10.0.0.11:80   # rack 1\n', '      - address: 10.0.0.11:80   # rack 1\n        state: drain\n'));
  });

  it('turns `enabled: false` into `state: ...` on the same line, so the two keys can never contradict', () => {
    const text = edited(BLOCK, 'web', '10.0.0.12:80', 'drain');
    assert.deepEqual(diff(BLOCK, text), { removed: ['        enabled: false   # until the new disks arrive'], added: ['        state: drain   # until the new disks arrive'] });
    assert.equal(parse(text).virtualServices[0].realServers[1].enabled, undefined);
  });

  it('replaces an existing state value and keeps its quoting', () => {
    const text = edited(BLOCK, 'web', '10.0.0.13:80', 'enabled');
    assert.deepEqual(diff(BLOCK, text), { removed: ['        state: "disabled"  # quoted on purpose'], added: ['        state: "enabled"  # quoted on purpose'] });
  });

  it('adds to a flow mapping in place', () => {
    const text = edited(BLOCK, 'web', '10.0.0.14:80', 'disabled');
    assert.deepEqual(diff(BLOCK, text), {
      removed: ['      - { address: 10.0.0.14:80, weight: 10 }   # flow style'],
      added: ['      - { address: 10.0.0.14:80, state: disabled, weight: 10 }   # flow style'],
    });
  });

  it('finds a server by its canonical address (IPv6 written in upper case, asked in lower case)', () => {
    const text = edited(BLOCK, 'web', '[2001:db8::1]:80', 'drain');
    assert.deepEqual(diff(BLOCK, text).added, ['        state: drain']);
  });

  it('edits only the virtual service named (the same address may be in another one)', () => {
    const twice = BLOCK.replace('{ address: 10.0.0.21:80 }', '{ address: 10.0.0.11:80 }');
    const text = edited(twice, 'api', '10.0.0.11:80', 'drain');
    assert.deepEqual(diff(twice, text).added, ['    realServers: [{ address: 10.0.0.11:80, state: drain }, { address: 10.0.0.22:80 }]']);
  });

  it('a JSON config stays JSON', () => {
    const json = `${JSON.stringify({ virtualServices: [{ name: 'web', listen: '127.0.0.1:8080', protocol: 'http', realServers: [{ address: '10.0.0.11:80' }, { address: '10.0.0.12:80', enabled: false }] }] }, null, 2)}\n`;
    const once = edited(json, 'web', '10.0.0.11:80', 'drain');
    const twice = edited(once, 'web', '10.0.0.12:80', 'enabled');
    const data = JSON.parse(twice) as { virtualServices: Array<{ realServers: unknown[] }> };
    assert.deepEqual(data.virtualServices[0]!.realServers, [{ address: '10.0.0.11:80', state: 'drain' }, { address: '10.0.0.12:80', state: 'enabled' }]);
  });

  it('keeps CRLF line endings', () => {
    const crlf = BLOCK.replaceAll('\n', '\r\n');
    const text = edited(crlf, 'web', '10.0.0.11:80', 'drain');
    assert.ok(text.includes('# rack 1\r\n        state: drain\r\n'));
    assert.ok(!/[^\r]\n/.test(text), 'no bare LF');
  });

  it('removes an `enabled` key beside `state`', () => {
    const both = BLOCK.replace('        state: "disabled"  # quoted on purpose\n', '        enabled: true\n        state: "disabled"  # quoted on purpose\n');
    const text = edited(both, 'web', '10.0.0.13:80', 'drain');
    assert.deepEqual(diff(both, text), { removed: ['        enabled: true', '        state: "disabled"  # quoted on purpose'], added: ['        state: "drain"  # quoted on purpose'] });
  });

  it('the same state again changes nothing', () => {
    const result = editRealServerState(BLOCK, { kind: 'virtual-service', name: 'web' }, '10.0.0.13:80', 'disabled');
    assert.deepEqual(result, { ok: true, text: BLOCK, changed: false, previous: 'disabled', pool: 'web' });
    const implied = editRealServerState(BLOCK, { kind: 'virtual-service', name: 'web' }, '10.0.0.11:80', 'enabled');
    assert.ok(implied.ok && implied.changed, 'enabled by default, but the file now says so');
  });

  it('an unknown virtual service or real server is not found, with a did-you-mean', () => {
    const vs = editRealServerState(BLOCK, { kind: 'virtual-service', name: 'wbe' }, '10.0.0.11:80', 'drain');
    assert.ok(!vs.ok && vs.reason === 'not-found');
    assert.equal(vs.suggestion, 'web');
    assert.match(vs.message, /no virtual service named "wbe"; did you mean "web"\? \(virtual services: web, api\)/);
    const rs = editRealServerState(BLOCK, { kind: 'virtual-service', name: 'web' }, '10.0.0.111:80', 'drain');
    assert.ok(!rs.ok && rs.reason === 'not-found');
    assert.equal(rs.suggestion, '10.0.0.11:80');
    const far = editRealServerState(BLOCK, { kind: 'virtual-service', name: 'web' }, 'db.example:5432', 'drain');
    assert.ok(!far.ok && far.reason === 'not-found' && far.suggestion === undefined);
  });

  it('a file that does not parse is reported as invalid, not edited', () => {
    assert.deepEqual(editRealServerState('virtualServices: [', { kind: 'virtual-service', name: 'web' }, '10.0.0.11:80', 'drain'), { ok: false, reason: 'invalid' });
    assert.deepEqual(editRealServerState('workers: 1\n', { kind: 'virtual-service', name: 'web' }, '10.0.0.11:80', 'drain'), { ok: false, reason: 'invalid' });
  });

  it('a server written through a YAML alias is refused (editing it would change every use)', () => {
    const aliased = `defaults: &node { address: 10.0.0.11:80 }\nvirtualServices:\n  - name: web\n    listen: 127.0.0.1:8080\n    protocol: http\n    realServers: [*node]\n`;
    const result = editRealServerState(aliased, { kind: 'virtual-service', name: 'web' }, '10.0.0.11:80', 'drain');
    assert.ok(!result.ok && result.reason === 'unsupported', JSON.stringify(result));
  });

  it('falls back to the yaml AST when a splice cannot say it exactly (enabled and state on one flow line)', () => {
    const flow = BLOCK.replace('{ address: 10.0.0.14:80, weight: 10 }', '{ address: 10.0.0.14:80, enabled: true, state: disabled }');
    const text = edited(flow, 'web', '10.0.0.14:80', 'drain');
    const rs = parse(text).virtualServices[0].realServers[3];
    assert.deepEqual(rs, { address: '10.0.0.14:80', state: 'drain' });
    assert.match(text, /# the site/);
    assert.match(text, /# until the new disks arrive/);
  });
});
