// OCSP stapling against OpenSSL on both ends: a test CA made with `openssl req` and `openssl ca`
// issues a leaf whose Authority Information Access names an `openssl ocsp` responder (answering
// from the CA's index file, signing with the CA, responses valid one minute). Fulcrum (two
// workers) fetches from it and staples; `openssl s_client -status` prints the staple
// ("OCSP Response Status: successful", "Cert Status: good", for serial 5000). Then the
// certificate is revoked in the index (and the responder restarted to read it): at the next
// refresh (halfway through the minute) Fulcrum logs it as revoked and s_client gets no staple.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { freePort, startFulcrum, type Fulcrum } from '../test/helpers/fulcrum.ts';
import { run, startProcess, teardown, type ManagedProcess } from '../test/helpers/processes.ts';
import { peer, requirePeers } from './peers.ts';

const NAME = 'www.ocsp.fulcrum.test';

/** `openssl s_client -status` against Fulcrum: what it printed about the staple. */
async function sClientStatus(port: number, caFile: string): Promise<string> {
  const { stdout, stderr } = await run(peer('openssl'), ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', NAME, '-status', '-CAfile', caFile, '-verify_return_error'], {
    timeoutMs: 20_000,
    allowFailure: true,
  });
  return `${stdout}\n--- stderr ---\n${stderr}`;
}

/**
 * `openssl ocsp` answering from the CA's index, signing with the CA; -nmin 1: every response is
 * valid a minute, so Fulcrum asks again every 30 s. Resolves once it listens (it says so): not
 * waitForPort, whose probe connection, opened and closed without a request, wedges openssl ocsp
 * 3.0 (it answers nothing after it; measured). It reads the index once: a revocation needs a restart.
 */
function startResponder(dir: string, port: number): Promise<ManagedProcess> {
  return new Promise((resolve, reject) => {
    let said = '';
    let listening = false;
    const hear = (chunk: string): void => {
      said += chunk;
      if (listening || !said.includes('waiting for OCSP client connections')) return;
      listening = true;
      resolve(proc);
    };
    const file = (name: string): string => path.join(dir, name);
    const proc = startProcess('openssl ocsp', peer('openssl'), ['ocsp', '-index', file('index.txt'), '-port', String(port), '-rsigner', file('ca.pem'), '-rkey', file('ca.key'), '-CA', file('ca.pem'), '-nmin', '1'], {
      cwd: dir,
      onStdout: hear,
      onStderr: hear,
    });
    void proc.exited.then((exit) => {
      if (!listening) reject(new Error(`openssl ocsp exited (${exit.code ?? exit.signal}) before listening:\n${said}`));
    });
  });
}

describe('OCSP stapling with openssl ocsp as the responder and openssl s_client as the client', () => {
  let dir = '';
  let responder: ManagedProcess | undefined;
  let fulcrum: Fulcrum | undefined;
  let httpsPort = 0;
  let ocspPort = 0;
  const file = (name: string): string => path.join(dir, name);
  const openssl = (...args: string[]): Promise<unknown> => run(peer('openssl'), args, { cwd: dir });

  before(async () => {
    requirePeers('openssl');
    dir = await mkdtemp(path.join(tmpdir(), 'interop-ocsp-'));
    ocspPort = await freePort();
    httpsPort = await freePort();
    await writeFile(
      file('ca.cnf'),
      [
        '[req]',
        'distinguished_name = dn',
        '[dn]',
        '[ca_ext]',
        'basicConstraints = critical, CA:TRUE',
        'keyUsage = critical, keyCertSign, cRLSign',
        'subjectKeyIdentifier = hash',
        '[leaf_ext]',
        'basicConstraints = critical, CA:FALSE',
        'keyUsage = critical, digitalSignature',
        'extendedKeyUsage = serverAuth',
        `subjectAltName = DNS:${NAME}`,
        `authorityInfoAccess = OCSP;URI:http://127.0.0.1:${ocspPort}/`,
        '[ca]',
        'default_ca = test_ca',
        '[test_ca]',
        `database = ${file('index.txt')}`,
        `new_certs_dir = ${dir}`,
        `serial = ${file('serial')}`,
        'default_md = sha256',
        'default_days = 2',
        'policy = any_name',
        'unique_subject = no',
        '[any_name]',
        'commonName = supplied',
        '',
      ].join('\n'),
    );
    await writeFile(file('index.txt'), '');
    await writeFile(file('serial'), '5000\n');
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    await openssl('req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-subj', '/CN=Fulcrum Interop OCSP CA', '-days', '2', '-config', file('ca.cnf'), '-extensions', 'ca_ext');
    await openssl('req', '-new', ...ec, '-keyout', file('leaf.key'), '-out', file('leaf.csr'), '-subj', `/CN=${NAME}`, '-config', file('ca.cnf'));
    await openssl('ca', '-batch', '-config', file('ca.cnf'), '-cert', file('ca.pem'), '-keyfile', file('ca.key'), '-in', file('leaf.csr'), '-out', file('leaf.pem'), '-extensions', 'leaf_ext', '-notext');
    // The file Fulcrum serves: the leaf, then its issuer (which the OCSP request names).
    await run('sh', ['-c', `cat leaf.pem ca.pem > chain.pem`], { cwd: dir });
    responder = await startResponder(dir, ocspPort);
    fulcrum = await startFulcrum({
      workers: 2,
      config: stringify({
        accessLog: 'off',
        virtualServices: [
          {
            name: 'secure',
            listen: `127.0.0.1:${httpsPort}`,
            protocol: 'https',
            realServers: [{ address: '127.0.0.1:9' }],
            tls: { certificates: [{ cert: file('chain.pem'), key: file('leaf.key') }], ocsp: { enabled: true } },
          },
        ],
      }),
    });
  });

  after(async () => {
    await teardown(
      () => fulcrum?.stop(),
      () => responder?.stop(),
      () => rm(dir, { recursive: true, force: true }),
    );
  });

  it('staples a response s_client verifies: successful, good', async () => {
    await fulcrum!.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('OCSP: stapling a good response for'));
    // The supervisor logs before the workers have the response over IPC: a few handshakes at most.
    let out = '';
    for (let attempt = 0; attempt < 20; attempt++) {
      out = await sClientStatus(httpsPort, file('ca.pem'));
      if (out.includes('OCSP Response Status: successful')) break;
    }
    assert.match(out, /OCSP Response Status: successful \(0x0\)/, out);
    assert.match(out, /Cert Status: good/, out);
    assert.match(out, /Serial Number: 5000/, out);
    assert.match(out, /Verify return code: 0 \(ok\)/, out);
  });

  it('stops stapling once the certificate is revoked, at the next refresh', { timeout: 120_000 }, async () => {
    const from = fulcrum!.logs.length;
    await openssl('ca', '-config', file('ca.cnf'), '-cert', file('ca.pem'), '-keyfile', file('ca.key'), '-revoke', file('leaf.pem'), '-crl_reason', 'keyCompromise');
    await responder!.stop();
    responder = await startResponder(dir, ocspPort);
    // The next refresh comes within 30 s of the last (-nmin 1).
    const revoked = await fulcrum!.waitForLog((l) => l['code'] === 'FULCRUM_ERR_OCSP_REVOKED', { from, timeoutMs: 100_000 });
    assert.match(String(revoked.msg), /chain\.pem \(serial 5000\) is revoked since .* \(keyCompromise\)/);
    let out = '';
    for (let attempt = 0; attempt < 20; attempt++) {
      out = await sClientStatus(httpsPort, file('ca.pem'));
      if (out.includes('OCSP response: no response sent')) break;
    }
    assert.match(out, /OCSP response: no response sent/, out);
    assert.doesNotMatch(out, /Cert Status: good/, out);
  });
});
