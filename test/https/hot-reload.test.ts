// Certificates replaced on disk while traffic runs, with two worker processes: the supervisor
// sees the rename (as certbot and acme.sh do it), reloads, new handshakes get the new
// certificate, an open connection carries on, and no request fails. Also: an expired
// certificate is served but warned about with its date.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { execFile } from 'node:child_process';
import type { StatusDocument } from '../../src/admin/types.ts';
import { freePort, fulcrumBin, startBackends, startFulcrum, type Backends, type Fulcrum } from '../helpers/fulcrum.ts';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'tls');
const ROOT_CA = readFileSync(path.join(FIXTURES, 'root-ca.pem'));

function get(port: number, agent: https.Agent | false): Promise<{ status: number; names: string; socket: tls.TLSSocket }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/', ca: ROOT_CA, agent, checkServerIdentity: () => undefined, headers: { Host: 'www.surveyor.lab' } }, (res) => {
      const socket = res.socket as tls.TLSSocket;
      const names = socket.getPeerCertificate().subjectaltname ?? '';
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, names, socket }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('certificate files replaced on disk (2 workers)', () => {
  let dir: string;
  let backends: Backends;
  let fulcrum: Fulcrum;
  let port: number;
  let adminPort: number;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'fulcrum-certs-'));
    copyFileSync(path.join(FIXTURES, 'www.surveyor.lab.rsa.pem'), path.join(dir, 'site.pem'));
    copyFileSync(path.join(FIXTURES, 'www.surveyor.lab.rsa.key'), path.join(dir, 'site.key'));
    backends = await startBackends(1);
    port = await freePort();
    adminPort = await freePort();
    fulcrum = await startFulcrum({
      workers: 2,
      config: stringify({
        accessLog: 'off',
        admin: { listen: `127.0.0.1:${adminPort}` },
        virtualServices: [
          {
            name: 'secure',
            listen: `127.0.0.1:${port}`,
            protocol: 'https',
            realServers: [{ address: backends.servers[0]!.address }],
            tls: {
              certificates: [
                { cert: path.join(dir, 'site.pem'), key: path.join(dir, 'site.key') },
                { cert: path.join(FIXTURES, 'expired.pem'), key: path.join(FIXTURES, 'expired.key') },
              ],
            },
          },
        ],
      }),
    });
  });
  after(async () => {
    await fulcrum?.stop();
    await backends?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('warns about the expired certificate with its date, and serves', async () => {
    const warning = await fulcrum.waitForLog((l) => l.code === 'FULCRUM_WARN_TLS_EXPIRED');
    assert.match(String(warning.msg), /expired on \d{4}-\d{2}-\d{2}/);
    assert.match(String(warning.file), /expired\.pem$/);
    assert.equal((await get(port, false)).status, 200);
  });

  it('serves the new certificate to new handshakes, keeps open connections, fails no request', async () => {
    // An open keep-alive connection, spoken by hand so that no client library decides to close it.
    const open = tls.connect({ host: '127.0.0.1', port, servername: 'www.surveyor.lab', ca: ROOT_CA });
    await once(open, 'secureConnect');
    let closed = false;
    open.on('close', () => (closed = true));
    const ask = async (): Promise<string> => {
      open.write('GET / HTTP/1.1\r\nHost: www.surveyor.lab\r\n\r\n');
      let text = '';
      while (!/\r\n\r\n[\s\S]*\n$/.test(text)) text += ((await once(open, 'data'))[0] as Buffer).toString('latin1');
      return text;
    };
    assert.match(await ask(), /^HTTP\/1\.1 200 /);
    const names = open.getPeerCertificate().subjectaltname ?? '';
    assert.match(names, /www\.surveyor\.lab/);

    // New connections all through the change.
    let failures = 0;
    let done = 0;
    let stop = false;
    const load = (async () => {
      while (!stop) {
        try {
          if ((await get(port, false)).status !== 200) failures++;
        } catch {
          failures++;
        }
        done++;
      }
    })();

    try {
      const from = fulcrum.logs.length;
      // As certbot does: write aside, then rename over.
      copyFileSync(path.join(FIXTURES, 'wildcard.bussines.lab.key'), path.join(dir, 'site.key.new'));
      copyFileSync(path.join(FIXTURES, 'wildcard.bussines.lab.pem'), path.join(dir, 'site.pem.new'));
      renameSync(path.join(dir, 'site.key.new'), path.join(dir, 'site.key'));
      renameSync(path.join(dir, 'site.pem.new'), path.join(dir, 'site.pem'));
      await fulcrum.waitForLog((l) => l.msg === 'a certificate file changed: reloading', { from });
      await fulcrum.waitForLog((l) => l.msg === 'reloaded' || l.msg === 'reload failed', { from });
      assert.equal(fulcrum.logs.slice(from).some((l) => l.msg === 'reload failed'), false, 'the reload succeeded');
      // Both workers have the new certificate: several new connections, spread by the kernel.
      for (let i = 0; i < 8; i++) assert.match((await get(port, false)).names, /\*\.bussines\.lab/);
    } finally {
      stop = true;
      await load;
    }
    assert.equal(failures, 0, `${failures} of ${done} requests failed during the change`);
    assert.ok(done > 0);

    // The status view says what is served now, and the CLI shows it.
    const doc = (await (await fetch(`http://127.0.0.1:${adminPort}/api/v1/status`)).json()) as StatusDocument;
    const certificates = doc.virtualServices.find((v) => v.name === 'secure')!.certificates!;
    assert.deepEqual(
      certificates.map((c) => [c.names, c.keyType, c.isDefault]),
      [
        [['*.bussines.lab'], 'rsa', true],
        [['expired.surveyor.lab'], 'rsa', false],
      ],
    );
    assert.match(certificates[1]!.warnings!.join(' '), /expired on 2024-01-01/);
    const cli = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [fulcrumBin, 'status', '--admin', `http://127.0.0.1:${adminPort}`], { timeout: 20_000 }, (error, stdout) => (error === null ? resolve(stdout) : reject(error))),
    );
    assert.match(cli, /^VIRTUAL SERVICE\s+CERTIFICATE\s+KEY\s+EXPIRES\s+ISSUER\s+NOTE$/m);
    assert.match(cli, /^secure\s+\*\.bussines\.lab\s+rsa\s+2125-01-01\s+.+\s+default$/m);
    assert.match(cli, /^secure\s+expired\.surveyor\.lab\s+rsa\s+2024-01-01\s+.*expired on 2024-01-01/m);

    assert.equal(closed, false, 'the open connection carried on');
    assert.match(await ask(), /^HTTP\/1\.1 200 /, 'and still serves');
    assert.equal(open.getPeerCertificate().subjectaltname, names, 'with the certificate it began with');
    open.destroy();
  });
});
