// What a pool's methods need against what its users' protocols offer, through the whole loader:
// for every scheduler, persistence type and fallback on every protocol, a config loads exactly
// when the protocol's front end can feed the method, and a refusal names the protocol, the values
// that would work and the line of the key. The matrix reads the registries; the cases written out
// by hand below it keep the test from only restating them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FALLBACK_TYPES } from '../../src/config/persistence.ts';
import { PROTOCOL_OFFERS, type FrontEndProtocol, type MethodNeed } from '../../src/pool/needs.ts';
import { PERSISTENCE_REGISTRY } from '../../src/persistence/registry.ts';
import { SCHEDULER_REGISTRY } from '../../src/scheduling/registry.ts';
import { PROTOCOLS, lineOf, loads, problemAt, problemsOf, serviceLines } from './yaml-config.ts';

/** The keys each persistence type requires besides its type. A type added to the registry must be added here. */
const REQUIRED_KEYS: Record<string, string> = {
  'source-ip': '',
  'active-cookie': '',
  'server-cookie': 'cookieName: JSESSIONID',
  header: 'headerName: X-Session',
  'url-hash': '',
  'query-item': 'queryItem: sid',
  'rdp-cookie': '',
};

const SERVER = 'realServers: [ { address: 127.0.0.1:9001 } ]';

function canFeed(protocol: FrontEndProtocol, needs: readonly MethodNeed[]): boolean {
  return needs.every((need) => PROTOCOL_OFFERS[protocol].includes(need));
}

/** The persistence types a protocol can feed, in registry order (what a refusal must offer). */
function typesFor(protocol: FrontEndProtocol): string[] {
  return PERSISTENCE_REGISTRY.filter((m) => canFeed(protocol, m.needs)).map((m) => m.type);
}

/** `persistence:` in block style, so that type and fallback each have a line of their own. */
function persistenceLines(type: string, fallback?: string): string[] {
  const keys = [REQUIRED_KEYS[type], fallback === undefined ? '' : REQUIRED_KEYS[fallback]].filter((k): k is string => k !== undefined && k !== '');
  return ['persistence:', `  type: ${type}`, ...(fallback === undefined ? [] : [`  fallback: ${fallback}`]), ...[...new Set(keys)].map((k) => `  ${k}`)];
}

/** One virtual service of `protocol` with a pool of its own holding `poolLines`. */
function inlineConfig(protocol: FrontEndProtocol, poolLines: readonly string[]): string {
  return ['virtualServices:', ...serviceLines(protocol, 'front', 8080, [...poolLines, SERVER])].join('\n');
}

/** One named pool holding `poolLines`, used by one virtual service of `protocol`. */
function namedConfig(protocol: FrontEndProtocol, poolLines: readonly string[]): string {
  return [
    'pools:',
    '  - name: shared',
    ...poolLines.map((l) => `    ${l}`),
    `    ${SERVER}`,
    'virtualServices:',
    ...serviceLines(protocol, 'front', 8080, ['pool: shared']),
  ].join('\n');
}

const FORMS = [
  { form: 'inline', build: inlineConfig, at: 'virtualServices[0]' },
  { form: 'named pool', build: namedConfig, at: 'pools[0]' },
] as const;

describe('what each protocol offers and each method reads (written out)', () => {
  it('the protocols, their offers and the needs of the methods the rest of this file leans on', () => {
    assert.deepEqual(PROTOCOLS, ['http', 'https', 'tcp', 'udp', 'ftp']);
    assert.deepEqual(PROTOCOL_OFFERS.https, PROTOCOL_OFFERS.http, 'https is http behind TLS');
    assert.ok(PROTOCOL_OFFERS.http.includes('http-request') && PROTOCOL_OFFERS.http.includes('http-response'));
    assert.deepEqual([...PROTOCOL_OFFERS.tcp].sort(), ['address', 'stream-start']);
    assert.deepEqual(PROTOCOL_OFFERS.udp, ['address']);
    assert.deepEqual(PROTOCOL_OFFERS.ftp, ['address']);
    const needs = (type: string): readonly string[] => PERSISTENCE_REGISTRY.find((m) => m.type === type)!.needs;
    assert.deepEqual(needs('header'), ['http-request']);
    assert.deepEqual(needs('rdp-cookie'), ['stream-start']);
    assert.deepEqual([...needs('active-cookie')].sort(), ['http-request', 'http-response']);
    assert.ok(SCHEDULER_REGISTRY.every((m) => m.needs.length === 1 && m.needs[0] === 'address'), 'every scheduler reads only the client address');
    for (const type of PERSISTENCE_REGISTRY.map((m) => m.type)) assert.ok(type in REQUIRED_KEYS, `add the keys persistence type ${type} requires to REQUIRED_KEYS`);
  });
});

describe('every scheduler on every protocol', () => {
  for (const { name, needs } of SCHEDULER_REGISTRY) {
    for (const protocol of PROTOCOLS) {
      for (const { form, build, at } of FORMS) {
        // A udp virtual service has no adaptive key: its own pool cannot say how to poll agents (see the todo below).
        if (name === 'adaptive' && protocol === 'udp' && form === 'inline') continue;
        it(`${name} on ${protocol} (${form}) ${canFeed(protocol, needs) ? 'loads' : 'is refused'}`, () => {
          const lines = [`scheduler: ${name}`, ...(name === 'adaptive' ? ['adaptive: { type: http, port: 8082 }'] : [])];
          const text = build(protocol, lines);
          if (canFeed(protocol, needs)) assert.equal(loads(text).pools[0]!.scheduler, name);
          else assert.match(problemAt(problemsOf(text), `${at}.scheduler`).message, new RegExp(`\\b${protocol} virtual service\\b`));
        });
      }
    }
  }

  it('scheduler adaptive without its adaptive block is refused on every protocol, udp too; with it, the pool carries it', () => {
    for (const protocol of PROTOCOLS) {
      const problems = problemsOf(inlineConfig(protocol, ['scheduler: adaptive']));
      assert.match(problemAt(problems, 'virtualServices[0].scheduler').message, /needs an adaptive block/, protocol);
      const pool = loads(inlineConfig(protocol, ['scheduler: adaptive', 'adaptive: { type: agent, port: 8082 }'])).pools[0]!;
      assert.equal(pool.adaptive?.type, 'agent', protocol);
      assert.equal(pool.adaptive?.port, 8082, protocol);
    }
  });
});

describe('every persistence type on every protocol', () => {
  for (const { type, needs } of PERSISTENCE_REGISTRY) {
    for (const protocol of PROTOCOLS) {
      for (const { form, build, at } of FORMS) {
        const fits = canFeed(protocol, needs);
        it(`${type} on ${protocol} (${form}) ${fits ? 'loads' : 'is refused, naming the protocol and what would work, at its line'}`, () => {
          const text = build(protocol, persistenceLines(type));
          if (fits) {
            const persistence = loads(text).pools[0]!.persistence;
            assert.ok(persistence !== false);
            assert.equal(persistence.type, type);
            return;
          }
          const problems = problemsOf(text);
          assert.deepEqual(problems.map((p) => p.path), [`${at}.persistence.type`], 'refused for this reason alone');
          const problem = problems[0]!;
          const allowed = typesFor(protocol);
          assert.equal(problem.allowed, allowed.join(', '));
          assert.match(problem.message, new RegExp(`\\b${protocol} virtual service\\b`));
          assert.ok(problem.message.endsWith(allowed.length === 1 ? allowed[0]! : `${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}`), problem.message);
          assert.equal(problem.line, lineOf(text, `type: ${type}`));
        });
      }
    }
  }
});

describe('every fallback on every protocol, behind every primary type it can stand behind', () => {
  // source-ip and url-hash always have a key, so a fallback behind them is refused for that reason.
  const primaries = PERSISTENCE_REGISTRY.map((m) => m.type).filter((t) => t !== 'source-ip' && t !== 'url-hash');
  for (const fallback of FALLBACK_TYPES) {
    const needs = PERSISTENCE_REGISTRY.find((m) => m.type === fallback)!.needs;
    for (const protocol of PROTOCOLS) {
      for (const type of primaries.filter((t) => t !== fallback)) {
        const fits = canFeed(protocol, needs);
        const primaryFits = canFeed(protocol, PERSISTENCE_REGISTRY.find((m) => m.type === type)!.needs);
        it(`${type} with fallback ${fallback} on ${protocol}: ${fits && primaryFits ? 'loads' : fits ? 'the fallback is accepted' : 'the fallback is refused, offering only fallback types'}`, () => {
          const text = inlineConfig(protocol, persistenceLines(type, fallback));
          if (fits && primaryFits) {
            const persistence = loads(text).pools[0]!.persistence;
            assert.ok(persistence !== false);
            assert.deepEqual([persistence.type, persistence.fallback], [type, fallback]);
            return;
          }
          const problems = problemsOf(text);
          const problem = problems.find((p) => p.path === 'virtualServices[0].persistence.fallback');
          assert.equal(problem !== undefined, !fits, JSON.stringify(problems, null, 2));
          if (problem === undefined) return;
          assert.match(problem.message, new RegExp(`\\b${protocol} virtual service\\b`));
          assert.equal(problem.line, lineOf(text, `fallback: ${fallback}`));
          const expected = FALLBACK_TYPES.filter((t) => t !== type && typesFor(protocol).includes(t));
          assert.deepEqual((problem.allowed ?? '').split(', '), expected, 'a fallback can only be one of the fallback types');
        });
      }
    }
  }
});

describe('persistence by protocol, written out', () => {
  it('header persistence on a tcp service is refused: it reads the HTTP request; source-ip or rdp-cookie would work', () => {
    const text = inlineConfig('tcp', ['persistence: { type: header, headerName: X-Session }']);
    const problem = problemAt(problemsOf(text), 'virtualServices[0].persistence.type');
    assert.match(problem.message, /^persistence type header does not apply to a tcp virtual service: it reads the HTTP request/);
    assert.match(problem.message, /offers only the client address and the first bytes of the stream; it can use source-ip or rdp-cookie$/);
    assert.equal(problem.allowed, 'source-ip, rdp-cookie');
    assert.equal(problem.line, 5);
  });

  it('rdp-cookie loads on tcp and is refused on udp, where only source-ip fits', () => {
    assert.equal((loads(inlineConfig('tcp', ['persistence: { type: rdp-cookie }'])).pools[0]!.persistence as { type: string }).type, 'rdp-cookie');
    const problem = problemAt(problemsOf(inlineConfig('udp', ['persistence: { type: rdp-cookie }'])), 'virtualServices[0].persistence.type');
    assert.match(problem.message, /a udp virtual service offers only the client address; it can use source-ip$/);
    assert.equal(problem.allowed, 'source-ip');
  });

  it('url-hash on udp is refused; active-cookie on http loads; source-ip loads on ftp', () => {
    assert.match(problemAt(problemsOf(inlineConfig('udp', ['persistence: { type: url-hash }'])), 'virtualServices[0].persistence.type').message, /url-hash.*udp/);
    assert.equal((loads(inlineConfig('http', ['persistence: { type: active-cookie }'])).pools[0]!.persistence as { cookieName: string }).cookieName, 'FULCRUMID');
    assert.equal((loads(inlineConfig('ftp', ['persistence: { type: source-ip, sourceMask: 24 }'])).pools[0]!.persistence as { sourceMask: number }).sourceMask, 24);
  });

  it('rdp-cookie on http is refused, offering every type but rdp-cookie', () => {
    const problem = problemAt(problemsOf(inlineConfig('http', ['persistence: { type: rdp-cookie }'])), 'virtualServices[0].persistence.type');
    assert.equal(problem.allowed, 'source-ip, active-cookie, server-cookie, header, url-hash, query-item');
  });
});

describe('a named pool is checked against every user', () => {
  it('header persistence in a pool used by an http and a tcp virtual service is refused at the pool, naming the tcp user', () => {
    const text = [
      'pools:',
      '  - name: shared',
      '    persistence:',
      '      type: header',
      '      headerName: X-Session',
      `    ${SERVER}`,
      'virtualServices:',
      ...serviceLines('http', 'web', 8080, ['pool: shared']),
      ...serviceLines('tcp', 'raw', 8081, ['pool: shared']),
    ].join('\n');
    const problems = problemsOf(text);
    assert.deepEqual(problems.map((p) => p.path), ['pools[0].persistence.type']);
    const [problem] = problems;
    assert.equal(problem!.line, 4);
    assert.match(problem!.message, /pool "shared" is used by tcp virtual service "raw", which offers only the client address and the first bytes of the stream; for it use source-ip or rdp-cookie$/);
    assert.doesNotMatch(problem!.message, /"web"/);
  });

  it('a pool with rdp-cookie used by a tcp service and an http rule is refused, naming the rule', () => {
    const text = [
      'pools:',
      '  - name: desktops',
      '    persistence: { type: rdp-cookie }',
      `    ${SERVER}`,
      '  - name: site',
      `    ${SERVER}`,
      'virtualServices:',
      ...serviceLines('tcp', 'rdp', 3389, ['pool: desktops']),
      ...serviceLines('http', 'web', 8080, ['pool: site', 'rules:', '  - name: to-desktops', '    match: { path: { prefix: /rdp } }', '    pool: desktops']),
    ].join('\n');
    const problem = problemAt(problemsOf(text), 'pools[0].persistence.type');
    assert.match(problem.message, /http virtual service "web" \(rule "to-desktops"\)/);
    assert.equal(problem.line, 3);
  });

  it('a pool used by an http service and by an http rule elsewhere may use header persistence; so may a pool nobody uses', () => {
    const text = [
      'pools:',
      '  - name: sessions',
      '    persistence: { type: header, headerName: X-Session }',
      `    ${SERVER}`,
      '  - name: spare',
      '    persistence: { type: header, headerName: X-Session }',
      `    ${SERVER}`,
      'virtualServices:',
      ...serviceLines('http', 'web', 8080, ['pool: sessions']),
      ...serviceLines('http', 'api', 8081, [SERVER, 'rules:', '  - name: sticky', '    match: { path: { prefix: /s } }', '    pool: sessions']),
    ].join('\n');
    assert.deepEqual(loads(text).pools.map((p) => p.name), ['sessions', 'spare', 'api']);
  });
});
