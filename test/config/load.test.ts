import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../src/errors.ts';
import { loadConfigFile, loadConfigText, type LoadResult } from '../../src/config/load.ts';
import type { ConfigProblem } from '../../src/config/problem.ts';
import type { Config, PoolConfig, VirtualServiceConfig } from '../../src/config/schema.ts';
import { withPool } from '../helpers/service.ts';

const examples = new URL('../../examples/', import.meta.url);

/** The defaults every (http) virtual service's front end gets for the keys it leaves out. */
const VS_DEFAULTS = {
  acceptProxyProtocol: false,
  forwardedHeaders: { xForwardedFor: 'append', xForwardedProto: true, xForwardedHost: true, forwarded: false },
  timeouts: { clientHeader: 10_000, clientIdle: 75_000, clientBody: 30_000, connect: 3_000, response: 60_000, upstreamIdle: 4_000 },
  limits: { maxHeaderBytes: 16_384, maxHeaders: 100, maxUriBytes: 8_192, maxConnections: 10_000, maxIdlePerServer: 64 },
  retries: 1,
  notAvailable: { status: 503 },
  rules: [],
  trustedProxies: [],
  http2: {
    cleartext: false,
    maxConcurrentStreams: 100,
    initialWindowSize: 65_535,
    floods: {
      resets: { burst: 200, perSecond: 33 },
      settings: { burst: 20, perSecond: 2 },
      pings: { burst: 50, perSecond: 10 },
      priority: { burst: 500, perSecond: 100 },
      windowUpdates: { burst: 1000, perSecond: 100 },
      emptyFrames: { burst: 100, perSecond: 10 },
      continuationFrames: 16,
    },
  },
} satisfies Partial<VirtualServiceConfig>;

/** The defaults every pool gets for the keys it leaves out (an inline pool: from its virtual service). */
const POOL_DEFAULTS = {
  scheduler: 'round-robin',
  slowStart: 0,
  sorryServer: undefined,
  outlierDetection: false,
  adaptive: undefined,
  persistence: false,
  drainTimeout: 0,
  queue: { size: 1000, timeout: 5000 },
  keepAlive: { idle: 4_000, maxIdlePerServer: 64 },
} satisfies Partial<PoolConfig>;

/** What a real server or virtual service says about health checks when the file says nothing: none. */
const NO_HEALTH_CHECK = {
  type: 'none',
  method: 'GET',
  path: '/',
  httpVersion: '1.1',
  host: null,
  headers: {},
  body: '',
  expectStatus: [[200, 299], [301, 301], [302, 302], [401, 401]],
  expectBody: null,
  port: null,
  interval: 5_000,
  timeout: 2_000,
  fall: 3,
  rise: 2,
  startAs: 'up',
  tls: { verify: false },
} satisfies PoolConfig['healthCheck'];

function problemsOf(result: LoadResult): ConfigProblem[] {
  assert.equal(result.ok, false, 'expected the config to be rejected');
  return result.ok ? [] : result.problems;
}

function configOf(result: LoadResult): Config {
  assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.problems, null, 2));
  return result.config;
}

/** A minimal valid file with `extra` lines inserted into its one virtual service (at line 5). */
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

describe('loading valid files', () => {
  it('loads examples/sample.yaml to exactly the runtime shape', async () => {
    const config = configOf(await loadConfigFile(new URL('sample.yaml', examples).pathname));
    assert.deepEqual(config, {
      workers: 1,
      accessLog: { path: 'stdout', format: 'json' },
      geoipDatabase: null,
      pools: [
        {
          name: 'web',
          inline: true,
          at: ['virtualServices', 0],
          ...POOL_DEFAULTS,
          scheduler: 'weighted-round-robin',
          healthCheck: NO_HEALTH_CHECK,
          realServers: [
            { address: { host: '127.0.0.1', port: 9001 }, weight: 100, enabled: true, healthCheck: NO_HEALTH_CHECK, tls: null },
            { address: { host: '127.0.0.1', port: 9002 }, weight: 300, enabled: true, healthCheck: NO_HEALTH_CHECK, tls: null },
            { address: { host: '127.0.0.1', port: 9003 }, weight: 100, enabled: false, healthCheck: NO_HEALTH_CHECK, tls: null },
          ],
        },
      ],
      virtualServices: [
        {
          name: 'web',
          listen: { host: '127.0.0.1', port: 8080 },
          protocol: 'http',
          ...VS_DEFAULTS,
          pool: 'web',
        },
      ],
    });
  });

  it('fills every default for examples/minimal.yaml', async () => {
    const config = configOf(await loadConfigFile(new URL('minimal.yaml', examples).pathname));
    assert.deepEqual(config, {
      workers: 1,
      accessLog: { path: 'stdout', format: 'json' },
      geoipDatabase: null,
      pools: [
        {
          name: 'web',
          inline: true,
          at: ['virtualServices', 0],
          ...POOL_DEFAULTS,
          healthCheck: NO_HEALTH_CHECK,
          realServers: [{ address: { host: '127.0.0.1', port: 9001 }, weight: 100, enabled: true, healthCheck: NO_HEALTH_CHECK, tls: null }],
        },
      ],
      virtualServices: [{ name: 'web', listen: { host: '127.0.0.1', port: 8080 }, protocol: 'http', ...VS_DEFAULTS, pool: 'web' }],
    });
  });

  it("loads issue 3's example (examples/health-and-persistence.yaml) as written", async () => {
    const config = configOf(await loadConfigFile(new URL('health-and-persistence.yaml', examples).pathname));
    const vs = withPool(config, config.virtualServices[0])!;
    assert.ok(vs.protocol === 'http');
    assert.equal(vs.scheduler, 'adaptive');
    assert.equal(vs.slowStart, 30_000);
    assert.deepEqual(vs.sorryServer, { host: '127.0.0.1', port: 9099 });
    assert.deepEqual(vs.outlierDetection, { consecutiveFailures: 5, ejectFor: 30_000, maxEjectedPercent: 50 });
    assert.equal(vs.persistence === false ? null : vs.persistence.type, 'active-cookie');
    const [first, second, third] = vs.realServers;
    assert.equal(first?.healthCheck.host, 'ntrip.surveyor.lab');
    assert.equal(first?.healthCheck.method, 'HEAD');
    assert.equal(first?.healthCheck.port, 8081);
    assert.equal(second?.healthCheck.host, 'www.surveyor.lab', 'the per-server override wins');
    assert.equal(second?.healthCheck.interval, 2_000, 'and the rest comes from the virtual service');
    assert.equal(third?.state, 'drain');
    assert.deepEqual(config.admin, { listen: { host: '127.0.0.1', port: 9090 }, allowedHosts: [], metrics: { public: false } });
  });

  it('defaults each nested key on its own', () => {
    const config = configOf(loadConfigText(withVsLines('    timeouts: { connect: 500ms }', '    forwardedHeaders: { forwarded: true }'), 'x.yaml'));
    const vs = config.virtualServices[0];
    assert.ok(vs?.protocol === 'http');
    assert.deepEqual(vs?.timeouts, { ...VS_DEFAULTS.timeouts, connect: 500 });
    assert.deepEqual(vs?.forwardedHeaders, { ...VS_DEFAULTS.forwardedHeaders, forwarded: true });
  });

  it('reads accessLog off, false and a partial mapping', () => {
    for (const [line, expected] of [
      ['accessLog: off', false],
      ['accessLog: false', false],
      ['accessLog: { path: /var/log/fulcrum.log }', { path: '/var/log/fulcrum.log', format: 'json' }],
    ] as const) {
      assert.deepEqual(configOf(loadConfigText(`${line}\n${withVsLines()}`, 'x.yaml')).accessLog, expected, line);
    }
  });

  it('reads workers: auto, wildcard listeners and IPv6', () => {
    const text = ['workers: auto', 'virtualServices:', '  - { name: a, listen: "*:80", protocol: http, realServers: [{ address: "[2001:db8::1]:8080" }] }'].join('\n');
    const config = configOf(loadConfigText(text, 'x.yaml'));
    assert.equal(config.workers, 'auto');
    assert.deepEqual(config.virtualServices[0]?.listen, { host: '0.0.0.0', port: 80 });
    assert.deepEqual(config.pools[0]?.realServers[0]?.address, { host: '2001:db8::1', port: 8080 });
  });

  it('reads JSON, which is YAML too', async () => {
    const yamlConfig = configOf(await loadConfigFile(new URL('minimal.yaml', examples).pathname));
    const json = JSON.stringify({
      virtualServices: [{ name: 'web', listen: '127.0.0.1:8080', protocol: 'http', realServers: [{ address: '127.0.0.1:9001' }] }],
    });
    assert.deepEqual(configOf(loadConfigText(json, 'x.json')), yamlConfig);
  });
});

describe('schema problems point at the line, the path and a fix', () => {
  it('an unknown key: its own position, a suggestion and the allowed keys', () => {
    const [problem, ...rest] = problemsOf(loadConfigText(withVsLines('    schedular: round-robin'), 'bad.yaml'));
    assert.deepEqual(rest, []);
    assert.deepEqual(problem, {
      code: ErrorCode.CONFIG_UNKNOWN_KEY,
      file: 'bad.yaml',
      line: 5,
      column: 5,
      path: 'virtualServices[0].schedular',
      message: 'unknown key',
      suggestion: 'scheduler',
      allowed: 'name, listen, protocol, acceptProxyProtocol, pool, scheduler, forwardedHeaders, timeouts, limits, retries, slowStart, sorryServer, notAvailable, outlierDetection, adaptive, persistence, drainTimeout, healthCheck, realServers, rules, access, rateLimit, trustedProxies, http2, redirectToHttps',
    });
  });

  it('an unknown key in a nested flow mapping and at the top level', () => {
    const text = `wrokers: 2\n${withVsLines('    timeouts: { conect: 3s }')}`;
    const problems = problemsOf(loadConfigText(text, 'bad.yaml'));
    assert.deepEqual(
      problems.map((p) => [p.line, p.column, p.path, p.suggestion]),
      [
        [1, 1, 'wrokers', 'workers'],
        [6, 17, 'virtualServices[0].timeouts.conect', 'connect'],
      ],
    );
  });

  it('a misspelt scheduling method: the value position and the allowed methods', () => {
    const [problem] = problemsOf(loadConfigText(withVsLines('    scheduler: round-robbin'), 'bad.yaml'));
    assert.deepEqual(problem, {
      code: ErrorCode.CONFIG_INVALID,
      file: 'bad.yaml',
      line: 5,
      column: 16,
      path: 'virtualServices[0].scheduler',
      message: '"round-robbin" is not a scheduling method',
      suggestion: 'round-robin',
      allowed:
        'round-robin, weighted-round-robin, least-connections, weighted-least-connections, source-ip-hash, fixed-weight, random-two-choices, adaptive',
    });
  });

  it('a bad duration', () => {
    const [problem] = problemsOf(loadConfigText(withVsLines('    timeouts:', '      connect: 3 seconds'), 'bad.yaml'));
    assert.deepEqual(problem, {
      code: ErrorCode.CONFIG_INVALID,
      file: 'bad.yaml',
      line: 6,
      column: 16,
      path: 'virtualServices[0].timeouts.connect',
      message: '"3 seconds" is not a duration',
      suggestion: '3s',
      allowed: 'a number with a unit, e.g. 500ms, 3s, 1m, 1h',
    });
  });

  it('a missing key: the position of the mapping that lacks it', () => {
    const text = ['virtualServices:', '  - name: web', '    protocol: http', '    realServers: [{ address: "a:1" }]'].join('\n');
    const [problem] = problemsOf(loadConfigText(text, 'bad.yaml'));
    assert.equal(problem?.code, ErrorCode.CONFIG_MISSING_KEY);
    assert.deepEqual([problem?.line, problem?.column, problem?.path], [2, 5, 'virtualServices[0].listen']);
    assert.equal(problem?.message, 'required key "listen" is missing');
  });

  it('an empty value points at its key', () => {
    const [problem] = problemsOf(loadConfigText(withVsLines('    retries:'), 'bad.yaml'));
    assert.deepEqual([problem?.line, problem?.column, problem?.path, problem?.message], [5, 5, 'virtualServices[0].retries', 'has no value']);
  });

  it('numbers out of range and of the wrong kind name the range', () => {
    const text = withVsLines('    retries: 11', '    limits: { maxHeaderBytes: 2000000 }').replace('9001', '9001\n        weight: 1.5');
    const problems = problemsOf(loadConfigText(text, 'bad.yaml'));
    assert.deepEqual(
      problems.map((p) => [p.line, p.path, p.message, p.allowed]),
      [
        [5, 'virtualServices[0].retries', '11 is too large; the maximum is 10', 'an integer 0..10'],
        [6, 'virtualServices[0].limits.maxHeaderBytes', '2000000 is too large; the maximum is 1048576', 'an integer 1..1048576'],
        [9, 'virtualServices[0].realServers[0].weight', '1.5 is not an integer', 'an integer 0..65535'],
      ],
    );
  });

  it('a bad address says what is wrong with it', () => {
    const text = withVsLines().replace('127.0.0.1:9001', '10.0.0.5');
    const [problem] = problemsOf(loadConfigText(text, 'bad.yaml'));
    assert.deepEqual([problem?.line, problem?.column, problem?.path], [6, 18, 'virtualServices[0].realServers[0].address']);
    assert.equal(problem?.message, '"10.0.0.5" has no port; add one, e.g. 10.0.0.5:80');
  });

  it('yes/no are text in YAML 1.2; suggest true/false', () => {
    const text = withVsLines().replace('9001', '9001\n        enabled: yes');
    const [problem] = problemsOf(loadConfigText(text, 'bad.yaml'));
    assert.deepEqual([problem?.path, problem?.message, problem?.suggestion], ['virtualServices[0].realServers[0].enabled', '"yes" is not true or false', 'true']);
  });

  it('workers and accessLog explain their two forms', () => {
    const problems = problemsOf(loadConfigText(`workers: Auto\naccessLog: on\n${withVsLines()}`, 'bad.yaml'));
    assert.deepEqual(
      problems.map((p) => [p.line, p.path, p.message, p.suggestion]),
      [
        [1, 'workers', '"Auto" is not a worker count', 'auto'],
        [2, 'accessLog', '"on" is not an access log setting', undefined],
      ],
    );
    const [format] = problemsOf(loadConfigText(`accessLog: { format: xml }\n${withVsLines()}`, 'bad.yaml'));
    assert.deepEqual([format?.path, format?.message, format?.allowed], ['accessLog.format', '"xml" is not an access log format', 'json']);
  });

  it('a wrong protocol still reports the other problems of its virtual service', () => {
    const text = withVsLines('    schedular: x').replace('protocol: http', 'protocol: htp');
    const problems = problemsOf(loadConfigText(text, 'bad.yaml'));
    assert.deepEqual(
      problems.map((p) => [p.line, p.path, p.suggestion]),
      [
        [4, 'virtualServices[0].protocol', 'http'],
        [5, 'virtualServices[0].schedular', 'scheduler'],
      ],
    );
  });

  it('an empty list of virtual services or real servers', () => {
    const [noVs] = problemsOf(loadConfigText('virtualServices: []', 'bad.yaml'));
    assert.deepEqual([noVs?.path, noVs?.message], ['virtualServices', 'needs at least 1 entry']);
    const text = ['virtualServices:', '  - { name: a, listen: "*:80", protocol: http, realServers: [] }'].join('\n');
    const [noRs] = problemsOf(loadConfigText(text, 'bad.yaml'));
    assert.deepEqual([noRs?.line, noRs?.path, noRs?.message], [2, 'virtualServices[0].realServers', 'needs at least 1 entry']);
  });

  it('an empty file', () => {
    const [problem] = problemsOf(loadConfigText('# nothing yet\n', 'empty.yaml'));
    assert.deepEqual([problem?.line, problem?.message], [1, 'the file is empty; a config needs at least virtualServices']);
  });

  it('reports every problem at once, sorted by line', () => {
    const text = withVsLines('    scheduler: rr2', '    retries: -1', '    schedular: x');
    const problems = problemsOf(loadConfigText(text, 'bad.yaml'));
    assert.deepEqual(problems.map((p) => p.line), [5, 6, 7]);
  });
});

describe('YAML problems', () => {
  it('a syntax error has its line', () => {
    const text = ['virtualServices:', '  - name: web', '    listen: [127.0.0.1:8080', '    protocol: http'].join('\n');
    const problems = problemsOf(loadConfigText(text, 'bad.yaml'));
    assert.ok(problems.length > 0);
    assert.equal(problems[0]?.code, ErrorCode.CONFIG_YAML);
    assert.match(problems[0]?.message ?? '', /^YAML syntax: /);
    assert.ok((problems[0]?.line ?? 0) >= 3, `line ${problems[0]?.line}`);
  });

  it('a tab used for indentation is reported at its line', () => {
    const text = ['virtualServices:', '  - name: web', '\tlisten: x', '    protocol: http'].join('\n');
    const [problem] = problemsOf(loadConfigText(text, 'bad.yaml'));
    assert.equal(problem?.code, ErrorCode.CONFIG_YAML);
    assert.equal(problem?.line, 3);
  });

  it('a duplicate key is an error, not a silent override', () => {
    const text = withVsLines('    retries: 1', '    retries: 2');
    const [problem] = problemsOf(loadConfigText(text, 'bad.yaml'));
    assert.deepEqual([problem?.code, problem?.line, problem?.column, problem?.message], [
      ErrorCode.CONFIG_CONFLICT,
      6,
      5,
      'duplicate key "retries"; a mapping may hold each key once',
    ]);
  });

  it('an alias bomb is refused, not expanded', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`);
    const problems = problemsOf(loadConfigText(lines.join('\n'), 'bomb.yaml'));
    assert.equal(problems[0]?.code, ErrorCode.CONFIG_YAML);
  });
});

describe('checks across entries', () => {
  it('the admin API on a virtual service address: both lines', () => {
    const text = ['admin: { listen: 127.0.0.1:8080 }', withVsLines()].join('\n');
    const [problem, ...rest] = problemsOf(loadConfigText(text, 'x.yaml'));
    assert.equal(rest.length, 0);
    assert.equal(problem?.path, 'admin.listen');
    assert.equal(problem?.line, 1);
    assert.match(problem?.message ?? '', /also where virtual service "web" listens/);
    assert.equal(problem?.related?.line, 4);
  });


  const twoServices = (listenA: string, listenB: string, nameB = 'api') =>
    [
      'virtualServices:',
      '  - name: web',
      `    listen: "${listenA}"`,
      '    protocol: http',
      '    realServers: [{ address: "127.0.0.1:9001" }]',
      `  - name: ${nameB}`,
      `    listen: "${listenB}"`,
      '    protocol: http',
      '    realServers: [{ address: "127.0.0.1:9001" }]',
    ].join('\n');

  it('two virtual services on one address and port: both lines', () => {
    const [problem, ...rest] = problemsOf(loadConfigText(twoServices('127.0.0.1:8080', '127.0.0.1:8080'), 'c.yaml'));
    assert.deepEqual(rest, []);
    assert.equal(problem?.code, ErrorCode.CONFIG_CONFLICT);
    assert.deepEqual([problem?.line, problem?.column, problem?.path], [7, 13, 'virtualServices[1].listen']);
    assert.deepEqual(problem?.related, { path: 'virtualServices[0].listen', line: 3, column: 13 });
    assert.match(problem?.message ?? '', /also the listen address of virtual service "web"/);
  });

  it('a wildcard listener overlaps a specific address on the same port', () => {
    for (const [a, b] of [
      ['0.0.0.0:8080', '127.0.0.1:8080'],
      ['127.0.0.1:8080', '*:8080'],
      ['[::]:8080', '127.0.0.1:8080'],
      ['[::]:8080', '0.0.0.0:8080'],
      ['localhost:8080', '127.0.0.1:8080'],
    ]) {
      const problems = problemsOf(loadConfigText(twoServices(a ?? '', b ?? ''), 'c.yaml'));
      assert.equal(problems.length, 1, `${a} vs ${b}`);
      assert.equal(problems[0]?.related?.line, 3);
    }
  });

  it('different ports, or IPv4 wildcard and an IPv6 address, do not conflict', () => {
    for (const [a, b] of [
      ['0.0.0.0:8080', '0.0.0.0:8081'],
      ['0.0.0.0:8080', '[::1]:8080'],
      ['127.0.0.1:8080', '127.0.0.2:8080'],
    ]) {
      configOf(loadConfigText(twoServices(a ?? '', b ?? ''), 'c.yaml'));
    }
  });

  it('duplicate virtual service names', () => {
    const [problem] = problemsOf(loadConfigText(twoServices('127.0.0.1:8080', '127.0.0.1:8081', 'web'), 'c.yaml'));
    assert.deepEqual([problem?.line, problem?.path, problem?.related?.line], [6, 'virtualServices[1].name', 2]);
  });

  it('the same real server twice in one virtual service, however it is spelt', () => {
    const text = withVsLines().replace('127.0.0.1:9001', 'LocalHost:9001\n      - address: localhost:9001');
    const [problem] = problemsOf(loadConfigText(text, 'c.yaml'));
    assert.deepEqual([problem?.line, problem?.path, problem?.related?.line], [7, 'virtualServices[0].realServers[1].address', 6]);
  });
});

describe('reading files', () => {
  it('a missing file is a problem, not an exception', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fulcrum-config-'));
    try {
      const [problem] = problemsOf(await loadConfigFile(join(dir, 'nope.yaml')));
      assert.equal(problem?.code, ErrorCode.CONFIG_READ);
      assert.equal(problem?.message, 'cannot read the config file: no such file');
      const [isDir] = problemsOf(await loadConfigFile(dir));
      assert.equal(isDir?.code, ErrorCode.CONFIG_READ);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('the sample in the docs is the sample in examples/', async () => {
    const sample = await readFile(new URL('sample.yaml', examples), 'utf8');
    assert.match(sample, /scheduler: weighted-round-robin/);
  });
});
