import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfigText, type LoadResult } from '../../src/config/load.ts';
import type { ConfigProblem } from '../../src/config/problem.ts';
import type { Config, HealthCheckConfig } from '../../src/config/schema.ts';

type Protocol = 'http' | 'tcp' | 'udp' | 'ftp';

/** A file with one virtual service of `protocol`: `check` lines from line 5 (after the protocol's own keys), `servers` under realServers. */
function file(protocol: Protocol, check: string[], servers: string[] = ['      - address: 127.0.0.1:9001']): string {
  const own = protocol === 'ftp' ? ['    ftp: { passivePorts: 30000-30009 }'] : [];
  return ['virtualServices:', '  - name: svc', '    listen: 127.0.0.1:8080', `    protocol: ${protocol}`, ...own, ...check, '    realServers:', ...servers].join('\n');
}

/** The line of the first `check` line: 5, or 6 after ftp's own key. */
const firstLine = (protocol: Protocol): number => (protocol === 'ftp' ? 6 : 5);

function configOf(result: LoadResult): Config {
  assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.problems, null, 2));
  return result.config;
}

function checks(text: string): HealthCheckConfig[] {
  const vs = configOf(loadConfigText(text, 'x.yaml')).pools[0];
  assert.ok(vs !== undefined);
  return [vs.healthCheck, ...vs.realServers.map((rs) => rs.healthCheck)];
}

function only(text: string): ConfigProblem {
  const result = loadConfigText(text, 'x.yaml');
  assert.equal(result.ok, false, 'expected the config to be rejected');
  const problems = result.ok ? [] : result.problems;
  assert.equal(problems.length, 1, JSON.stringify(problems, null, 2));
  return problems[0] as ConfigProblem;
}

describe('healthCheck type by protocol', () => {
  it('a written healthCheck without type gets the protocol check: http, tcp, ftp, dns for udp', () => {
    const expected: Array<[Protocol, string]> = [['http', 'http'], ['tcp', 'tcp'], ['ftp', 'ftp'], ['udp', 'dns']];
    for (const [protocol, type] of expected) {
      const [service, server] = checks(file(protocol, ['    healthCheck: { interval: 3s }']));
      assert.deepEqual([service?.type, server?.type, server?.interval], [type, type, 3000], protocol);
    }
  });

  it('without healthCheck every protocol is type none; an override alone asks for the protocol check', () => {
    for (const protocol of ['http', 'tcp', 'udp', 'ftp'] as const) {
      assert.equal(checks(file(protocol, []))[1]?.type, 'none', protocol);
    }
    const servers = ['      - address: 127.0.0.1:9001', '        healthCheck: { port: 5353 }', '      - address: 127.0.0.1:9002'];
    const [service, first, second] = checks(file('udp', [], servers));
    assert.deepEqual([service?.type, first?.type, first?.port, second?.type], ['none', 'dns', 5353, 'none']);
    assert.deepEqual(first?.dns, { query: '.', queryType: 'NS' });
  });

  it('accepts every type the protocol allows', () => {
    const allowed: Array<[Protocol, string[]]> = [
      ['http', ['none', 'tcp', 'http', 'https']],
      ['tcp', ['none', 'tcp', 'http', 'https', 'ftp']],
      ['udp', ['none', 'dns', 'tcp']],
      ['ftp', ['none', 'ftp', 'tcp', 'http', 'https']],
    ];
    for (const [protocol, types] of allowed) {
      for (const type of types) assert.equal(checks(file(protocol, [`    healthCheck: { type: ${type} }`]))[1]?.type, type, `${protocol} ${type}`);
    }
  });

  it('refuses a type the protocol cannot answer, at healthCheck.type, saying why and what it can use', () => {
    const refused: Array<[Protocol, string, RegExp]> = [
      ['udp', 'http', /^type http does not apply to a udp virtual service: http checks need a TCP connection, and a udp virtual service's real servers take datagrams; it can use none, dns or tcp$/],
      ['udp', 'https', /^type https does not apply to a udp virtual service: .*; it can use none, dns or tcp$/],
      ['udp', 'ftp', /^type ftp does not apply to a udp virtual service: ftp checks need a TCP connection/],
      ['tcp', 'dns', /^type dns does not apply to a tcp virtual service: dns checks ask over UDP, and DNS over TCP checks are not implemented .*; it can use none, tcp, http, https or ftp$/],
      ['http', 'dns', /^type dns does not apply to an http virtual service: dns checks ask over UDP.*; it can use none, tcp, http or https$/],
      ['ftp', 'dns', /^type dns does not apply to an ftp virtual service: .*; it can use none, ftp, tcp, http or https$/],
      ['http', 'ftp', /^type ftp does not apply to an http virtual service: ftp checks expect an FTP server, and an http virtual service's real servers speak HTTP; it can use none, tcp, http or https$/],
    ];
    for (const [protocol, type, message] of refused) {
      const problem = only(file(protocol, ['    healthCheck:', `      type: ${type}`]));
      assert.deepEqual([problem.path, problem.line], ['virtualServices[0].healthCheck.type', firstLine(protocol) + 1], `${protocol} ${type}`);
      assert.match(problem.message, message, `${protocol} ${type}`);
    }
  });

  it("refuses it in a real server's override, at the override", () => {
    const servers = ['      - address: 127.0.0.1:9001', '      - address: 127.0.0.1:9002', '        healthCheck: { type: http, path: /health }'];
    const problem = only(file('udp', ['    healthCheck: { interval: 3s }'], servers));
    assert.deepEqual([problem.path, problem.line], ['virtualServices[0].realServers[1].healthCheck.type', 9]);
    assert.match(problem.message, /^type http does not apply to a udp virtual service/);
  });
});

describe('healthCheck query and queryType (dns)', () => {
  it('default to ". NS"; a query alone is asked as A; a trailing dot is dropped', () => {
    assert.deepEqual(checks(file('udp', ['    healthCheck: {}']))[1]?.dns, { query: '.', queryType: 'NS' });
    assert.deepEqual(checks(file('udp', ['    healthCheck: { query: www.example.com. }']))[1]?.dns, { query: 'www.example.com', queryType: 'A' });
    assert.deepEqual(checks(file('udp', ['    healthCheck: { query: _sip._udp.example.com, queryType: SRV }']))[1]?.dns, {
      query: '_sip._udp.example.com',
      queryType: 'SRV',
    });
    assert.deepEqual(checks(file('udp', ['    healthCheck: { type: dns, queryType: SOA }']))[1]?.dns, { query: '.', queryType: 'SOA' });
  });

  it("a real server's override changes either key and keeps the other", () => {
    const servers = [
      '      - address: 127.0.0.1:9001',
      '      - address: 127.0.0.1:9002',
      '        healthCheck: { query: ns2.example.com }',
      '      - address: 127.0.0.1:9003',
      '        healthCheck: { queryType: AAAA }',
    ];
    const [, first, second, third] = checks(file('udp', ['    healthCheck: { query: www.example.com, queryType: MX }'], servers));
    assert.deepEqual([first?.dns, second?.dns, third?.dns], [
      { query: 'www.example.com', queryType: 'MX' },
      { query: 'ns2.example.com', queryType: 'MX' },
      { query: 'www.example.com', queryType: 'AAAA' },
    ]);
  });

  it('other checks carry no dns question (they resolve as before)', () => {
    const servers = ['      - address: 127.0.0.1:9001', '        healthCheck: { type: tcp }'];
    const [service, server] = checks(file('udp', ['    healthCheck: { query: www.example.com }'], servers));
    assert.deepEqual([service?.dns, server?.type, server !== undefined && 'dns' in server], [{ query: 'www.example.com', queryType: 'A' }, 'tcp', false]);
    assert.equal('dns' in (checks(file('http', ['    healthCheck: {}']))[1] ?? {}), false);
  });

  it('are an error on a check of another type, naming the key and the type', () => {
    const tcp = only(file('tcp', ['    healthCheck:', '      query: www.example.com']));
    assert.deepEqual([tcp.path, tcp.line], ['virtualServices[0].healthCheck.query', 6]);
    assert.equal(tcp.message, 'query applies to dns checks only, and this check is type tcp; remove query');
    const udp = only(file('udp', ['    healthCheck:', '      type: tcp', '      queryType: MX']));
    assert.deepEqual([udp.path, udp.line], ['virtualServices[0].healthCheck.queryType', 7]);
    assert.equal(udp.message, 'queryType applies to dns checks only, and this check is type tcp; remove queryType, or set type dns');
    const servers = ['      - address: 127.0.0.1:9001', '        healthCheck: { queryType: A }'];
    const override = only(file('http', ['    healthCheck: { path: /health }'], servers));
    assert.deepEqual([override.path, override.line], ['virtualServices[0].realServers[0].healthCheck.queryType', 8]);
    assert.equal(override.message, 'queryType applies to dns checks only, and this check is type http; remove queryType');
  });

  it("the service's keys are in place when a real server's check is dns", () => {
    const servers = ['      - address: 127.0.0.1:9001', '        healthCheck: { type: dns }'];
    const [service, server] = checks(file('udp', ['    healthCheck: { type: tcp, query: www.example.com }'], servers));
    assert.deepEqual([service?.type, server?.dns], ['tcp', { query: 'www.example.com', queryType: 'A' }]);
  });

  it('refuses a name that is not a domain name and a type outside the list', () => {
    const name = only(file('udp', ['    healthCheck:', '      query: "www example com"']));
    assert.deepEqual([name.path, name.line], ['virtualServices[0].healthCheck.query', 6]);
    assert.equal(name.message, '"www example com" is not a domain name; write a name such as www.example.com, or . for the root');
    const long = only(file('udp', ['    healthCheck:', `      query: ${'a'.repeat(64)}.example.com`]));
    assert.match(long.message, /is not a domain name/);
    const type = only(file('udp', ['    healthCheck:', '      queryType: aaaa']));
    assert.deepEqual([type.path, type.suggestion], ['virtualServices[0].healthCheck.queryType', 'AAAA']);
    const axfr = only(file('udp', ['    healthCheck:', '      queryType: AXFR']));
    assert.match(axfr.message, /AXFR/);
  });
});
