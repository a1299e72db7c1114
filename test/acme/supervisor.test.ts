// `fulcrum start` with tls.acme and a CA that cannot be reached (the hermetic suite has no
// pebble; interop/acme.test.ts has): the listeners start at once with the self-signed
// placeholder, the failed order is logged with its reason and the back-off, the status API and
// `fulcrum status` show it, and a reload that drops the name deletes the placeholder.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import type { StatusDocument } from '../../src/admin/types.ts';
import { freePort, fulcrumBin, startFulcrum, type Fulcrum } from '../helpers/fulcrum.ts';
import { run } from '../helpers/processes.ts';

describe('fulcrum start with tls.acme, the CA unreachable', () => {
  let fulcrum: Fulcrum | undefined;
  let dir = '';
  let storage = '';
  const ports = { https: 0, http: 0, admin: 0, closed: 0 };

  const config = (names: string[]): string =>
    stringify({
      accessLog: 'off',
      admin: { listen: `127.0.0.1:${ports.admin}` },
      virtualServices: [
        {
          name: 'secure',
          listen: `127.0.0.1:${ports.https}`,
          protocol: 'https',
          realServers: [{ address: '127.0.0.1:9' }],
          tls: { acme: { names, directory: `https://127.0.0.1:${ports.closed}/dir`, storage } },
        },
        { name: 'plain', listen: `127.0.0.1:${ports.http}`, protocol: 'http', redirectToHttps: { port: ports.https } },
      ],
    });

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-acme-start-'));
    storage = path.join(dir, 'acme');
    for (const key of Object.keys(ports) as Array<keyof typeof ports>) ports[key] = await freePort();
    fulcrum = await startFulcrum({ config: config(['www.example.com', 'api.example.com']) });
  });

  after(async () => {
    await fulcrum?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the placeholder at once and logs why the order failed, with the next attempt', async () => {
    const failed = await fulcrum!.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('ACME: could not obtain a certificate for www.example.com'));
    assert.match(String(failed.msg), /ECONNREFUSED/);
    assert.match(String(failed.msg), /clients still get the self-signed placeholder; attempt 2 at /);
    const subject = await new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: ports.https, servername: 'api.example.com', rejectUnauthorized: false });
      socket.once('error', reject);
      socket.once('secureConnect', () => {
        resolve(`${socket.getPeerCertificate().subject.CN}|${socket.getPeerCertificate().subject.O}`);
        socket.end();
      });
    });
    assert.equal(subject, 'api.example.com|Fulcrum ACME placeholder');
  });

  it('shows each name\'s state, failures, next attempt and last error in the status API and fulcrum status', async () => {
    await fulcrum!.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('ACME: could not obtain a certificate for api.example.com'));
    const { stdout } = await run(process.execPath, [fulcrumBin, 'status', '--admin', `127.0.0.1:${ports.admin}`, '--json']);
    const doc = JSON.parse(stdout) as StatusDocument;
    const acme = doc.virtualServices[0]!.certificates!.map((c) => c.acme!);
    assert.deepEqual(acme.map((a) => [a.name, a.state, a.failures, a.issuer, a.notAfter, a.lastRenewal]), [
      ['www.example.com', 'placeholder', 1, null, null, null],
      ['api.example.com', 'placeholder', 1, null, null, null],
    ]);
    for (const a of acme) {
      assert.match(a.lastError ?? '', /ECONNREFUSED/);
      const wait = Date.parse(a.nextAttempt!) - Date.now();
      assert.ok(wait > 50_000 && wait <= 60_000, `next attempt in ${wait} ms: a minute after the failure`);
    }
    const table = await run(process.execPath, [fulcrumBin, 'status', '--admin', `127.0.0.1:${ports.admin}`]);
    assert.match(table.stdout, /^ACME NAME\s+STATE\s+ISSUER\s+EXPIRES\s+RENEWED\s+NEXT ATTEMPT\s+LAST ERROR$/m, table.stdout);
    assert.match(table.stdout, /^www\.example\.com\s+placeholder\s+-\s+-\s+-\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+.*ECONNREFUSED/m, table.stdout);
  });

  it('a reload that drops a name deletes its placeholder (nothing issued, nothing to revoke)', async () => {
    const file = path.join(storage, 'certificates', 'api.example.com.pem');
    assert.ok(existsSync(file));
    assert.equal(await fulcrum!.reload(config(['www.example.com'])), 'reloaded');
    await fulcrum!.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('ACME: api.example.com left the config; deleted its placeholder'));
    assert.equal(existsSync(file), false);
    assert.ok(existsSync(path.join(storage, 'certificates', 'www.example.com.pem')));
  });
});
