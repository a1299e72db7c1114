// The rateLimit config: the sample parses, defaults resolve, and each bad input gives its message
// at its path, as the config loader would print it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { z } from 'zod';
import { issuesFromZod } from '../../src/config/issues.ts';
import { parseRate, RateLimitSchema, RuleRateLimitSchema } from '../../src/config/rate-limit.ts';
import { TrustedProxiesSchema } from '../../src/config/trusted-proxies.ts';
import { serviceLimitSpecs, ruleLimitSpecs } from '../../src/limits/service-limits.ts';

/** Stands in for the virtual service (the architect places rateLimit there). */
const Service = z.strictObject({ rateLimit: RateLimitSchema, trustedProxies: TrustedProxiesSchema });
const Rule = z.strictObject({ rateLimit: RuleRateLimitSchema });

function resolved(yaml: string) {
  const result = Service.safeParse(parse(yaml));
  if (!result.success) throw new Error(JSON.stringify(result.error.issues, null, 2));
  return result.data;
}

/** The problems as "path: message (suggestion)". */
function problems(yaml: string, root: z.ZodType = Service): string[] {
  const data: unknown = parse(yaml);
  const result = root.safeParse(data);
  assert.equal(result.success, false, `expected problems with ${yaml}`);
  if (result.success) return [];
  return issuesFromZod(result.error.issues, root, data).map(
    (i) => `${i.path.join('.')}: ${i.message}${i.suggestion === undefined ? '' : ` (did you mean ${i.suggestion}?)`}`,
  );
}

describe('rateLimit config', () => {
  it('accepts the sample as written', () => {
    const { rateLimit } = resolved('rateLimit: { perClient: { rate: 50/s, burst: 100 } }');
    assert.deepEqual(rateLimit, {
      perClient: { rate: 50, burst: 100 },
      perHeader: null,
      connectionRate: null,
      maxConnectionsPerClient: null,
      maxTrackedClients: 100_000,
      status: 429,
    });
  });

  it('accepts every extension and resolves rates to per second, burst to a second\'s worth', () => {
    const { rateLimit } = resolved(`
rateLimit:
  perClient: { rate: 3000/m }
  perHeader: { name: X-Api-Key, rate: 100/h }
  connectionRate: { rate: 0.5/s, burst: 3 }
  maxConnectionsPerClient: 20
  maxTrackedClients: 10000
  status: 503
`);
    assert.deepEqual(rateLimit, {
      perClient: { rate: 50, burst: 50 },
      perHeader: { name: 'X-Api-Key', rate: 100 / 3600, burst: 1 },
      connectionRate: { rate: 0.5, burst: 3 },
      maxConnectionsPerClient: 20,
      maxTrackedClients: 10_000,
      status: 503,
    });
    assert.deepEqual(serviceLimitSpecs('web', rateLimit!), [
      { id: 'web/perClient', kind: 'rate', rate: 50, burst: 50, maxKeys: 10_000 },
      { id: 'web/perHeader', kind: 'rate', rate: 100 / 3600, burst: 1, maxKeys: 10_000 },
      { id: 'web/connectionRate', kind: 'rate', rate: 0.5, burst: 3, maxKeys: 10_000 },
      { id: 'web/maxConnectionsPerClient', kind: 'concurrency', max: 20, maxKeys: 10_000 },
    ]);
  });

  it('is absent by default; a rule takes perClient and perHeader only', () => {
    assert.equal(resolved('{}').rateLimit, undefined);
    assert.deepEqual(resolved('{}').trustedProxies, []);
    const rule = Rule.parse(parse('rateLimit: { perHeader: { name: X-Api-Key, rate: 5/s } }'));
    assert.deepEqual(rule.rateLimit, { perClient: null, perHeader: { name: 'X-Api-Key', rate: 5, burst: 5 } });
    assert.deepEqual(ruleLimitSpecs('web/rule/api', rule.rateLimit!, 500), [{ id: 'web/rule/api/perHeader', kind: 'rate', rate: 5, burst: 5, maxKeys: 500 }]);
    assert.deepEqual(problems('rateLimit: { perClient: { rate: 5/s }, maxConnectionsPerClient: 3 }', Rule), ['rateLimit.maxConnectionsPerClient: unknown key']);
  });

  const CASES: Array<[string, string, string[]]> = [
    ['a rate without a slash', 'rateLimit: { perClient: { rate: 50/sec } }', ['rateLimit.perClient.rate: "50/sec" is not a rate (did you mean 50/s?)']],
    ['a rate in words', 'rateLimit: { perClient: { rate: 100 requests per minute } }', ['rateLimit.perClient.rate: "100 requests per minute" is not a rate (did you mean 100/m?)']],
    ['rps', 'rateLimit: { perClient: { rate: 20rps } }', ['rateLimit.perClient.rate: "20rps" is not a rate (did you mean 20/s?)']],
    ['a bare number', 'rateLimit: { perClient: { rate: "50" } }', ['rateLimit.perClient.rate: "50" has no time unit']],
    ['a YAML number', 'rateLimit: { perClient: { rate: 50 } }', ['rateLimit.perClient.rate: 50 is not a rate']],
    ['zero', 'rateLimit: { perClient: { rate: 0/s } }', ['rateLimit.perClient.rate: "0/s" lets nothing through; a rate must be above 0']],
    ['too slow', 'rateLimit: { connectionRate: { rate: 0.5/h } }', ['rateLimit.connectionRate.rate: "0.5/h" is too slow; the lowest rate is 1/h (did you mean 1/h?)']],
    ['a day unit', 'rateLimit: { perClient: { rate: 1000/d } }', ['rateLimit.perClient.rate: "1000/d" is not a rate']],
    ['a fractional burst', 'rateLimit: { perClient: { rate: 5/s, burst: 2.5 } }', ['rateLimit.perClient.burst: 2.5 is not an integer']],
    ['a zero burst', 'rateLimit: { perClient: { rate: 5/s, burst: 0 } }', ['rateLimit.perClient.burst: 0 is too small; the minimum is 1']],
    ['a missing rate', 'rateLimit: { perClient: { burst: 10 } }', ['rateLimit.perClient.rate: required key "rate" is missing']],
    ['a misspelt key', 'rateLimit: { perClient: { rate: 5/s, brust: 10 } }', ['rateLimit.perClient.brust: unknown key (did you mean burst?)']],
    ['a header without a name', 'rateLimit: { perHeader: { rate: 5/s } }', ['rateLimit.perHeader.name: required key "name" is missing']],
    ['a header name with a space', 'rateLimit: { perHeader: { name: "X Api Key", rate: 5/s } }', ['rateLimit.perHeader.name: "X Api Key" is not a header name']],
    ['no limit at all', 'rateLimit: { status: 503 }', ['rateLimit: sets no limit; give perClient, perHeader, connectionRate or maxConnectionsPerClient, or remove it']],
    ['a status that is not an error', 'rateLimit: { perClient: { rate: 5/s }, status: 200 }', ['rateLimit.status: 200 is too small; the minimum is 400']],
    ['a cap too small', 'rateLimit: { perClient: { rate: 5/s }, maxTrackedClients: 10 }', ['rateLimit.maxTrackedClients: 10 is too small; the minimum is 100']],
    ['zero connections', 'rateLimit: { maxConnectionsPerClient: 0 }', ['rateLimit.maxConnectionsPerClient: 0 is too small; the minimum is 1']],
    ['a misspelt limit', 'rateLimit: { perclient: { rate: 5/s } }', ['rateLimit.perclient: unknown key (did you mean perClient?)', 'rateLimit: sets no limit; give perClient, perHeader, connectionRate or maxConnectionsPerClient, or remove it']],
    ['a proxy with host bits', 'trustedProxies: [10.0.0.1/8]', ['trustedProxies.0: "10.0.0.1/8" has bits set after the first 8; the network is 10.0.0.0/8 (did you mean 10.0.0.0/8?)']],
    ['a proxy that is no address', 'trustedProxies: [10.0.0.0/8, proxy.example]', ['trustedProxies.1: "proxy.example" is not an IPv4 or IPv6 address']],
  ];
  for (const [name, yaml, expected] of CASES) {
    it(`explains ${name}`, () => assert.deepEqual(problems(yaml), expected));
  }
});

describe('parseRate', () => {
  it('reads /s, /m, /h and decimals into a rate per second', () => {
    assert.deepEqual(parseRate('50/s'), { ok: true, value: 50 });
    assert.deepEqual(parseRate('3000/m'), { ok: true, value: 50 });
    assert.deepEqual(parseRate('0.5/s'), { ok: true, value: 0.5 });
    assert.deepEqual(parseRate('1/h'), { ok: true, value: 1 / 3600 });
    assert.deepEqual(parseRate('10000000/s'), { ok: true, value: 10_000_000 });
  });

  it('guesses what was meant', () => {
    const guesses: Array<[string, string]> = [
      ['50/sec', '50/s'],
      ['50 / s', '50/s'],
      ['50/S', '50/s'],
      ['3000/min', '3000/m'],
      ['100 per hour', '100/h'],
      ['10 req/s', '10/s'],
      ['5 connections/minute', '5/m'],
      ['1,000/s', '1000/s'],
      ['120rpm', '120/m'],
    ];
    for (const [text, suggestion] of guesses) {
      const result = parseRate(text);
      assert.ok(!result.ok && result.suggestion === suggestion, `${text}: ${JSON.stringify(result)}`);
      assert.ok(parseRate(suggestion).ok);
    }
    assert.deepEqual(parseRate('fast'), { ok: false, message: '"fast" is not a rate' });
    assert.deepEqual(parseRate('20000000/s'), { ok: false, message: '"20000000/s" is too fast; the highest rate is 10000000/s' });
  });
});
