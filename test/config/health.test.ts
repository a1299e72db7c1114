import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfigText, type LoadResult } from '../../src/config/load.ts';
import type { ConfigProblem } from '../../src/config/problem.ts';
import type { Config, HealthCheckConfig } from '../../src/config/schema.ts';
import { ErrorCode } from '../../src/errors.ts';
import { withPool } from '../helpers/service.ts';

function configOf(result: LoadResult): Config {
  assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.problems, null, 2));
  return result.config;
}

function problemsOf(result: LoadResult): ConfigProblem[] {
  assert.equal(result.ok, false, 'expected the config to be rejected');
  return result.ok ? [] : result.problems;
}

/** A file with `check` lines under the virtual service (from line 5) and `servers` lines under realServers. */
function file(check: string[], servers: string[] = ['      - address: 127.0.0.1:9001']): string {
  return ['virtualServices:', '  - name: ntrip-web', '    listen: 127.0.0.1:8080', '    protocol: http', ...check, '    realServers:', ...servers].join('\n');
}

const DEFAULT_STATUS: Array<[number, number]> = [[200, 299], [301, 301], [302, 302], [401, 401]];

/** What a `healthCheck: {}` resolves to. */
const DEFAULTS: HealthCheckConfig = {
  type: 'http',
  method: 'GET',
  path: '/',
  httpVersion: '1.1',
  host: null,
  headers: {},
  body: '',
  expectStatus: DEFAULT_STATUS,
  expectBody: null,
  port: null,
  interval: 5000,
  timeout: 2000,
  fall: 3,
  rise: 2,
  startAs: 'up',
  tls: { verify: false },
};

/** The issue's example, health check part, as written there. */
const ISSUE_SAMPLE = [
  'virtualServices:',
  '  - name: ntrip-web',
  '    listen: 127.0.0.1:8080',
  '    protocol: http',
  '    healthCheck:',
  '      type: http                 # none | tcp | http | https',
  '      method: HEAD               # HEAD | GET | POST | OPTIONS',
  '      path: /',
  '      httpVersion: "1.1"         # "1.0" | "1.1"; 1.1 sends Host',
  "      host: ntrip.surveyor.lab   # default: the real server's address",
  '      headers: { User-Agent: fulcrum-health }',
  '      body: ""                   # POST data',
  '      expectStatus: ["200-299", 301, 302, 401]   # the default set',
  '      expectBody: "OK|healthy"   # regex, first 4 KiB of a 2xx body',
  "      port: 8081                 # check port; default the real server's port",
  '      interval: 2s',
  '      timeout: 1s',
  '      fall: 3                    # consecutive failures before down',
  '      rise: 2                    # consecutive successes before up',
  '      startAs: up',
  '      tls: { verify: false }',
  '    realServers:',
  '      - address: 127.0.0.1:9001',
  '      - address: 127.0.0.1:9002',
  '        healthCheck: { host: www.surveyor.lab }',
].join('\n');

describe('healthCheck config', () => {
  it("loads the issue's example and resolves each real server's check", () => {
    const config = configOf(loadConfigText(ISSUE_SAMPLE, 'fulcrum.yaml'));
    const vs = withPool(config, config.virtualServices[0]);
    const resolved: HealthCheckConfig = {
      type: 'http',
      method: 'HEAD',
      path: '/',
      httpVersion: '1.1',
      host: 'ntrip.surveyor.lab',
      headers: { 'User-Agent': 'fulcrum-health' },
      body: '',
      expectStatus: DEFAULT_STATUS,
      expectBody: 'OK|healthy',
      port: 8081,
      interval: 2000,
      timeout: 1000,
      fall: 3,
      rise: 2,
      startAs: 'up',
      tls: { verify: false },
    };
    assert.deepEqual(vs?.healthCheck, resolved);
    assert.deepEqual(vs?.realServers[0]?.healthCheck, resolved);
    assert.deepEqual(vs?.realServers[1]?.healthCheck, { ...resolved, host: 'www.surveyor.lab' });
  });

  it('without healthCheck: type none with every default, on the service and each server', () => {
    const config = configOf(loadConfigText(file([]), 'x.yaml'));
    const vs = withPool(config, config.virtualServices[0]);
    assert.deepEqual(vs?.healthCheck, { ...DEFAULTS, type: 'none' });
    assert.deepEqual(vs?.realServers[0]?.healthCheck, { ...DEFAULTS, type: 'none' });
  });

  it('healthCheck: {} is an http check with every default', () => {
    const config = configOf(loadConfigText(file(['    healthCheck: {}']), 'x.yaml'));
    const vs = withPool(config, config.virtualServices[0]);
    assert.deepEqual(vs?.realServers[0]?.healthCheck, DEFAULTS);
  });

  it("a server's override replaces keys, adds headers, and keeps the rest", () => {
    const vs = configOf(
      loadConfigText(
        file(
          ['    healthCheck: { path: /health, headers: { User-Agent: fulcrum, X-A: "1" }, expectBody: ok, tls: { verify: true }, type: https }'],
          [
            '      - address: 127.0.0.1:9001',
            '      - address: 127.0.0.1:9002',
            '        healthCheck: { port: 9102, headers: { user-agent: special, X-B: 2 }, expectBody: "", interval: 10s, fall: 5 }',
          ],
        ),
        'x.yaml',
      ),
    ).pools[0];
    const base = { ...DEFAULTS, type: 'https' as const, path: '/health', headers: { 'User-Agent': 'fulcrum', 'X-A': '1' }, expectBody: 'ok', tls: { verify: true } };
    assert.deepEqual(vs?.realServers[0]?.healthCheck, base);
    assert.deepEqual(vs?.realServers[1]?.healthCheck, {
      ...base,
      port: 9102,
      headers: { 'X-A': '1', 'user-agent': 'special', 'X-B': '2' },
      expectBody: null,
      interval: 10_000,
      fall: 5,
    });
  });

  it('an override on a service without healthCheck asks for a check (type defaults to http); type none on the service stays none', () => {
    const servers = ['      - address: 127.0.0.1:9001', '        healthCheck: { path: /ping }', '      - address: 127.0.0.1:9002'];
    const implicitConfig = configOf(loadConfigText(file([], servers), 'x.yaml'));
    const implicit = withPool(implicitConfig, implicitConfig.virtualServices[0]);
    assert.deepEqual(implicit?.realServers[0]?.healthCheck, { ...DEFAULTS, path: '/ping' });
    assert.equal(implicit?.realServers[1]?.healthCheck.type, 'none');
    const offConfig = configOf(loadConfigText(file(['    healthCheck: { type: none }'], servers), 'x.yaml'));
    const off = withPool(offConfig, offConfig.virtualServices[0]);
    assert.equal(off?.realServers[0]?.healthCheck.type, 'none');
  });

  it('reads expectStatus codes and ranges, httpVersion unquoted, and YAML numbers in headers', () => {
    const check = configOf(
      loadConfigText(file(['    healthCheck: { expectStatus: ["404", 500, "200-204", " 301 - 302 "], httpVersion: 1.0, headers: { X-N: 5, X-B: true } }']), 'x.yaml'),
    ).pools[0]?.realServers[0]?.healthCheck;
    assert.deepEqual(check?.expectStatus, [[404, 404], [500, 500], [200, 204], [301, 302]]);
    assert.equal(check?.httpVersion, '1.0');
    assert.deepEqual(check?.headers, { 'X-N': '5', 'X-B': 'true' });
    const v11 = configOf(loadConfigText(file(['    healthCheck: { httpVersion: 1.1 }']), 'x.yaml')).pools[0]?.healthCheck;
    assert.equal(v11?.httpVersion, '1.1');
  });
});

describe('healthCheck config problems, each at its line', () => {
  function only(text: string): ConfigProblem {
    const problems = problemsOf(loadConfigText(text, 'x.yaml'));
    assert.equal(problems.length, 1, JSON.stringify(problems, null, 2));
    return problems[0] as ConfigProblem;
  }

  it('a regular expression that does not compile', () => {
    const problem = only(file(['    healthCheck:', '      method: GET', '      expectBody: "OK(|healthy"']));
    assert.equal(problem.code, ErrorCode.CONFIG_INVALID);
    assert.deepEqual([problem.line, problem.path], [7, 'virtualServices[0].healthCheck.expectBody']);
    assert.match(problem.message, /^"OK\(\|healthy" is not a valid regular expression: .*Unterminated group/);
  });

  it('timeout not below interval, on the key that was written', () => {
    const timeout = only(file(['    healthCheck:', '      timeout: 5s']));
    assert.deepEqual([timeout.line, timeout.path], [6, 'virtualServices[0].healthCheck.timeout']);
    assert.equal(timeout.message, 'timeout 5s must be shorter than interval 5s, or one check would still run when the next starts; lower timeout or raise interval');
    const interval = only(file(['    healthCheck:', '      interval: 1s', '      timeout: 2s']));
    assert.deepEqual([interval.line, interval.path], [6, 'virtualServices[0].healthCheck.interval']);
    assert.match(interval.message, /^timeout 2s must be shorter than interval 1s/);
  });

  it('an unwritten timeout is 2s, or half a shorter interval (the issue\'s `interval: 2s` works as written)', () => {
    const result = loadConfigText(file(['    healthCheck: { type: tcp, interval: 2s }']), 'x.yaml');
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.config.pools[0]!.healthCheck.timeout, 1000);
    const long = loadConfigText(file(['    healthCheck: { type: tcp, interval: 10s }']), 'x.yaml');
    assert.ok(long.ok);
    assert.equal(long.config.pools[0]!.healthCheck.timeout, 2000);
  });

  it("timeout not below interval once a server's override is merged, at the override", () => {
    const problem = only(
      file(['    healthCheck: { interval: 2s, timeout: 1s }'], ['      - address: 127.0.0.1:9001', '      - address: 127.0.0.1:9002', '        healthCheck: { timeout: 3s }']),
    );
    assert.deepEqual([problem.line, problem.path], [9, 'virtualServices[0].realServers[1].healthCheck.timeout']);
    assert.match(problem.message, /^timeout 3s must be shorter than interval 2s/);
  });

  it('misspelt keys and values get a did-you-mean', () => {
    const cases: Array<[string, number, string, string]> = [
      ['intervall: 2s', 8, 'virtualServices[0].healthCheck.intervall', 'interval'],
      ['method: get', 6, 'virtualServices[0].healthCheck.method', 'GET'],
      ['type: htpps', 6, 'virtualServices[0].healthCheck.type', 'https'],
      ['startAs: dwn', 6, 'virtualServices[0].healthCheck.startAs', 'down'],
      ['expectStatus: ["2xx"]', 6, 'virtualServices[0].healthCheck.expectStatus[0]', '200-299'],
      ['interval: 3 seconds', 6, 'virtualServices[0].healthCheck.interval', '3s'],
      ['tls: { verfy: true }', 6, 'virtualServices[0].healthCheck.tls.verfy', 'verify'],
    ];
    for (const [line, column, path, suggestion] of cases) {
      const problem = only(file(['    healthCheck:', `      ${line}`]));
      assert.deepEqual([problem.line, problem.column > 0, problem.path, problem.suggestion], [6, true, path, suggestion], line);
      void column;
    }
  });

  it('values out of range or of the wrong kind say what is allowed', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['expectStatus: [700]', 'virtualServices[0].healthCheck.expectStatus[0]', /^700 is too large; the maximum is 599$/],
      ['expectStatus: ["300-200"]', 'virtualServices[0].healthCheck.expectStatus[0]', /runs backwards/],
      ['expectStatus: []', 'virtualServices[0].healthCheck.expectStatus', /needs at least 1 entry/],
      ['httpVersion: "2"', 'virtualServices[0].healthCheck.httpVersion', /^"2" is not an HTTP version$/],
      ['path: health', 'virtualServices[0].healthCheck.path', /^"health" is not a request path$/],
      ['host: "bad host"', 'virtualServices[0].healthCheck.host', /^"bad host" is not a host name$/],
      ['port: 70000', 'virtualServices[0].healthCheck.port', /too large; the maximum is 65535/],
      ['fall: 0', 'virtualServices[0].healthCheck.fall', /too small; the minimum is 1/],
      ['headers: { Host: x }', 'virtualServices[0].healthCheck.headers.Host', /cannot be set here: the Host header comes from the host key/],
      ['headers: { Content-Length: 5 }', 'virtualServices[0].healthCheck.headers.Content-Length', /cannot be set here/],
      ['headers: { "Bad Name": x }', 'virtualServices[0].healthCheck.headers["Bad Name"]', /is not a valid header name/],
      ['headers: { X-A: "a\\r\\nX-Injected: 1" }', 'virtualServices[0].healthCheck.headers.X-A', /line break/],
    ];
    for (const [line, path, message] of cases) {
      const problem = only(file(['    healthCheck:', `      ${line}`]));
      assert.deepEqual([problem.line, problem.path], [6, path], line);
      assert.match(problem.message, message, line);
    }
  });

  it("errors in a server's override point into the override", () => {
    const problem = only(file([], ['      - address: 127.0.0.1:9001', '        healthCheck: { hots: www.surveyor.lab }']));
    assert.deepEqual([problem.line, problem.path, problem.suggestion], [7, 'virtualServices[0].realServers[0].healthCheck.hots', 'host']);
  });
});
