// The persistence and drainTimeout keys: what a valid file resolves to, and the problem (with its
// line) for each way a file can be wrong.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.ts';

function file(persistence: string, extra = ''): string {
  return [
    'virtualServices:',
    '  - name: web',
    '    listen: 127.0.0.1:8080',
    '    protocol: http',
    `    persistence: ${persistence}`,
    ...(extra === '' ? [] : [`    ${extra}`]),
    '    realServers: [{ address: 127.0.0.1:9001 }]',
    '',
  ].join('\n');
}

function resolved(persistence: string, extra = '') {
  const result = loadConfigText(file(persistence, extra), 'fulcrum.yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.problems, null, 2));
  return result.config.pools[0]!;
}

/** The problems as "line:column path: message". */
function problems(persistence: string, extra = ''): string[] {
  const result = loadConfigText(file(persistence, extra), 'fulcrum.yaml');
  assert.equal(result.ok, false, `expected problems with ${persistence}`);
  return result.ok ? [] : result.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);
}

describe('persistence config', () => {
  it('accepts the example from the brief as written', () => {
    const vs = resolved('{ type: active-cookie, cookieName: FULCRUMID, timeout: 1h, fallback: source-ip, sourceMask: 24 }');
    assert.deepEqual(vs.persistence, {
      type: 'active-cookie',
      fallback: 'source-ip',
      cookieName: 'FULCRUMID',
      cookieSecret: null,
      headerName: null,
      queryItem: null,
      sourceMask: 24,
      sourceMask6: 128,
      timeout: 3_600_000,
      maxEntries: 100_000,
    });
    assert.equal(vs.drainTimeout, 0);
  });

  it('is off by default, and "off" turns it off', () => {
    const config = loadConfigText(file('off').replace('    persistence: off\n', ''), 'f.yaml');
    assert.ok(config.ok);
    assert.equal(config.config.pools[0]!.persistence, false);
    assert.equal(resolved('off').persistence, false);
  });

  it('applies defaults per type: timeout 30m, cookieName FULCRUMID for active-cookie, masks 32 and 128', () => {
    const cookie = resolved('{ type: active-cookie }').persistence;
    assert.ok(cookie !== false);
    assert.equal(cookie.timeout, 30 * 60_000);
    assert.equal(cookie.cookieName, 'FULCRUMID');
    const source = resolved('{ type: source-ip, timeout: 7d, maxEntries: 500 }').persistence;
    assert.ok(source !== false);
    assert.equal(source.cookieName, null);
    assert.equal(source.sourceMask, 32);
    assert.equal(source.sourceMask6, 128);
    assert.equal(source.timeout, 7 * 86_400_000);
    assert.equal(source.maxEntries, 500);
    const session = resolved('{ type: active-cookie, timeout: 0s }').persistence;
    assert.ok(session !== false);
    assert.equal(session.timeout, 0);
  });

  it('reads drainTimeout as a duration, 0s allowed', () => {
    assert.equal(resolved('{ type: source-ip }', 'drainTimeout: 10m').drainTimeout, 600_000);
    assert.equal(resolved('{ type: source-ip }', 'drainTimeout: 0s').drainTimeout, 0);
  });

  const CASES: Array<{ name: string; persistence: string; extra?: string; expected: string[] }> = [
    {
      name: 'header without headerName',
      persistence: '{ type: header }',
      expected: ['5:26 virtualServices[0].persistence.type: persistence type header needs headerName, e.g. headerName: X-Session-Id'],
    },
    {
      name: 'query-item without queryItem',
      persistence: '{ type: query-item }',
      expected: ['5:26 virtualServices[0].persistence.type: persistence type query-item needs queryItem, e.g. queryItem: sid'],
    },
    {
      name: 'a fallback that needs a key the file does not give',
      persistence: '{ type: active-cookie, fallback: header }',
      expected: ['5:51 virtualServices[0].persistence.fallback: persistence type header needs headerName, e.g. headerName: X-Session-Id'],
    },
    {
      name: 'server-cookie without the application cookie name',
      persistence: '{ type: server-cookie }',
      expected: [
        "5:26 virtualServices[0].persistence.type: persistence type server-cookie needs cookieName, the name of the application's session cookie, e.g. cookieName: JSESSIONID",
      ],
    },
    {
      name: 'a key of another type',
      persistence: '{ type: source-ip, headerName: X-Id }',
      expected: [
        '5:49 virtualServices[0].persistence.headerName: headerName applies to persistence type header only, and this is type source-ip; remove it, or change type',
      ],
    },
    {
      name: 'sourceMask without source-ip anywhere',
      persistence: '{ type: active-cookie, sourceMask: 24 }',
      expected: [
        '5:53 virtualServices[0].persistence.sourceMask: sourceMask applies to persistence type source-ip only, and this is type active-cookie; remove it, or change type',
      ],
    },
    {
      name: 'a fallback behind a key every request has',
      persistence: '{ type: url-hash, fallback: source-ip }',
      expected: ['5:46 virtualServices[0].persistence.fallback: fallback source-ip would never apply: every request has a path; remove fallback'],
    },
    {
      name: 'a fallback equal to the type',
      persistence: '{ type: header, headerName: X-Id, fallback: header }',
      expected: [
        '5:62 virtualServices[0].persistence.fallback: fallback header is the same as type; remove fallback, or pick another type for requests without a header key',
      ],
    },
    {
      name: 'a cookie type as fallback',
      persistence: '{ type: header, headerName: X-Id, fallback: active-cookie }',
      expected: ['5:62 virtualServices[0].persistence.fallback: "active-cookie" is not a fallback persistence type'],
    },
    {
      name: 'an unknown type',
      persistence: '{ type: cookie }',
      expected: ['5:26 virtualServices[0].persistence.type: "cookie" is not a persistence type'],
    },
    {
      name: 'a timeout past 7 days',
      persistence: '{ type: source-ip, timeout: 8d }',
      expected: ['5:46 virtualServices[0].persistence.timeout: "8d" is too long; the longest persistence timeout is 7d'],
    },
    {
      name: 'a mask out of range',
      persistence: '{ type: source-ip, sourceMask: 33 }',
      expected: ['5:49 virtualServices[0].persistence.sourceMask: 33 is too large; the maximum is 32'],
    },
    {
      name: 'a query item with a separator in it',
      persistence: '{ type: query-item, queryItem: "sid=1" }',
      expected: ['5:49 virtualServices[0].persistence.queryItem: "sid=1" contains one of & = # ?, which separate query parameters; give the parameter name alone, e.g. sid'],
    },
    {
      name: 'a short cookie secret',
      persistence: '{ type: active-cookie, cookieSecret: abc }',
      expected: ['5:55 virtualServices[0].persistence.cookieSecret: the cookie secret has 3 characters; use at least 16 random ones'],
    },
    {
      name: 'an unknown key',
      persistence: '{ type: source-ip, mask: 24 }',
      expected: ['5:37 virtualServices[0].persistence.mask: unknown key'],
    },
    {
      name: 'a bad drainTimeout',
      persistence: '{ type: source-ip }',
      extra: 'drainTimeout: soon',
      expected: ['6:19 virtualServices[0].drainTimeout: "soon" is not a duration'],
    },
  ];

  for (const c of CASES) {
    it(`reports ${c.name} at its line`, () => {
      const found = problems(c.persistence, c.extra);
      assert.equal(found.length, c.expected.length, found.join('\n'));
      c.expected.forEach((expected, i) => assert.ok(found[i]!.startsWith(expected), `got\n  ${found[i]}\nexpected it to start with\n  ${expected}`));
    });
  }
});
