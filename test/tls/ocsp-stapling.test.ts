// OCSP stapling in the handshake: a TLS front end with tls.ocsp hands each TLSSocket the small
// `server` Node staples through, and a Node client that asks (requestOCSP) gets the response the
// supervisor sent, for the certificate SNI chose; nothing when none is there, when it expired,
// when stapling is off (the default), or for a name served by RSA and ECDSA side by side. Session
// resumption carries on. Real sockets on 127.0.0.1.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { TlsSchema } from '../../src/config/tls.ts';
import { TlsFrontEnd } from '../../src/frontend/tls-front-end.ts';
import { certId, certIdSource, ocspRequest } from '../../src/tls/ocsp-request.ts';
import { OcspStaples } from '../../src/tls/ocsp-staples.ts';
import { createPki, type Issued, type TestPki } from './ocsp-pki.ts';
import { buildResponse, requestedCertId } from './ocsp-responder.ts';
import { fixture, readFixture } from './handshake.ts';

interface Seen {
  /** What 'OCSPResponse' gave (null: the server stapled nothing); undefined: the event never came. */
  staple: Buffer | null | undefined;
  subject: string;
  reused: boolean;
  session: Buffer | null;
  protocol: string | null;
}

function connect(port: number, options: tls.ConnectionOptions): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
    let staple: Buffer | null | undefined;
    let session: Buffer | null = null;
    socket.on('OCSPResponse', (response: Buffer | null) => (staple = response));
    socket.on('session', (s: Buffer) => (session = s));
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      const subject = socket.getPeerX509Certificate()?.subject ?? '';
      const reused = socket.isSessionReused();
      const protocol = socket.getProtocol();
      // TLS 1.3 tickets come after the handshake: read until the server's close.
      socket.resume();
      socket.once('close', () => resolve({ staple, subject, reused, session, protocol }));
    });
  });
}

interface Served {
  port: number;
  front: TlsFrontEnd;
  close(): Promise<void>;
}

async function serve(tlsConfig: unknown, staples: OcspStaples): Promise<Served> {
  const config = TlsSchema.parse(tlsConfig);
  const front = new TlsFrontEnd(config, Buffer.alloc(32, 1), 'secure', new Date(), undefined, staples);
  const server = net.createServer((socket) => {
    front.accept(
      socket,
      null,
      // One byte before the close: a TLS 1.3 server sends its session tickets with its first write.
      (secure) => secure.end('.'),
      () => {},
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as net.AddressInfo).port, front, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('OCSP stapling in the handshake', () => {
  let pki: TestPki;
  let a: Issued;
  let b: Issued;
  let files: { a: { cert: string; key: string }; b: { cert: string; key: string } };
  const response = (leaf: Issued): Buffer =>
    buildResponse(requestedCertId(ocspRequest(certId(certIdSource(leaf.certificate.raw, pki.ca.certificate.raw)))), { signer: pki.ca });
  const inAnHour = (): number => Date.now() + 3_600_000;
  const running: Served[] = [];
  const start = async (tlsConfig: unknown, staples: OcspStaples): Promise<Served> => {
    const served = await serve(tlsConfig, staples);
    running.push(served);
    return served;
  };

  before(async () => {
    pki = await createPki();
    a = await pki.leaf('a.ocsp.test', 'a1', 'http://127.0.0.1:9/ocsp');
    b = await pki.leaf('b.ocsp.test', 'b1', 'http://127.0.0.1:9/ocsp');
    files = { a: pki.files(a, 'a'), b: pki.files(b, 'b') };
  });
  after(async () => {
    await Promise.all(running.map((s) => s.close()));
  });

  it("staples each SNI name's own certificate's response to a client that asks", async () => {
    const staples = new OcspStaples();
    const responses = { a: response(a), b: response(b) };
    staples.set(a.certificate.fingerprint256, { response: responses.a, expires: inAnHour() });
    staples.set(b.certificate.fingerprint256, { response: responses.b, expires: inAnHour() });
    const { port } = await start({ certificates: [files.a, files.b], ocsp: { enabled: true } }, staples);
    for (const [name, expected] of [['a.ocsp.test', responses.a], ['b.ocsp.test', responses.b]] as const) {
      const seen = await connect(port, { servername: name, requestOCSP: true });
      assert.equal(seen.subject, `CN=${name}`);
      assert.deepEqual(seen.staple, expected, name);
    }
    // Without SNI: the default (first) certificate, and its response.
    assert.deepEqual((await connect(port, { requestOCSP: true })).staple, responses.a);
    // TLS 1.2 carries the staple in its own CertificateStatus message: the same bytes.
    assert.deepEqual((await connect(port, { servername: 'b.ocsp.test', requestOCSP: true, maxVersion: 'TLSv1.2' })).staple, responses.b);
  });

  it('completes the handshake without a staple when there is none yet, or the client does not ask', async () => {
    const staples = new OcspStaples();
    const { port } = await start({ certificates: [files.a], ocsp: { enabled: true } }, staples);
    const asked = await connect(port, { servername: 'a.ocsp.test', requestOCSP: true });
    assert.equal(asked.subject, 'CN=a.ocsp.test');
    assert.equal(asked.staple, null);
    staples.set(a.certificate.fingerprint256, { response: response(a), expires: inAnHour() });
    assert.equal((await connect(port, { servername: 'a.ocsp.test' })).staple, undefined);
    // A staple that arrives later serves the next handshake, with no reload.
    assert.notEqual((await connect(port, { servername: 'a.ocsp.test', requestOCSP: true })).staple, null);
  });

  it('never staples a response past its expiry, even before the supervisor withdraws it', async () => {
    let now = Date.now();
    const staples = new OcspStaples(() => now);
    const expires = now + 60_000;
    staples.set(a.certificate.fingerprint256, { response: response(a), expires });
    const { port } = await start({ certificates: [files.a], ocsp: { enabled: true } }, staples);
    assert.notEqual((await connect(port, { servername: 'a.ocsp.test', requestOCSP: true })).staple, null);
    now = expires;
    assert.equal((await connect(port, { servername: 'a.ocsp.test', requestOCSP: true })).staple, null);
    assert.equal(staples.size, 0);
  });

  it('staples nothing when tls.ocsp is not enabled (the default), whatever the worker holds', async () => {
    const staples = new OcspStaples();
    staples.set(a.certificate.fingerprint256, { response: response(a), expires: inAnHour() });
    const { port } = await start({ certificates: [files.a] }, staples);
    const seen = await connect(port, { servername: 'a.ocsp.test', requestOCSP: true });
    assert.equal(seen.subject, 'CN=a.ocsp.test');
    assert.equal(seen.staple, null);
  });

  it('staples nothing for a name served by an RSA and an ECDSA certificate side by side, and still for the others', async () => {
    const rsa = { cert: fixture('www.surveyor.lab.rsa.pem'), key: fixture('www.surveyor.lab.rsa.key') };
    const ecdsa = { cert: fixture('www.surveyor.lab.ecdsa.pem'), key: fixture('www.surveyor.lab.ecdsa.key') };
    const staples = new OcspStaples();
    for (const file of ['www.surveyor.lab.rsa.pem', 'www.surveyor.lab.ecdsa.pem']) {
      staples.set(new X509Certificate(readFixture(file)).fingerprint256, { response: Buffer.from('not for this handshake'), expires: inAnHour() });
    }
    staples.set(a.certificate.fingerprint256, { response: response(a), expires: inAnHour() });
    const { port } = await start({ certificates: [files.a, rsa, ecdsa], ocsp: { enabled: true } }, staples);
    for (const sigalgs of ['ECDSA+SHA256', 'RSA-PSS+SHA256:RSA+SHA256']) {
      const seen = await connect(port, { servername: 'www.surveyor.lab', requestOCSP: true, sigalgs });
      assert.match(seen.subject, /www\.surveyor\.lab/);
      assert.equal(seen.staple, null, sigalgs);
    }
    assert.notEqual((await connect(port, { servername: 'a.ocsp.test', requestOCSP: true })).staple, null);
  });

  it('resumes sessions by ticket (TLS 1.3 and 1.2) with stapling on', async () => {
    const staples = new OcspStaples();
    staples.set(a.certificate.fingerprint256, { response: response(a), expires: inAnHour() });
    const { port } = await start({ certificates: [files.a], ocsp: { enabled: true } }, staples);
    for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
      const first = await connect(port, { servername: 'a.ocsp.test', requestOCSP: true, maxVersion });
      assert.equal(first.protocol, maxVersion);
      assert.notEqual(first.session, null, `${maxVersion}: no ticket`);
      const again = await connect(port, { servername: 'a.ocsp.test', requestOCSP: true, maxVersion, session: first.session! });
      assert.equal(again.reused, true, `${maxVersion}: not resumed`);
    }
  });
});
