// The supervisor's ACME client with a stub CA and a clock moved by hand: first issuance,
// renewal at two thirds of the lifetime, back-off after failures (the certificate in service
// kept), the lock several nodes share, revocation when a name leaves the config (while running
// and across a restart), and what is written to the storage folder. Pebble does the same
// against a real ACME server in interop/acme.test.ts.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { AcmeManager, MAX_SLEEP_MS } from '../../src/acme/manager.ts';
import { BACKOFF_MAX_MS, LOCKED_RETRY_MS } from '../../src/acme/schedule.ts';
import { STALE_MS } from '../../src/acme/lock.ts';
import { certificateFile, certificateMetaFile, lockFile, readMeta, writeCertificate, writeMeta } from '../../src/acme/storage.ts';
import { loadConfigText } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { ManualClock, StubCa } from './stub-ca.ts';

const DAY = 86_400_000;
const dirs: string[] = [];

after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

interface Logged {
  level: string;
  message: string;
}

function recorder(): { log: { info: (f: object, m: string) => void; warn: (f: object, m: string) => void; error: (f: object, m: string) => void }; lines: Logged[] } {
  const lines: Logged[] = [];
  const at = (level: string) => (_fields: object, message: string) => void lines.push({ level, message });
  return { log: { info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

function configFor(storage: string, names: string[], extra: Record<string, unknown> = {}): Config {
  const text = stringify({
    virtualServices: [
      { name: 'secure', listen: '127.0.0.1:8443', protocol: 'https', realServers: [{ address: '127.0.0.1:9001' }], tls: { acme: { names, storage, ...extra } } },
      { name: 'plain', listen: '127.0.0.1:8080', protocol: 'http', redirectToHttps: { port: 8443 } },
    ],
  });
  const loaded = loadConfigText(text, path.join(storage, '..', 'fulcrum.yaml'));
  assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
  return loaded.config;
}

function leafOf(pem: string): X509Certificate {
  const block = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  assert.ok(block, pem);
  return new X509Certificate(block[0]);
}

async function served(storage: string, name: string): Promise<X509Certificate> {
  return leafOf(await readFile(certificateFile(storage, name), 'utf8'));
}

describe('AcmeManager (stub CA, manual clock)', () => {
  let storage: string;
  let clock: ManualClock;
  let ca: StubCa;
  let logged: ReturnType<typeof recorder>;
  let manager: AcmeManager;
  let external: number;
  const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);

  const make = (host = 'node-a'): AcmeManager =>
    new AcmeManager({ log: logged.log, configFile: '/etc/fulcrum/fulcrum.yaml', issuer: ca, clock, host, onExternalChange: () => external++ });

  /** Fire what is due now and wait for the orders it starts. */
  const run = (): Promise<void> => clock.advance(0, () => manager.idle());
  /** The manager idle, or `stop()` true (polled), whichever comes first. */
  const idleOr = async (stop: () => boolean): Promise<void> => {
    let done = false;
    const poll = async (): Promise<void> => {
      while (!done && !stop()) await new Promise((resolve) => setTimeout(resolve, 1));
    };
    await Promise.race([manager.idle(), poll()]);
    done = true;
  };
  /** Let time pass until `to`, every order due meanwhile run at its time. */
  const until = (to: number): Promise<void> => clock.advanceTo(to, () => manager.idle());

  beforeEach(async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-acme-'));
    dirs.push(dir);
    storage = path.join(dir, 'acme');
    clock = new ManualClock(T0);
    ca = new StubCa();
    ca.now = clock.now;
    logged = recorder();
    external = 0;
    manager = make();
  });

  afterEach(async () => {
    await manager.stop();
  });

  it('serves a placeholder, then orders each name once, one at a time, and lists the certificates first', async () => {
    const config = configFor(storage, ['www.example.com', 'api.example.com']);
    const prepared = await manager.prepare(config);
    const tls = (vs: Config['virtualServices'][number]) => (vs.protocol === 'https' ? vs.tls : null);
    const before = tls(prepared.virtualServices[0]!)!;
    assert.deepEqual(
      before.certificates.map((c) => [path.basename(c.cert), c.default]),
      [
        ['www.example.com.pem', true],
        ['api.example.com.pem', false],
      ],
    );
    const placeholder = await served(storage, 'www.example.com');
    assert.match(placeholder.subject, /O=Fulcrum ACME placeholder/);
    assert.equal(placeholder.subjectAltName, 'DNS:www.example.com');
    assert.match(logged.lines[0]!.message, /self-signed placeholder for www\.example\.com, api\.example\.com/);

    await manager.apply(prepared);
    assert.deepEqual(manager.status().map((s) => s.state), ['placeholder', 'placeholder']);
    await run();
    assert.deepEqual(ca.orders.map((o) => o.name), ['www.example.com', 'api.example.com']);
    assert.deepEqual(ca.orders.map((o) => [o.challenge, o.keyType, o.storage]), [
      ['http-01', 'ecdsa', storage],
      ['http-01', 'ecdsa', storage],
    ]);
    const issued = await served(storage, 'www.example.com');
    assert.equal(issued.issuer, 'CN=Stub ACME Root');
    assert.equal(issued.subjectAltName, 'DNS:www.example.com');

    const [status] = manager.status();
    assert.deepEqual(status, {
      name: 'www.example.com',
      virtualServices: ['secure'],
      directory: 'https://acme-v02.api.letsencrypt.org/directory',
      challenge: 'http-01',
      state: 'valid',
      issuer: 'Stub ACME Root',
      notAfter: new Date(T0 + 90 * DAY).toISOString(),
      lastRenewal: new Date(T0).toISOString(),
      nextAttempt: new Date(T0 + 60 * DAY).toISOString(),
      lastError: null,
      failures: 0,
      certFile: certificateFile(storage, 'www.example.com'),
    });
    // Nothing more is due before day 60: the manager only wakes up hourly to look at the clock.
    assert.deepEqual(clock.pending, [T0 + MAX_SLEEP_MS]);

    // The next load lists the issued certificates; the first name stays the default.
    const reloaded = tls((await manager.prepare(config)).virtualServices[0]!)!;
    assert.deepEqual(reloaded.certificates.map((c) => [path.basename(c.cert), c.default]), [
      ['www.example.com.pem', true],
      ['api.example.com.pem', false],
    ]);
  });

  it('renews at two thirds of the lifetime (or renewBefore), and not a moment earlier', async () => {
    await manager.apply(await manager.prepare(configFor(storage, ['www.example.com'])));
    await run();
    const first = await served(storage, 'www.example.com');
    await until(T0 + 60 * DAY - 1);
    assert.equal(ca.orders.length, 1);
    await until(T0 + 60 * DAY);
    assert.equal(ca.orders.length, 2);
    const second = await served(storage, 'www.example.com');
    assert.notEqual(second.fingerprint256, first.fingerprint256);
    assert.equal(second.validToDate.getTime(), T0 + 150 * DAY);
    assert.equal(manager.status()[0]!.nextAttempt, new Date(T0 + 120 * DAY).toISOString());

    // renewBefore: 10d on a 90-day certificate: day 80 of the new one.
    await manager.apply(await manager.prepare(configFor(storage, ['www.example.com'], { renewBefore: '10d' })));
    assert.equal(manager.status()[0]!.nextAttempt, new Date(T0 + 140 * DAY).toISOString());
  });

  it('backs off from 1 minute doubling to 24 hours after failures, and keeps the certificate in service', async () => {
    await manager.apply(await manager.prepare(configFor(storage, ['www.example.com'])));
    await run();
    const inService = (await served(storage, 'www.example.com')).fingerprint256;
    ca.failWith = 'urn:ietf:params:acme:error:connection: Connection refused';
    const due = T0 + 60 * DAY;
    await until(due);
    const waits: number[] = [];
    let at = due;
    for (let i = 0; i < 12; i++) {
      const next = Date.parse(manager.status()[0]!.nextAttempt!);
      waits.push(next - at);
      at = next;
      await until(next);
    }
    assert.deepEqual(
      waits.map((ms) => ms / 60_000),
      [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, BACKOFF_MAX_MS / 60_000],
    );
    const status = manager.status()[0]!;
    assert.equal(status.failures, 13);
    assert.equal(status.state, 'valid');
    assert.match(status.lastError!, /Connection refused/);
    assert.equal((await served(storage, 'www.example.com')).fingerprint256, inService, 'the certificate in service was not touched');
    // The back-off is in the meta file, so a restart keeps it.
    const meta = await readMeta(storage, 'www.example.com');
    assert.equal(meta?.failures, 13);
    assert.equal(meta?.retryAt, status.nextAttempt);
    assert.ok(logged.lines.some((l) => l.level === 'error' && /could not obtain a certificate for www\.example\.com: .*Connection refused; the certificate in service stays/.test(l.message)), JSON.stringify(logged.lines));

    ca.failWith = null;
    await until(Date.parse(status.nextAttempt!));
    const healed = manager.status()[0]!;
    assert.deepEqual([healed.failures, healed.lastError, healed.state], [0, null, 'valid']);
    assert.notEqual((await served(storage, 'www.example.com')).fingerprint256, inService);
  });

  it('a first order that fails leaves the placeholder in service and says so', async () => {
    ca.failWith = 'new order: ECONNREFUSED';
    await manager.apply(await manager.prepare(configFor(storage, ['www.example.com'])));
    await run();
    const status = manager.status()[0]!;
    assert.deepEqual([status.state, status.failures, status.lastError, status.issuer, status.notAfter], ['placeholder', 1, 'new order: ECONNREFUSED', null, null]);
    assert.equal(status.nextAttempt, new Date(T0 + 60_000).toISOString());
    assert.ok(logged.lines.some((l) => /clients still get the self-signed placeholder/.test(l.message)));
  });

  it('orders again when the config asks for another directory or key type (at most one order a minute)', async () => {
    const staging = 'https://acme-staging-v02.api.letsencrypt.org/directory';
    await manager.apply(await manager.prepare(configFor(storage, ['www.example.com'])));
    await run();
    await until(T0 + 10 * DAY);
    await manager.apply(await manager.prepare(configFor(storage, ['www.example.com'], { directory: staging })));
    await run();
    assert.deepEqual(ca.orders.map((o) => o.directory), ['https://acme-v02.api.letsencrypt.org/directory', staging]);
    // Changed again right after: the order waits for the minute since the last one to pass.
    await manager.apply(await manager.prepare(configFor(storage, ['www.example.com'], { directory: staging, keyType: 'rsa' })));
    await run();
    assert.equal(ca.orders.length, 2);
    assert.equal(manager.status()[0]!.nextAttempt, new Date(T0 + 10 * DAY + 60_000).toISOString());
    await until(T0 + 10 * DAY + 60_000);
    assert.deepEqual(ca.orders.map((o) => o.keyType), ['ecdsa', 'ecdsa', 'rsa']);
    assert.equal((await served(storage, 'www.example.com')).publicKey.asymmetricKeyType, 'rsa');
    assert.equal(manager.status()[0]!.nextAttempt, new Date(T0 + 70 * DAY + 60_000).toISOString());
  });

  it('revokes a name that leaves the config and deletes its files; the others stay', async () => {
    await manager.apply(await manager.prepare(configFor(storage, ['www.example.com', 'old.example.com'])));
    await run();
    const old = await readFile(certificateFile(storage, 'old.example.com'), 'utf8');
    await manager.apply(await manager.prepare(configFor(storage, ['www.example.com'])));
    assert.equal(manager.status().find((s) => s.name === 'old.example.com')?.state, 'revoking');
    await run();
    assert.equal(ca.revocations.length, 1);
    const [revocation] = ca.revocations;
    assert.equal(revocation!.reason, 5, 'cessationOfOperation');
    assert.equal(revocation!.settings.directory, 'https://acme-v02.api.letsencrypt.org/directory');
    assert.equal(leafOf(revocation!.chainPem).fingerprint256, leafOf(old).fingerprint256);
    await assert.rejects(stat(certificateFile(storage, 'old.example.com')), { code: 'ENOENT' });
    await assert.rejects(stat(certificateMetaFile(storage, 'old.example.com')), { code: 'ENOENT' });
    assert.deepEqual(manager.status().map((s) => s.name), ['www.example.com']);
    await stat(certificateFile(storage, 'www.example.com'));
  });

  it('a name taken out while its order runs: the order\'s failure is no back-off, and the revocation follows', async () => {
    await manager.apply(await manager.prepare(configFor(storage, ['old.example.com', 'www.example.com'])));
    await run();
    const issued = (await served(storage, 'old.example.com')).serialNumber;
    let open!: () => void;
    ca.gate = new Promise((resolve) => (open = resolve));
    // Day 60: old.example.com's renewal starts and waits at the CA (the gate).
    await clock.advanceTo(T0 + 60 * DAY, () => idleOr(() => ca.orders.length >= 3));
    assert.equal(ca.orders.at(-1)?.name, 'old.example.com');
    assert.equal(manager.status().find((s) => s.name === 'old.example.com')?.state, 'ordering');
    // Taken out of the config meanwhile: its challenges are no longer answered, and the order fails.
    await manager.apply(await manager.prepare(configFor(storage, ['www.example.com'])));
    ca.failOnce = 'http-01 challenge: The key authorization file from the server did not match this challenge';
    ca.gate = null;
    open();
    await manager.idle();
    assert.equal(manager.status().find((s) => s.name === 'old.example.com'), undefined, 'revoked and forgotten, without a back-off');
    assert.deepEqual(ca.revocations.map((r) => leafOf(r.chainPem).serialNumber), [issued]);
    await assert.rejects(stat(certificateFile(storage, 'old.example.com')), { code: 'ENOENT' });
    assert.equal(manager.status()[0]!.state, 'valid', 'www.example.com renewed after');
  });

  it('retries a revocation that fails, keeping the files meanwhile', async () => {
    await manager.apply(await manager.prepare(configFor(storage, ['www.example.com', 'old.example.com'])));
    await run();
    ca.revokeFailWith = 'revoke: ECONNRESET';
    await manager.apply(await manager.prepare(configFor(storage, ['www.example.com'])));
    await run();
    await stat(certificateFile(storage, 'old.example.com'));
    const status = manager.status().find((s) => s.name === 'old.example.com')!;
    assert.deepEqual([status.state, status.lastError, status.failures], ['revoking', 'revoke: ECONNRESET', 1]);
    ca.revokeFailWith = null;
    await until(T0 + 60_000);
    assert.equal(ca.revocations.length, 2);
    await assert.rejects(stat(certificateFile(storage, 'old.example.com')), { code: 'ENOENT' });
  });

  it('a placeholder that leaves the config is deleted without asking the CA', async () => {
    ca.failWith = 'down';
    await manager.apply(await manager.prepare(configFor(storage, ['www.example.com', 'new.example.com'])));
    await run();
    await manager.apply(await manager.prepare(configFor(storage, ['www.example.com'])));
    await run();
    assert.equal(ca.revocations.length, 0);
    await assert.rejects(stat(certificateFile(storage, 'new.example.com')), { code: 'ENOENT' });
  });

  it('revokes at start what this node ordered for this config file and the config no longer lists; leaves other nodes\' alone', async () => {
    await manager.apply(await manager.prepare(configFor(storage, ['www.example.com', 'old.example.com', 'theirs.example.com'])));
    await run();
    // theirs.example.com was ordered by another node (a shared folder).
    const meta = (await readMeta(storage, 'theirs.example.com'))!;
    await writeMeta(storage, { ...meta, owner: { host: 'node-b', configFile: '/etc/fulcrum/fulcrum.yaml' } });
    await manager.stop();

    // Fulcrum restarts with a config that lists www.example.com only.
    manager = make();
    await manager.apply(await manager.prepare(configFor(storage, ['www.example.com'])));
    await run();
    assert.deepEqual(ca.revocations.map((r) => leafOf(r.chainPem).subjectAltName), ['DNS:old.example.com']);
    await assert.rejects(stat(certificateFile(storage, 'old.example.com')), { code: 'ENOENT' });
    await stat(certificateFile(storage, 'theirs.example.com'));
    assert.ok(logged.lines.some((l) => /theirs\.example\.com, which the config does not list; kept/.test(l.message)));
    // Nothing was ordered again: the restart found the issued certificate on disk.
    assert.equal(ca.orders.filter((o) => o.name === 'www.example.com').length, 1);
  });

  it('several nodes: one orders under the lock; the other waits, then serves what the first wrote', async () => {
    const config = configFor(storage, ['www.example.com']);
    await manager.apply(await manager.prepare(config));
    // Node B holds the lock (it is ordering right now).
    await writeFile(path.join(await mkdirp(path.join(storage, 'locks')), 'www.example.com.lock'), JSON.stringify({ host: 'node-b', pid: 4242, at: T0 }));
    await run();
    assert.equal(ca.orders.length, 0);
    const waiting = manager.status()[0]!;
    assert.equal(waiting.state, 'locked');
    assert.equal(waiting.nextAttempt, new Date(T0 + LOCKED_RETRY_MS).toISOString());
    assert.ok(logged.lines.some((l) => /being ordered by node-b \(pid 4242\)/.test(l.message)));

    // Node B writes its certificate and lets go of the lock.
    const fromB = await ca.certificateFor('www.example.com');
    await writeCertificate(storage, 'www.example.com', fromB.keyPem, fromB.chainPem);
    await rm(lockFile(storage, 'www.example.com'));
    await until(T0 + LOCKED_RETRY_MS);
    assert.equal(ca.orders.length, 0, 'nothing ordered twice');
    assert.equal(external, 1, 'a reload so that the workers serve the certificate node B wrote');
    const after = manager.status()[0]!;
    assert.equal(after.state, 'valid');
    assert.equal(after.nextAttempt, new Date(T0 + 60 * DAY).toISOString());
    await assert.rejects(stat(lockFile(storage, 'www.example.com')), { code: 'ENOENT' });
  });

  it('takes over the lock of a node that died holding it', async () => {
    await writeFile(path.join(await mkdirp(path.join(storage, 'locks')), 'www.example.com.lock'), JSON.stringify({ host: 'node-b', pid: 4242, at: T0 - STALE_MS - 1 }));
    await manager.apply(await manager.prepare(configFor(storage, ['www.example.com'])));
    await run();
    assert.equal(ca.orders.length, 1);
    assert.deepEqual(await readdir(path.join(storage, 'locks')), []);
  });

  it('writes the key and certificate as one private file, atomically, with no temporary file left', async () => {
    await manager.apply(await manager.prepare(configFor(storage, ['www.example.com'])));
    await run();
    const file = certificateFile(storage, 'www.example.com');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(certificateMetaFile(storage, 'www.example.com'))).mode & 0o777, 0o600);
    assert.equal((await stat(storage)).mode & 0o777, 0o700);
    const text = await readFile(file, 'utf8');
    assert.match(text, /^-----BEGIN PRIVATE KEY-----[\s\S]+-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----/);
    assert.deepEqual((await readdir(path.join(storage, 'certificates'))).sort(), ['www.example.com.json', 'www.example.com.pem']);
    const meta = JSON.parse(await readFile(certificateMetaFile(storage, 'www.example.com'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(meta['owner'], { host: 'node-a', configFile: '/etc/fulcrum/fulcrum.yaml' });
    assert.equal(meta['directory'], 'https://acme-v02.api.letsencrypt.org/directory');
  });

  it('refuses what the CA sends when it is not for the name, and keeps what is served', async () => {
    await manager.apply(await manager.prepare(configFor(storage, ['www.example.com'])));
    const wrong = await ca.certificateFor('evil.example.net');
    ca.issue = async () => wrong;
    await run();
    const status = manager.status()[0]!;
    assert.equal(status.state, 'placeholder');
    assert.match(status.lastError!, /names evil\.example\.net, not www\.example\.com/);
  });
});

async function mkdirp(dir: string): Promise<string> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  return dir;
}
