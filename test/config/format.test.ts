import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../src/errors.ts';
import { formatPath, formatProblems } from '../../src/config/format.ts';
import { loadConfigText } from '../../src/config/load.ts';

describe('formatPath', () => {
  it('writes keys with dots and indexes in brackets', () => {
    assert.equal(formatPath(['virtualServices', 0, 'realServers', 1, 'weight']), 'virtualServices[0].realServers[1].weight');
    assert.equal(formatPath([]), '');
    assert.equal(formatPath(['virtualServices', 0, 'my key']), 'virtualServices[0]["my key"]');
  });
});

describe('formatProblems', () => {
  it('prints one compiler-style line per problem', () => {
    const text = formatProblems([
      {
        code: ErrorCode.CONFIG_UNKNOWN_KEY,
        file: 'examples/bad.yaml',
        line: 7,
        column: 5,
        path: 'virtualServices[0].schedular',
        message: 'unknown key',
        suggestion: 'scheduler',
        allowed: 'name, listen, protocol',
      },
      {
        code: ErrorCode.CONFIG_INVALID,
        file: 'examples/bad.yaml',
        line: 12,
        column: 22,
        path: 'virtualServices[0].timeouts.connect',
        message: '"3 seconds" is not a duration',
        allowed: 'a number with a unit, e.g. 500ms, 3s, 1m, 1h',
      },
      {
        code: ErrorCode.CONFIG_INVALID,
        file: 'f.yaml',
        line: 3,
        column: 18,
        path: 'virtualServices[0].realServers[0].enabled',
        message: '"yes" is not true or false',
        suggestion: 'true',
      },
      { code: ErrorCode.CONFIG_READ, file: 'gone.yaml', line: 0, column: 0, path: '', message: 'cannot read the config file: no such file' },
    ]);
    assert.equal(
      text,
      [
        'examples/bad.yaml:7:5: virtualServices[0].schedular: unknown key; did you mean "scheduler"? allowed keys: name, listen, protocol',
        'examples/bad.yaml:12:22: virtualServices[0].timeouts.connect: "3 seconds" is not a duration; allowed: a number with a unit, e.g. 500ms, 3s, 1m, 1h',
        'f.yaml:3:18: virtualServices[0].realServers[0].enabled: "yes" is not true or false; did you mean true?',
        'gone.yaml: cannot read the config file: no such file',
      ].join('\n'),
    );
  });

  it('shows both sides of a conflict', () => {
    const text = [
      'virtualServices:',
      '  - { name: web, listen: "0.0.0.0:80", protocol: http, realServers: [{ address: "a:1" }] }',
      '  - { name: api, listen: "127.0.0.1:80", protocol: http, realServers: [{ address: "a:1" }] }',
    ].join('\n');
    const result = loadConfigText(text, 'c.yaml');
    assert.ok(!result.ok);
    assert.equal(
      formatProblems(result.problems),
      [
        'c.yaml:3:26: virtualServices[1].listen: 127.0.0.1:80 overlaps virtual service "web" on 0.0.0.0:80: 0.0.0.0 listens on every IPv4 address, so both claim port 80; use another port, or specific addresses on both',
        '  c.yaml:2:26: virtualServices[0].listen: the other one is here',
      ].join('\n'),
    );
  });

  it('formats a loaded file end to end', () => {
    const text = [
      'virtualServices:',
      '  - name: web',
      '    listen: 127.0.0.1:8080',
      '    protocol: http',
      '    schedular: round-robin',
      '    scheduler: round-robbin',
      '    realServers: [{ address: "127.0.0.1:9001" }]',
    ].join('\n');
    const result = loadConfigText(text, 'examples/bad.yaml');
    assert.ok(!result.ok);
    const lines = formatProblems(result.problems).split('\n');
    assert.equal(
      lines[0],
      'examples/bad.yaml:5:5: virtualServices[0].schedular: unknown key; did you mean "scheduler"? allowed keys: name, listen, protocol, acceptProxyProtocol, pool, scheduler, forwardedHeaders, timeouts, limits, retries, slowStart, sorryServer, notAvailable, outlierDetection, adaptive, persistence, drainTimeout, healthCheck, realServers, rules, access, rateLimit, trustedProxies, http2, redirectToHttps',
    );
    assert.equal(
      lines[1],
      'examples/bad.yaml:6:16: virtualServices[0].scheduler: "round-robbin" is not a scheduling method; did you mean "round-robin"? allowed: round-robin, weighted-round-robin, least-connections, weighted-least-connections, source-ip-hash, fixed-weight, random-two-choices, adaptive',
    );
  });
});
