// The lifecycle keys in the config (issue 3): each loads with its default when left out, takes
// the values the issue shows, and each bad value is a problem placed at its line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { realServerState } from '../../src/config/conflicts.ts';
import { loadConfigText } from '../../src/config/load.ts';
import type { ConfigProblem } from '../../src/config/problem.ts';
import type { HttpServiceConfig, PoolConfig } from '../../src/config/schema.ts';
import { withPool } from '../helpers/service.ts';

/** A minimal valid file with `extra` lines inserted into its one virtual service, from line 5. */
function withVsLines(...extra: string[]): string {
  return [
    'virtualServices:',
    '  - name: web',
    '    listen: 127.0.0.1:8080',
    '    protocol: http',
    ...extra,
    '    realServers:',
    '      - address: 127.0.0.1:9001',
  ].join('\n');
}

/** The virtual service with its (inline) pool's keys beside its own. */
function serviceOf(text: string): HttpServiceConfig & PoolConfig {
  const result = loadConfigText(text, 'lifecycle.yaml');
  assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.problems, null, 2));
  const vs = result.config.virtualServices[0];
  assert.ok(vs !== undefined && vs.protocol === 'http');
  return withPool(result.config, vs)!;
}

/** The one problem of `text`; it must sit at `line` on `path`. */
function problemAt(text: string, line: number, path: string): ConfigProblem {
  const result = loadConfigText(text, 'lifecycle.yaml');
  assert.equal(result.ok, false, `expected a problem in:\n${text}`);
  const problems = result.ok ? [] : result.problems;
  assert.equal(problems.length, 1, JSON.stringify(problems, null, 2));
  const problem = problems[0]!;
  assert.equal(problem.file, 'lifecycle.yaml');
  assert.equal(problem.line, line, JSON.stringify(problem));
  assert.equal(problem.path, path);
  assert.ok(problem.message.length > 0);
  return problem;
}

describe('lifecycle keys: defaults', () => {
  const vs = serviceOf(withVsLines());

  it('slowStart: 0 (off)', () => {
    assert.equal(vs.slowStart, 0);
  });
  it('sorryServer: none', () => {
    assert.equal(vs.sorryServer, undefined);
  });
  it('notAvailable: status 503, our own body, no redirect', () => {
    assert.deepEqual(vs.notAvailable, { status: 503 });
  });
  it('outlierDetection: off', () => {
    assert.equal(vs.outlierDetection, false);
  });
  it('a real server is enabled', () => {
    const rs = vs.realServers[0]!;
    assert.equal(rs.enabled, true);
    assert.equal(realServerState(rs), 'enabled');
  });
  it('outlierDetection: {} takes the default of each field', () => {
    assert.deepEqual(serviceOf(withVsLines('    outlierDetection: {}')).outlierDetection, {
      consecutiveFailures: 5,
      ejectFor: 30_000,
      maxEjectedPercent: 50,
    });
  });
  it('notAvailable: {} is status 503', () => {
    assert.deepEqual(serviceOf(withVsLines('    notAvailable: {}')).notAvailable, { status: 503 });
  });
});

describe('lifecycle keys: values', () => {
  it('the block from the issue loads to milliseconds and addresses', () => {
    const vs = serviceOf(
      withVsLines(
        '    outlierDetection: { consecutiveFailures: 5, ejectFor: 30s, maxEjectedPercent: 50 }',
        '    slowStart: 30s',
        '    sorryServer: 127.0.0.1:9099',
        '    notAvailable: { status: 503, body: "Service temporarily unavailable" }',
      ),
    );
    assert.deepEqual(vs.outlierDetection, { consecutiveFailures: 5, ejectFor: 30_000, maxEjectedPercent: 50 });
    assert.equal(vs.slowStart, 30_000);
    assert.deepEqual(vs.sorryServer, { host: '127.0.0.1', port: 9099 });
    assert.deepEqual(vs.notAvailable, { status: 503, body: 'Service temporarily unavailable' });
  });

  it('slowStart: 0s and 1m30s; outlierDetection: off and false', () => {
    assert.equal(serviceOf(withVsLines('    slowStart: 0s')).slowStart, 0);
    assert.equal(serviceOf(withVsLines('    slowStart: 1m30s')).slowStart, 90_000);
    assert.equal(serviceOf(withVsLines('    outlierDetection: off')).outlierDetection, false);
    assert.equal(serviceOf(withVsLines('    outlierDetection: false')).outlierDetection, false);
  });

  it('sorryServer: an IPv6 address and a host name', () => {
    assert.deepEqual(serviceOf(withVsLines('    sorryServer: "[::1]:9099"')).sorryServer, { host: '::1', port: 9099 });
    assert.deepEqual(serviceOf(withVsLines('    sorryServer: sorry.internal:80')).sorryServer, { host: 'sorry.internal', port: 80 });
  });

  it('notAvailable: a redirect to an https URL', () => {
    const vs = serviceOf(withVsLines('    notAvailable: { redirect: "https://status.example.com/" }'));
    assert.deepEqual(vs.notAvailable, { status: 503, redirect: 'https://status.example.com/' });
  });

  for (const state of ['enabled', 'disabled', 'drain'] as const) {
    it(`state: ${state}`, () => {
      const text = withVsLines().replace('127.0.0.1:9001', `127.0.0.1:9001\n        state: ${state}`);
      assert.equal(realServerState(serviceOf(text).realServers[0]!), state);
    });
  }
  it('enabled: false alone is state disabled', () => {
    const text = withVsLines().replace('127.0.0.1:9001', '127.0.0.1:9001\n        enabled: false');
    assert.equal(realServerState(serviceOf(text).realServers[0]!), 'disabled');
  });
});

describe('lifecycle keys: bad values are problems at their line', () => {
  const VS = 'virtualServices[0]';
  const cases: Array<{ name: string; lines: string[]; line: number; path: string; says?: RegExp }> = [
    { name: 'sorryServer without a port', lines: ['    slowStart: 1s', '    sorryServer: 127.0.0.1'], line: 6, path: `${VS}.sorryServer`, says: /port/ },
    { name: 'sorryServer with a port out of range', lines: ['    sorryServer: 127.0.0.1:70000'], line: 5, path: `${VS}.sorryServer` },
    { name: 'sorryServer on a wildcard address', lines: ['    sorryServer: "*:80"'], line: 5, path: `${VS}.sorryServer` },
    { name: 'sorryServer that is not text', lines: ['    sorryServer: 9099'], line: 5, path: `${VS}.sorryServer` },
    { name: 'redirect that is not a URL', lines: ['    notAvailable:', '      status: 503', '      redirect: maintenance page'], line: 7, path: `${VS}.notAvailable.redirect` },
    { name: 'redirect to an ftp URL', lines: ['    notAvailable: { redirect: "ftp://example.com/" }'], line: 5, path: `${VS}.notAvailable.redirect` },
    { name: 'notAvailable status 600', lines: ['    notAvailable:', '      status: 600'], line: 6, path: `${VS}.notAvailable.status`, says: /599/ },
    { name: 'notAvailable status 99', lines: ['    notAvailable: { status: 99 }'], line: 5, path: `${VS}.notAvailable.status`, says: /200/ },
    { name: 'notAvailable status 503.5', lines: ['    notAvailable: { status: 503.5 }'], line: 5, path: `${VS}.notAvailable.status` },
    { name: 'notAvailable with an unknown key', lines: ['    notAvailable: { status: 503, location: "https://x.example/" }'], line: 5, path: `${VS}.notAvailable.location` },
    {
      name: 'maxEjectedPercent 101',
      lines: ['    outlierDetection:', '      consecutiveFailures: 3', '      maxEjectedPercent: 101'],
      line: 7,
      path: `${VS}.outlierDetection.maxEjectedPercent`,
      says: /100/,
    },
    { name: 'consecutiveFailures 0', lines: ['    outlierDetection: { consecutiveFailures: 0 }'], line: 5, path: `${VS}.outlierDetection.consecutiveFailures` },
    { name: 'ejectFor that is not a duration', lines: ['    outlierDetection:', '      ejectFor: soon'], line: 6, path: `${VS}.outlierDetection.ejectFor` },
    { name: 'outlierDetection: on', lines: ['    outlierDetection: on'], line: 5, path: `${VS}.outlierDetection` },
    { name: 'slowStart that is not a duration', lines: ['    slowStart: fast'], line: 5, path: `${VS}.slowStart` },
    { name: 'slowStart as a bare number', lines: ['    slowStart: 30'], line: 5, path: `${VS}.slowStart` },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const problem = problemAt(withVsLines(...c.lines), c.line, c.path);
      if (c.says !== undefined) assert.match(`${problem.message} ${problem.allowed ?? ''}`, c.says);
    });
  }

  it('a bad state on the second real server is at its line', () => {
    const text = withVsLines().replace('127.0.0.1:9001', '127.0.0.1:9001\n      - address: 127.0.0.1:9002\n        state: maintenance');
    problemAt(text, 8, `${VS}.realServers[1].state`);
  });
});
