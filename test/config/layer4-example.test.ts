import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfigFile, loadConfigText } from '../../src/config/load.ts';
import { withPool } from '../helpers/service.ts';

const example = new URL('../../examples/layer4.yaml', import.meta.url).pathname;

describe("issue 4's sample config (examples/layer4.yaml)", () => {
  it('loads as written, with the values it states', async () => {
    const result = await loadConfigFile(example);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems, null, 2));
    const byName = new Map(result.config.virtualServices.map((vs) => [vs.name, withPool(result.config, vs)!]));
    const ntrip = byName.get('ntrip')!;
    assert.ok(ntrip.protocol === 'tcp');
    assert.equal(ntrip.scheduler, 'least-connections');
    assert.equal(ntrip.sendProxyProtocol, 'v2');
    assert.deepEqual([ntrip.timeouts.connect, ntrip.timeouts.idle], [3000, 3_600_000]);
    assert.equal(ntrip.limits.maxConnections, 5000);
    assert.equal(ntrip.healthCheck.type, 'tcp');
    assert.deepEqual([ntrip.healthCheck.interval, ntrip.healthCheck.timeout], [2000, 1000]);
    assert.deepEqual(ntrip.persistence && [ntrip.persistence.type, ntrip.persistence.timeout], ['source-ip', 1_800_000]);
    assert.deepEqual(ntrip.realServers.map((rs) => rs.maxConnections), [undefined, 2000]);
    const syslog = byName.get('syslog')!;
    assert.ok(syslog.protocol === 'udp');
    assert.equal(syslog.udp.sessionTimeout, 30_000);
    const ftp = byName.get('ftp')!;
    assert.ok(ftp.protocol === 'ftp');
    assert.deepEqual(ftp.ftp, { mode: 'alg', passivePorts: { first: 30000, last: 30199 }, activeMode: 'proxy' });
    assert.equal(ftp.healthCheck.type, 'ftp');
    const rdp = byName.get('rdp')!;
    assert.deepEqual(rdp.persistence && [rdp.persistence.type, rdp.persistence.timeout, rdp.persistence.fallback], ['rdp-cookie', 28_800_000, 'source-ip']);
    const http = byName.get('behind-another-lb')!;
    assert.ok(http.protocol === 'http' && http.acceptProxyProtocol);
  });

  it('refuses keys and types a protocol cannot use, naming what it can', () => {
    const vs = (lines: string[]): string =>
      ['virtualServices:', '  - name: x', '    listen: 127.0.0.1:2000', ...lines.map((l) => `    ${l}`), '    realServers: [ { address: 127.0.0.1:9001 } ]'].join('\n');
    const cases: Array<[string[], RegExp]> = [
      [['protocol: udp', 'persistence: { type: rdp-cookie }'], /persistence type rdp-cookie does not apply to a udp virtual service: it reads the first bytes of the stream, and a udp virtual service offers only the client address; it can use source-ip/],
      [['protocol: http', 'persistence: { type: rdp-cookie }'], /does not apply to an http virtual service: it reads the first bytes of the stream/],
      [['protocol: tcp', 'persistence: { type: active-cookie }'], /it can use source-ip or rdp-cookie/],
      [['protocol: udp', 'sendProxyProtocol: v2'], /unknown key/],
      [['protocol: ftp', 'ftp: { passivePorts: 500-600 }'], /outside 1024-65535/],
      [['protocol: ftp', 'ftp: { passivePorts: 30199-30000 }'], /ends before it starts/],
      [['protocol: tcp', 'sendProxyProtocol: v3'], /off, v1, v2|v1/],
    ];
    for (const [lines, message] of cases) {
      const result = loadConfigText(vs(lines), 'x.yaml');
      assert.ok(!result.ok, lines.join(' '));
      assert.match(JSON.stringify(result.problems), message, lines.join(' '));
    }
  });

  it('refuses an FTP passive range over another listen port, and port-following across workers without source-ip persistence', () => {
    const ftp = (extra: string[], workers = 1): string =>
      [
        `workers: ${workers}`,
        'virtualServices:',
        '  - { name: web, listen: 127.0.0.1:30050, protocol: http, realServers: [ { address: 127.0.0.1:9001 } ] }',
        '  - { name: dns, listen: 127.0.0.1:2121, protocol: udp, realServers: [ { address: 127.0.0.1:53 } ] }',
        '  - name: ftp',
        '    listen: 127.0.0.1:2121',
        '    protocol: ftp',
        ...extra.map((l) => `    ${l}`),
        '    realServers: [ { address: 127.0.0.2:21 } ]',
      ].join('\n');
    const clash = loadConfigText(ftp(['ftp: { passivePorts: 30000-30199 }']), 'x.yaml');
    assert.ok(!clash.ok);
    assert.match(JSON.stringify(clash.problems), /passive ports 30000-30199 include 30050, where virtual service .{1,3}web.{1,3} listens/);
    assert.ok(loadConfigText(ftp(['ftp: { passivePorts: 30100-30199 }']), 'x.yaml').ok, 'udp and tcp share port 2121; the range misses 30050');
    const following = loadConfigText(ftp(['ftp: { mode: port-following, passivePorts: 30100-30199 }'], 2), 'x.yaml');
    assert.ok(!following.ok);
    assert.match(JSON.stringify(following.problems), /port-following with workers: 2 needs persistence/);
    assert.ok(loadConfigText(ftp(['ftp: { mode: port-following, passivePorts: 30100-30199 }', 'persistence: { type: source-ip }'], 2), 'x.yaml').ok);
  });
});
