// OCSP stapling end to end (`fulcrum start`, two workers): the supervisor fetches from the
// certificate's own responder (a test responder over HTTP) and every worker staples what it got;
// a responder that never answers holds up neither the start nor a handshake; stapling is off
// unless asked for; a certificate without a responder is a warning at load naming it; the state
// is in GET /api/v1/status and `fulcrum status`.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import type { StatusDocument } from '../../src/admin/types.ts';
import { freePort, fulcrumBin, startFulcrum, type Fulcrum } from '../helpers/fulcrum.ts';
import { run } from '../helpers/processes.ts';
import { createPki, type Issued, type TestPki } from './ocsp-pki.ts';
import { TestResponder } from './ocsp-responder.ts';

/** A handshake asking for a status: the staple (null: none) and how long the handshake took. */
async function handshake(port: number, servername: string): Promise<{ staple: Buffer | null; ms: number }> {
  const started = performance.now();
  const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, requestOCSP: true });
  let staple: Buffer | null = null;
  socket.on('OCSPResponse', (response: Buffer | null) => (staple = response));
  await once(socket, 'secureConnect');
  const ms = performance.now() - started;
  socket.destroy();
  return { staple, ms };
}

describe('fulcrum start with tls.ocsp', () => {
  let fulcrum: Fulcrum | undefined;
  let pki: TestPki;
  let good: TestResponder;
  let silent: TestResponder;
  const ports = { stapled: 0, slow: 0, off: 0, admin: 0 };
  const leaves: Record<'stapled' | 'slow' | 'off' | 'bare', Issued> = {} as never;
  const files: Record<keyof typeof leaves, { cert: string; key: string }> = {} as never;
  let silentAsked: Promise<void>;

  before(async () => {
    pki = await createPki();
    good = await TestResponder.start({ signer: pki.ca });
    silent = await TestResponder.start({ signer: pki.ca }, 'hang');
    silentAsked = silent.nextRequest();
    leaves.stapled = await pki.leaf('stapled.ocsp.test', '5701', good.url);
    leaves.slow = await pki.leaf('slow.ocsp.test', '5702', good.url);
    leaves.off = await pki.leaf('off.ocsp.test', '5703', good.url);
    leaves.bare = await pki.leaf('bare.ocsp.test', '5704', null);
    for (const name of Object.keys(leaves) as Array<keyof typeof leaves>) files[name] = pki.files(leaves[name], name);
    for (const key of Object.keys(ports) as Array<keyof typeof ports>) ports[key] = await freePort();
    const service = (name: string, port: number, tlsConfig: object): object => ({ name, listen: `127.0.0.1:${port}`, protocol: 'https', realServers: [{ address: '127.0.0.1:9' }], tls: tlsConfig });
    fulcrum = await startFulcrum({
      workers: 2,
      config: stringify({
        accessLog: 'off',
        admin: { listen: `127.0.0.1:${ports.admin}` },
        virtualServices: [
          service('stapled', ports.stapled, { certificates: [files.stapled, files.bare], alpn: ['h2', 'http/1.1'], ocsp: { enabled: true } }),
          // The service's responder overrides the certificate's, and this one never answers.
          service('slow', ports.slow, { certificates: [files.slow], ocsp: { enabled: true, responder: silent.url, timeout: '60s' } }),
          service('off', ports.off, { certificates: [files.off] }),
        ],
      }),
    });
  });

  after(async () => {
    await fulcrum?.stop();
    await Promise.all([good?.close(), silent?.close()]);
  });

  it('staples the response it fetched in every worker, to every client that asks', async () => {
    await fulcrum!.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith(`OCSP: stapling a good response for ${files.stapled.cert}`));
    // The log line is the supervisor's; each worker gets the response over IPC just after.
    const deadline = performance.now() + 5000;
    let seen = await handshake(ports.stapled, 'stapled.ocsp.test');
    while (seen.staple === null && performance.now() < deadline) seen = await handshake(ports.stapled, 'stapled.ocsp.test');
    assert.notEqual(seen.staple, null, 'no staple within 5 s of the fetch');
    const all = await Promise.all(Array.from({ length: 12 }, () => handshake(ports.stapled, 'stapled.ocsp.test')));
    assert.equal(all.filter((h) => h.staple === null).length, 0, 'a worker staples nothing');
  });

  it('serves HTTP/2 on a stapled connection', async () => {
    const session = http2.connect(`https://127.0.0.1:${ports.stapled}`, { servername: 'stapled.ocsp.test', rejectUnauthorized: false, requestOCSP: true });
    let staple: Buffer | null = null;
    session.socket.on('OCSPResponse', (response: Buffer | null) => (staple = response));
    const stream = session.request({ ':path': '/' });
    const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
    stream.resume();
    await once(stream, 'end');
    session.close();
    assert.notEqual(staple, null);
    // The real server (port 9) refuses: Fulcrum's own answer, over HTTP/2 all the same.
    assert.ok(Number(headers[':status']) >= 500, String(headers[':status']));
  });

  it('neither the start nor a handshake waits for a responder that never answers', async () => {
    await silentAsked;
    const { staple, ms } = await handshake(ports.slow, 'slow.ocsp.test');
    assert.equal(staple, null);
    assert.ok(ms < 1000, `the handshake took ${ms} ms`);
  });

  it('staples nothing on a service without tls.ocsp', async () => {
    assert.equal((await handshake(ports.off, 'off.ocsp.test')).staple, null);
  });

  it('warns at load of a certificate that names no responder, naming the file', async () => {
    const warning = await fulcrum!.waitForLog((l) => l['code'] === 'FULCRUM_WARN_OCSP_NO_RESPONDER');
    assert.equal(warning['file'], files.bare.cert);
    assert.match(String(warning.msg), /^virtual service "stapled": OCSP stapling is on, but .*bare\.pem names no OCSP responder/);
  });

  it('shows each certificate\'s OCSP state in the status API and fulcrum status', async () => {
    const { stdout } = await run(process.execPath, [fulcrumBin, 'status', '--admin', `127.0.0.1:${ports.admin}`, '--json']);
    const doc = JSON.parse(stdout) as StatusDocument;
    const byName = new Map(doc.virtualServices.flatMap((vs) => (vs.certificates ?? []).map((c) => [c.names[0], c])));
    const stapled = byName.get('stapled.ocsp.test')!.ocsp!;
    assert.deepEqual([stapled.state, stapled.stapled, stapled.responder, stapled.failures, stapled.lastError], ['good', true, good.url, 0, null]);
    assert.ok(Date.parse(stapled.nextUpdate!) > Date.now());
    const slow = byName.get('slow.ocsp.test')!.ocsp!;
    assert.deepEqual([slow.state, slow.stapled, slow.responder], ['pending', false, silent.url]);
    assert.equal(byName.get('off.ocsp.test')!.ocsp, undefined);
    const bare = byName.get('bare.ocsp.test')!;
    assert.equal(bare.ocsp, undefined);
    assert.match(bare.warnings?.join('\n') ?? '', /names no OCSP responder/);

    const table = await run(process.execPath, [fulcrumBin, 'status', '--admin', `127.0.0.1:${ports.admin}`]);
    assert.match(table.stdout, /^OCSP CERTIFICATE\s+STATE\s+STAPLED\s+THIS UPDATE\s+NEXT UPDATE\s+NEXT FETCH\s+LAST ERROR$/m, table.stdout);
    assert.match(table.stdout, /^stapled\.ocsp\.test\s+good\s+yes\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+\d{4}-/m, table.stdout);
    assert.match(table.stdout, /^slow\.ocsp\.test\s+pending\s+no\s+-\s+-/m, table.stdout);
  });
});
