/**
 * What an HTTPS column must show before it is measured (the TLS side of check.ts):
 * - through Node's TLS client, with SNI www.surveyor.lab and the test root as the only trusted CA:
 *   a verified chain, TLS 1.3, the leaf of the row's certificate file (by SHA-256 fingerprint),
 *   status 200 and the 100-byte body; with `sessionTickets: false`, no session ticket (so no
 *   client can resume, and every handshake wrk makes is a full one);
 * - through `openssl s_client`, the system OpenSSL that wrk links: the suite, key exchange group
 *   and signature that wrk's handshakes get, shown in the table to prove all rows alike.
 */
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { run } from '../test/helpers/processes.ts';
import { peer } from '../interop/peers.ts';
import { BODY_100 } from './scenarios.ts';
import { CERTIFICATES, TLS_ROOT_CA, TLS_SERVER_NAME, type CertificateKind } from './tls-proxies.ts';

export interface TlsCheckOptions {
  port: number;
  certificate: CertificateKind;
  sessionTickets: boolean;
}

/** What wrk's OpenSSL negotiates, e.g. "TLS_AES_256_GCM_SHA384, X25519, ECDSA". */
export type Negotiated = string;

interface Answer {
  status: number;
  bodyBytes: number;
  protocol: string | null;
  fingerprint: string | undefined;
  tickets: number;
}

function ask(port: number, ca: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let tickets = 0;
    const req = https.request(
      { host: '127.0.0.1', port, path: '/', servername: TLS_SERVER_NAME, headers: { Host: TLS_SERVER_NAME }, ca, agent: false, signal: AbortSignal.timeout(10_000) },
      (res) => {
        const socket = res.socket as TLSSocket;
        let bodyBytes = 0;
        res.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, bodyBytes, protocol: socket.getProtocol(), fingerprint: socket.getPeerX509Certificate()?.fingerprint256, tickets }),
        );
        res.on('error', reject);
      },
    );
    // TLS 1.3 tickets arrive right after the handshake, before the response.
    req.on('socket', (socket) => socket.on('session', () => tickets++));
    req.on('error', reject);
    req.end();
  });
}

/** `openssl s_client -brief` (wrk's library): the suite, the group and the signature it got. */
async function negotiatedByOpenSsl(port: number): Promise<Negotiated> {
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', TLS_SERVER_NAME, '-CAfile', TLS_ROOT_CA, '-brief'];
  const { stdout, stderr, code } = await run(peer('openssl'), args, { timeoutMs: 20_000, allowFailure: true });
  const out = `${stdout}\n${stderr}`;
  const field = (name: string): string | undefined => new RegExp(`^${name}: (.+)$`, 'm').exec(out)?.[1]?.trim();
  const protocol = field('Protocol version');
  const verification = field('Verification');
  if (code !== 0 || protocol === undefined) throw new Error(`openssl s_client: no handshake (exit ${code}): ${out.trim().split('\n').slice(-3).join(' / ')}`);
  if (protocol !== 'TLSv1.3') throw new Error(`openssl s_client: ${protocol}, expected TLSv1.3`);
  if (verification !== 'OK') throw new Error(`openssl s_client: verification ${verification ?? '(none)'}`);
  // "Server Temp Key: X25519, 253 bits" -> X25519
  const group = field('(?:Negotiated TLS1\\.3 group|Server Temp Key)')?.split(',')[0];
  return [field('Ciphersuite'), group, field('Signature type')].map((v) => v ?? '?').join(', ');
}

/** Throws unless the column on `port` answers as stated above; returns what wrk's OpenSSL negotiates. */
export async function checkTlsColumn({ port, certificate, sessionTickets }: TlsCheckOptions): Promise<Negotiated> {
  const ca = await readFile(TLS_ROOT_CA);
  const expected = new X509Certificate(await readFile(CERTIFICATES[certificate].cert)).fingerprint256;
  const answer = await ask(port, ca);
  if (answer.protocol !== 'TLSv1.3') throw new Error(`check request: ${answer.protocol ?? 'no protocol'}, expected TLSv1.3`);
  if (answer.fingerprint !== expected) throw new Error(`check request: a certificate other than ${CERTIFICATES[certificate].label} www.surveyor.lab`);
  if (answer.status !== 200) throw new Error(`check request: status ${answer.status}`);
  if (answer.bodyBytes !== BODY_100.length) throw new Error(`check request: body of ${answer.bodyBytes} bytes, expected ${BODY_100.length}`);
  if (!sessionTickets && answer.tickets > 0) throw new Error(`check request: ${answer.tickets} session tickets, expected none (a client could resume)`);
  return negotiatedByOpenSsl(port);
}
