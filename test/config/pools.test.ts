// The pool model in the config, through the whole loader: pools under pools: that virtual
// services and rules name, the older inline form as a pool of its own, and every way of getting
// the two wrong, each refused at its line with a message that says what to do. Also the checks
// of a front end that need the rest of the config (redirects, countries, request rate limits).
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../src/errors.ts';
import { lineOf, loads, problemAt, problemsOf, serviceLines } from './yaml-config.ts';

const examples = new URL('../../examples/', import.meta.url);
const tlsFixtures = path.join(import.meta.dirname, '..', 'fixtures', 'tls');

/**
 * examples/https.yaml names certs/... relative to the folder Fulcrum runs in (issue 11's sample):
 * load it from a folder that has them, as interop/https-sample.test.ts runs it.
 */
async function withSampleCertificates<T>(load: () => T): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'https-sample-'));
  const from = process.cwd();
  try {
    await mkdir(path.join(dir, 'certs'));
    for (const [to, fixture] of [
      ['internal-ca.pem', 'internal-ca.pem'],
      ['www.surveyor.lab.pem', 'www.surveyor.lab.rsa.pem'],
      ['www.surveyor.lab.key', 'www.surveyor.lab.rsa.key'],
      ['wildcard.bussines.lab.pem', 'wildcard.bussines.lab.pem'],
      ['wildcard.bussines.lab.key', 'wildcard.bussines.lab.key'],
      ['clients-ca.pem', 'clients-ca.pem'],
    ]) {
      await copyFile(path.join(tlsFixtures, fixture!), path.join(dir, 'certs', to!));
    }
    process.chdir(dir);
    return load();
  } finally {
    process.chdir(from);
    await rm(dir, { recursive: true, force: true });
  }
}
const SERVER = 'realServers: [ { address: 127.0.0.1:9001 } ]';

function pool(name: string, ...lines: string[]): string[] {
  return [`  - name: ${name}`, ...lines.map((l) => `    ${l}`)];
}

describe('the issue\'s sample and the examples', () => {
  it('examples/surveyor.yaml loads as written: two named pools, one for the service, one for a rule', async () => {
    const text = await readFile(new URL('surveyor.yaml', examples), 'utf8');
    const config = loads(text);
    assert.deepEqual(config.pools.map((p) => [p.name, p.inline, p.scheduler, p.realServers.map((rs) => rs.address.port)]), [
      ['ntrip-farm', false, 'least-connections', [9001, 9002]],
      ['static', false, 'round-robin', [9003]],
    ]);
    assert.deepEqual(config.pools[0]!.at, ['pools', 0]);
    const farmCheck = config.pools[0]!.healthCheck;
    assert.deepEqual([farmCheck.type, farmCheck.method, farmCheck.host], ['http', 'GET', 'ntrip.surveyor.lab']);
    const [vs] = config.virtualServices;
    assert.ok(vs?.protocol === 'http');
    assert.equal(vs.pool, 'ntrip-farm');
    assert.ok(!('realServers' in vs) && !('scheduler' in vs), 'the front end carries no pool keys');
    assert.deepEqual(vs.rules.map((r) => [r.name, r.pool ?? null]), [['www-moved', null], ['static-files', 'static'], ['no-admin-from-outside', null], ['api', null]]);
  });

  it('every example loads, and each inline virtual service is a pool of its own named after it', async () => {
    const files = (await readdir(examples)).filter((f) => f.endsWith('.yaml'));
    assert.ok(files.length >= 7, files.join(', '));
    for (const file of files) {
      const text = await readFile(new URL(file, examples), 'utf8');
      const config = file === 'https.yaml' ? await withSampleCertificates(() => loads(text)) : loads(text);
      const named = new Set(config.pools.filter((p) => !p.inline).map((p) => p.name));
      for (const [index, vs] of config.virtualServices.entries()) {
        const own = config.pools.find((p) => p.name === vs.pool);
        assert.ok(own !== undefined, `${file}: ${vs.name} uses a pool that exists`);
        if (!named.has(vs.pool)) assert.deepEqual([own.name, own.inline, own.at], [vs.name, true, ['virtualServices', index]], `${file}: ${vs.name}`);
      }
    }
  });

  it('sample.yaml: the inline keys become the pool "web" (scheduler, servers, keep-alive from the service\'s timeouts and limits)', async () => {
    const config = loads(await readFile(new URL('sample.yaml', examples), 'utf8'));
    assert.equal(config.pools.length, 1);
    const web = config.pools[0]!;
    assert.deepEqual([web.name, web.inline, web.scheduler, web.persistence, web.queue, web.keepAlive], ['web', true, 'weighted-round-robin', false, { size: 1000, timeout: 5000 }, { idle: 4000, maxIdlePerServer: 64 }]);
    assert.deepEqual(web.realServers.map((rs) => [rs.address.port, rs.weight, rs.enabled]), [[9001, 100, true], [9002, 300, true], [9003, 100, false]]);
    assert.equal(config.virtualServices[0]!.pool, 'web');
  });

  it("an inline http pool keeps its connections as the service's timeouts.upstreamIdle and limits.maxIdlePerServer say", () => {
    const config = loads(['virtualServices:', ...serviceLines('http', 'web', 8080, ['timeouts: { upstreamIdle: 2s }', 'limits: { maxIdlePerServer: 8 }', SERVER])].join('\n'));
    assert.deepEqual(config.pools[0]!.keepAlive, { idle: 2000, maxIdlePerServer: 8 });
  });
});

describe('a virtual service and its pool', () => {
  it('pool: and realServers together are refused at pool:', () => {
    const text = ['pools:', ...pool('shared', SERVER), 'virtualServices:', ...serviceLines('http', 'web', 8080, ['pool: shared', SERVER])].join('\n');
    const problem = problemAt(problemsOf(text), 'virtualServices[0].pool');
    assert.match(problem.message, /names pool "shared" and lists realServers: give one of the two/);
    assert.equal(problem.line, lineOf(text, 'pool: shared'));
  });

  it('neither pool: nor realServers is refused at the virtual service', () => {
    const text = ['virtualServices:', ...serviceLines('tcp', 'raw', 8080, [])].join('\n');
    const problem = problemAt(problemsOf(text), 'virtualServices[0]');
    assert.match(problem.message, /virtual service "raw" has no real servers: name a pool \(pool: NAME, one of pools:\) or list realServers/);
  });

  it('an unknown pool is refused with the pools there are and a suggestion', () => {
    const text = ['pools:', ...pool('ntrip-farm', SERVER), ...pool('static', SERVER), 'virtualServices:', ...serviceLines('http', 'web', 8080, ['pool: ntrip-fram'])].join('\n');
    const problem = problemAt(problemsOf(text), 'virtualServices[0].pool');
    assert.equal(problem.message, 'no pool named "ntrip-fram"; the pools are ntrip-farm, static');
    assert.equal(problem.suggestion, 'ntrip-farm');
    assert.equal(problem.line, lineOf(text, 'pool: ntrip-fram'));
    const none = ['virtualServices:', ...serviceLines('http', 'web', 8080, ['pool: anything'])].join('\n');
    assert.match(problemAt(problemsOf(none), 'virtualServices[0].pool').message, /the config has no pools: list/);
  });

  it('two pools of one name are refused at the second', () => {
    const text = ['pools:', ...pool('farm', SERVER), ...pool('farm', SERVER), 'virtualServices:', ...serviceLines('http', 'web', 8080, ['pool: farm'])].join('\n');
    const problem = problemAt(problemsOf(text), 'pools[1].name');
    assert.match(problem.message, /pool name "farm" is already used by pools\[0\]/);
    assert.equal(problem.line, 4);
  });

  it('a pool named like a virtual service that lists its own realServers is refused at the pool\'s name', () => {
    const text = ['pools:', ...pool('web', SERVER), 'virtualServices:', ...serviceLines('http', 'web', 8080, [SERVER])].join('\n');
    const problem = problemAt(problemsOf(text), 'pools[0].name');
    assert.match(problem.message, /pool name "web" is also the name of virtual service "web"'s own pool \(its realServers\); rename one/);
    // The same name is fine when the service uses that pool rather than one of its own.
    loads(['pools:', ...pool('web', SERVER), 'virtualServices:', ...serviceLines('http', 'web', 8080, ['pool: web'])].join('\n'));
  });

  it('naming another service\'s inline pool works whichever service is written first', () => {
    const user = serviceLines('http', 'user', 8080, ['pool: owner']);
    const owner = serviceLines('http', 'owner', 8081, [SERVER]);
    const verdict = (lines: string[]): string => {
      const text = ['virtualServices:', ...lines].join('\n');
      try {
        return `loads, using pool ${loads(text).virtualServices.find((v) => v.name === 'user')!.pool}`;
      } catch {
        return `refused: ${problemsOf(text).map((p) => p.message).join('; ')}`;
      }
    };
    assert.equal(verdict([...user, ...owner]), 'loads, using pool owner');
    assert.equal(verdict([...owner, ...user]), 'loads, using pool owner');
  });
});

describe('pool keys beside pool: are refused, pointing to the pool', () => {
  const cases = [
    { key: 'scheduler', line: 'scheduler: least-connections', path: 'scheduler', says: /scheduler belongs to the pool: virtual service "web" uses pool "farm", so set scheduler there \(pools: - name: farm\)/ },
    { key: 'healthCheck', line: 'healthCheck: { type: tcp }', path: 'healthCheck', says: /healthCheck belongs to the pool: .*uses pool "farm"/ },
    { key: 'persistence', line: 'persistence: { type: source-ip }', path: 'persistence', says: /persistence belongs to the pool/ },
    { key: 'sorryServer', line: 'sorryServer: 127.0.0.1:9999', path: 'sorryServer', says: /sorryServer belongs to the pool/ },
    { key: 'timeouts.upstreamIdle', line: 'timeouts: { upstreamIdle: 2s }', path: 'timeouts.upstreamIdle', says: /^timeouts\.upstreamIdle belongs to the pool: set keepAlive\.idle on pool "farm"$/ },
    { key: 'limits.maxIdlePerServer', line: 'limits: { maxIdlePerServer: 8 }', path: 'limits.maxIdlePerServer', says: /^limits\.maxIdlePerServer belongs to the pool: set keepAlive\.maxIdlePerServer on pool "farm"$/ },
  ];
  for (const { key, line, path, says } of cases) {
    it(key, () => {
      const text = ['pools:', ...pool('farm', SERVER), 'virtualServices:', ...serviceLines('http', 'web', 8080, ['pool: farm', line])].join('\n');
      const problems = problemsOf(text);
      assert.deepEqual(problems.map((p) => p.path), [`virtualServices[0].${path}`]);
      assert.match(problems[0]!.message, says);
      assert.equal(problems[0]!.code, ErrorCode.CONFIG_CONFLICT);
      assert.equal(problems[0]!.line, lineOf(text, line.split(':')[0]!, 5));
    });
  }

  it('the same keys on a service with its own realServers are its inline pool, not a mistake', () => {
    const text = ['virtualServices:', ...serviceLines('http', 'web', 8080, ['scheduler: least-connections', 'timeouts: { upstreamIdle: 2s }', SERVER])].join('\n');
    assert.equal(loads(text).pools[0]!.scheduler, 'least-connections');
  });
});

describe('rules route to pools', () => {
  it('a rule that routes to an unknown pool is refused at its pool:, with a suggestion', () => {
    const text = [
      'pools:',
      ...pool('static', SERVER),
      'virtualServices:',
      ...serviceLines('http', 'web', 8080, [SERVER, 'rules:', '  - name: files', '    match: { path: { prefix: /static/ } }', '    pool: statik']),
    ].join('\n');
    const problem = problemAt(problemsOf(text), 'virtualServices[0].rules[0].pool');
    assert.match(problem.message, /^rule "files" routes to pool "statik", which does not exist; the pools are static, web$/);
    assert.equal(problem.suggestion, 'static');
    assert.equal(problem.line, lineOf(text, 'pool: statik'));
  });
});

describe("a named pool's health check", () => {
  it("takes its users' protocol when its type is left out (http, tcp, udp: dns, ftp), and http when nobody uses it", () => {
    const check = 'healthCheck: { interval: 2s }';
    const text = [
      'pools:',
      ...['for-http', 'for-tcp', 'for-udp', 'for-ftp', 'unused'].flatMap((name) => pool(name, check, SERVER)),
      'virtualServices:',
      ...serviceLines('http', 'h', 8080, ['pool: for-http']),
      ...serviceLines('tcp', 't', 8081, ['pool: for-tcp']),
      ...serviceLines('udp', 'u', 8082, ['pool: for-udp']),
      ...serviceLines('ftp', 'f', 8083, ['pool: for-ftp']),
    ].join('\n');
    const types = Object.fromEntries(loads(text).pools.map((p) => [p.name, [p.healthCheck.type, p.healthCheck.interval]]));
    assert.deepEqual(types, { 'for-http': ['http', 2000], 'for-tcp': ['tcp', 2000], 'for-udp': ['dns', 2000], 'for-ftp': ['ftp', 2000], unused: ['http', 2000] });
  });

  it('must say its type when its users disagree (an http rule and a tcp service)', () => {
    const lines = (check: string): string =>
      [
        'pools:',
        ...pool('mixed', check, SERVER),
        'virtualServices:',
        ...serviceLines('http', 'web', 8080, [SERVER, 'rules:', '  - name: m', '    match: { path: { prefix: /m } }', '    pool: mixed']),
        ...serviceLines('tcp', 'raw', 8081, ['pool: mixed']),
      ].join('\n');
    const text = lines('healthCheck: { interval: 2s }');
    const problem = problemAt(problemsOf(text), 'pools[0].healthCheck');
    assert.match(problem.message, /pool "mixed" is used by (http and tcp|tcp and http) virtual services, whose checks differ; say which check it runs \(healthCheck\.type\)/);
    assert.equal(problem.line, 3);
    assert.equal(loads(lines('healthCheck: { type: tcp, interval: 2s }')).pools.find((p) => p.name === 'mixed')!.healthCheck.type, 'tcp');
  });
});

describe('redirects, countries and request rate limits, checked against the whole config', () => {
  const withRules = (rules: string[], top: string[] = []): string =>
    [...top, 'pools:', ...pool('site', SERVER), 'virtualServices:', ...serviceLines('http', 'web', 8080, ['pool: site', 'rules:', ...rules])].join('\n');

  it('a redirect without a scheme is refused with the fix as its suggestion', () => {
    const text = withRules(['  - name: moved', '    match: { host: old.example.com }', '    redirect: { to: "www.example.com/new" }']);
    const problem = problemAt(problemsOf(text), 'virtualServices[0].rules[0].redirect.to');
    assert.match(problem.message, /has no scheme/);
    assert.equal(problem.suggestion, 'http://www.example.com/new');
    assert.equal(problem.line, lineOf(text, 'redirect:'));
  });

  it('a redirect back to the same host and path on this service is refused; https://$host$path from http is accepted', () => {
    const loop = withRules(['  - name: back', '    match: { path: { prefix: /a } }', '    redirect: { to: "http://$host:8080$path" }']);
    assert.match(problemAt(problemsOf(loop), 'virtualServices[0].rules[0].redirect.to').message, /would loop: the client comes back to this http service with the same host \(\$host\)/);
    const upgrade = withRules(['  - name: secure', '    match: { path: { prefix: /a } }', '    redirect: { to: "https://$host$path" }']);
    assert.equal(loads(upgrade).virtualServices[0]!.protocol, 'http');
  });

  it('a country condition, in a match or an access list, needs geoipDatabase', () => {
    const text = withRules(['  - name: fr', '    match: { country: [FR] }', '    pool: site']);
    assert.match(problemAt(problemsOf(text), 'virtualServices[0].rules[0].match').message, /a country needs a GeoIP database.*set geoipDatabase/);
    const access = ['pools:', ...pool('site', SERVER), 'virtualServices:', ...serviceLines('tcp', 'raw', 8080, ['pool: site', 'access: { denyCountries: [FR] }'])].join('\n');
    assert.match(problemAt(problemsOf(access), 'virtualServices[0].access').message, /a country needs a GeoIP database/);
  });

  it('perClient on a tcp service is refused: it has connections, not requests', () => {
    const text = ['pools:', ...pool('site', SERVER), 'virtualServices:', ...serviceLines('tcp', 'raw', 8080, ['pool: site', 'rateLimit: { perClient: { rate: 5/s } }'])].join('\n');
    const problem = problemAt(problemsOf(text), 'virtualServices[0].rateLimit.perClient');
    assert.match(problem.message, /perClient limits HTTP requests; a tcp virtual service has connections, not requests: use connectionRate or maxConnectionsPerClient/);
    assert.equal(problem.line, lineOf(text, 'rateLimit'));
  });
});
