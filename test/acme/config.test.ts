// tls.acme as `fulcrum check` sees it: the defaults, where storage goes, and every refusal with
// the key it is about and what to write instead (wildcards, addresses, unknown values, a
// challenge nobody can answer, one name ordered two ways).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { LETS_ENCRYPT_DIRECTORY, parseAcmeName } from '../../src/config/acme.ts';
import { formatProblems } from '../../src/config/format.ts';
import { loadConfigText, type LoadResult } from '../../src/config/load.ts';
import type { ConfigProblem } from '../../src/config/problem.ts';
import type { Config } from '../../src/config/schema.ts';
import { ErrorCode } from '../../src/errors.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-acme-config-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function https(tls: Record<string, unknown>, more: Record<string, unknown>[] = [{ name: 'plain', listen: '127.0.0.1:8080', protocol: 'http', redirectToHttps: { port: 8443 } }]): string {
  return stringify({
    virtualServices: [{ name: 'secure', listen: '127.0.0.1:8443', protocol: 'https', realServers: [{ address: '127.0.0.1:9001' }], tls }, ...more],
  });
}

function load(text: string, file = path.join(dir, 'fulcrum.yaml')): LoadResult {
  return loadConfigText(text, file);
}

function ok(result: LoadResult): Config {
  assert.ok(result.ok, result.ok ? '' : formatProblems(result.problems));
  return result.config;
}

function problems(result: LoadResult): ConfigProblem[] {
  assert.equal(result.ok, false, 'expected the config to be refused');
  return result.ok ? [] : result.problems;
}

function acmeOf(config: Config): unknown {
  const vs = config.virtualServices[0]!;
  assert.equal(vs.protocol, 'https');
  return vs.protocol === 'https' ? vs.tls.acme : undefined;
}

describe('tls.acme in the config', () => {
  it('needs only names; everything else has a default, storage next to the config file', () => {
    const config = ok(load(https({ acme: { names: ['WWW.Example.com.', 'example.com'] } })));
    assert.deepEqual(acmeOf(config), {
      names: ['www.example.com', 'example.com'],
      email: undefined,
      directory: LETS_ENCRYPT_DIRECTORY,
      ca: undefined,
      challenge: 'http-01',
      keyType: 'ecdsa',
      storage: path.join(dir, 'acme'),
      renewBefore: undefined,
    });
    const vs = config.virtualServices[0]!;
    assert.deepEqual(vs.protocol === 'https' ? vs.tls.certificates : null, [], 'no certificate files needed beside acme');
  });

  it('takes every key: an explicit storage from the working directory, renewBefore in ms, the directory CA read at load', async () => {
    const ca = path.join(dir, 'pebble.minica.pem');
    const { readFileSync } = await import('node:fs');
    await writeFile(ca, readFileSync(new URL('../fixtures/tls/root-ca.pem', import.meta.url)));
    const config = ok(
      load(
        https({
          acme: { names: ['www.example.com'], email: 'ops@example.com', directory: 'https://127.0.0.1:14000/dir', ca, challenge: 'tls-alpn-01', keyType: 'rsa', storage: 'state/acme', renewBefore: '30d' },
        }),
      ),
    );
    assert.deepEqual(acmeOf(config), {
      names: ['www.example.com'],
      email: 'ops@example.com',
      directory: 'https://127.0.0.1:14000/dir',
      ca,
      challenge: 'tls-alpn-01',
      keyType: 'rsa',
      storage: path.resolve('state/acme'),
      renewBefore: 30 * 86_400_000,
    });
  });

  it('a config that came from no file puts the default storage in the working directory', () => {
    const config = ok(loadConfigText(https({ acme: { names: ['www.example.com'] } }), 'fulcrum.yaml'));
    assert.equal((acmeOf(config) as { storage: string }).storage, path.resolve('acme'));
  });

  for (const [name, message] of [
    ['*.example.com', /"\*\.example\.com" is a wildcard: ACME issues wildcard certificates only through the DNS-01 challenge, which Fulcrum does not answer; list each name .* or put a wildcard certificate obtained elsewhere under tls\.certificates/],
    ['192.0.2.10', /"192\.0\.2\.10" is an IP address; acme\.names takes DNS names/],
    ['2001:db8::1', /is an IP address/],
    ['localhost', /"localhost" is a single label: a CA issues only for fully qualified names such as localhost\.example\.com/],
    ['exa mple.com', /"exa mple\.com" is not a DNS name: labels of letters, digits and hyphens separated by dots/],
    ['-bad.example.com', /is not a DNS name/],
    [`${'a'.repeat(64)}.example.com`, /is not a DNS name/],
  ] as const) {
    it(`refuses ${JSON.stringify(name)} with what to do instead`, () => {
      const [problem, ...rest] = problems(load(https({ acme: { names: ['www.example.com', name] } })));
      assert.equal(rest.length, 0, JSON.stringify(rest));
      assert.equal(problem!.path, 'virtualServices[0].tls.acme.names[1]');
      assert.match(problem!.message, message);
    });
  }

  it('checks parseAcmeName directly for case and the trailing dot', () => {
    assert.deepEqual(parseAcmeName(' Www.Example.COM. '), { ok: true, value: 'www.example.com' });
  });

  it('refuses a name listed twice', () => {
    const [problem] = problems(load(https({ acme: { names: ['www.example.com', 'WWW.example.com'] } })));
    assert.equal(problem!.path, 'virtualServices[0].tls.acme.names[1]');
    assert.match(problem!.message, /www\.example\.com is listed twice/);
  });

  it('names the allowed values of challenge and keyType, and the form of a directory', () => {
    const found = problems(load(https({ acme: { names: ['www.example.com'], challenge: 'dns-01', keyType: 'ed25519', directory: 'http://insecure.example/dir' } })));
    const byPath = new Map(found.map((p) => [p.path, p]));
    assert.match(byPath.get('virtualServices[0].tls.acme.challenge')!.allowed ?? '', /http-01, tls-alpn-01/);
    assert.match(byPath.get('virtualServices[0].tls.acme.keyType')!.allowed ?? '', /ecdsa, rsa/);
    assert.match(byPath.get('virtualServices[0].tls.acme.directory')!.allowed ?? '', /an https:\/\/ URL/);
  });

  it('refuses unknown keys with a suggestion', () => {
    const [problem] = problems(load(https({ acme: { names: ['www.example.com'], emial: 'a@b.c' } })));
    assert.equal(problem!.code, ErrorCode.CONFIG_UNKNOWN_KEY);
    assert.equal(problem!.suggestion, 'email');
  });

  it('refuses an empty list, and more than 100 names', () => {
    assert.match(problems(load(https({ acme: { names: [] } })))[0]!.path, /tls\.acme\.names$/);
    const many = Array.from({ length: 101 }, (_, i) => `n${i}.example.com`);
    assert.match(problems(load(https({ acme: { names: many } })))[0]!.path, /tls\.acme\.names$/);
  });

  it('names a directory CA file that cannot be read, with its error code', () => {
    const [problem] = problems(load(https({ acme: { names: ['www.example.com'], ca: path.join(dir, 'missing.pem') } })));
    assert.equal(problem!.path, 'virtualServices[0].tls.acme.ca');
    assert.match(problem!.message, /cannot read .*missing\.pem: ENOENT \(FULCRUM_ERR_TLS_READ\)/);
  });

  it('needs certificates, acme, or both', () => {
    const [problem] = problems(load(https({})));
    assert.equal(problem!.path, 'virtualServices[0].tls');
    assert.match(problem!.message, /tls needs certificates, acme, or both/);
  });

  it('refuses http-01 when no http virtual service can answer it, and says what to add', () => {
    const [problem] = problems(load(https({ acme: { names: ['www.example.com'] } }, [])));
    assert.equal(problem!.path, 'virtualServices[0].tls.acme.challenge');
    assert.equal(problem!.code, ErrorCode.CONFIG_MISSING_KEY);
    assert.match(problem!.message, /the http-01 challenge is answered by an http virtual service, and this config has none: add one on port 80 .* or use challenge: tls-alpn-01/);
    // tls-alpn-01 is answered by the https service itself.
    ok(load(https({ acme: { names: ['www.example.com'], challenge: 'tls-alpn-01' } }, [])));
  });

  it('refuses one name ordered two ways by two services, and allows it ordered alike', () => {
    const second = (acme: Record<string, unknown>): Record<string, unknown> => ({ name: 'secure6', listen: '[::1]:8443', protocol: 'https', realServers: [{ address: '127.0.0.1:9001' }], tls: { acme } });
    const plain = { name: 'plain', listen: '127.0.0.1:8080', protocol: 'http', redirectToHttps: { port: 8443 } };
    ok(load(https({ acme: { names: ['www.example.com'] } }, [plain, second({ names: ['www.example.com'] })])));
    const [problem] = problems(load(https({ acme: { names: ['www.example.com'] } }, [plain, second({ names: ['www.example.com'], keyType: 'rsa' })])));
    assert.equal(problem!.code, ErrorCode.CONFIG_CONFLICT);
    assert.equal(problem!.path, 'virtualServices[2].tls.acme.names[0]');
    assert.match(problem!.message, /www\.example\.com is also ordered by virtual service "secure" with another keyType: one certificate per name/);
    assert.equal(problem!.related?.path, 'virtualServices[0].tls.acme');
  });
});
