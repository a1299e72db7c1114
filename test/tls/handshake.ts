/**
 * Real TLS handshakes for the tests of src/tls: a server on 127.0.0.1 port 0 that answers a
 * completed handshake by closing, and a client that reports what was negotiated, or the error.
 */
import type { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { readServerName } from '../../src/tls/client-hello.ts';

export const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'tls');

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

export function readFixture(name: string): Buffer {
  return readFileSync(fixture(name));
}

export interface TestServer {
  port: number;
  /** tlsClientError codes seen by the server, in order. */
  clientErrors: string[];
  close(): Promise<void>;
}

export async function serve(options: tls.TlsOptions): Promise<TestServer> {
  const server = tls.createServer(options, (socket) => socket.end());
  const clientErrors: string[] = [];
  server.on('tlsClientError', (err: NodeJS.ErrnoException) => clientErrors.push(err.code ?? err.message));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { port, clientErrors, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/**
 * A server whose TLS sockets start from `secureContext`, as Fulcrum's front end builds them. Not
 * tls.createServer: a tls.Server ignores a `secureContext` option and builds its own context
 * from the other options, so a client without SNI would meet a server with no certificate.
 */
export async function serveContext(secureContext: tls.SecureContext, SNICallback: tls.TlsOptions['SNICallback']): Promise<TestServer> {
  const clientErrors: string[] = [];
  const server = net.createServer((raw) => {
    const socket = new tls.TLSSocket(raw, { isServer: true, secureContext, SNICallback });
    socket.once('secure', () => socket.end());
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clientErrors.push(err.code ?? err.message);
      raw.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { port, clientErrors, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/**
 * A server that reads the SNI name from the ClientHello before the handshake and starts each
 * TLSSocket from the context `choose` gives for it: the way to serve RSA and ECDSA for one name.
 */
export async function servePeeking(choose: (servername: string | null) => tls.SecureContext): Promise<TestServer & { names: Array<string | null> }> {
  const clientErrors: string[] = [];
  const names: Array<string | null> = [];
  const server = net.createServer((raw) => {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      const read = readServerName(Buffer.concat(chunks));
      if (read.state === 'incomplete') return;
      raw.removeListener('data', onData);
      raw.pause();
      raw.unshift(Buffer.concat(chunks));
      const servername = read.state === 'done' ? read.servername : null;
      names.push(servername);
      const socket = new tls.TLSSocket(raw, { isServer: true, secureContext: choose(servername) });
      socket.once('secure', () => socket.end());
      socket.on('error', (err: NodeJS.ErrnoException) => {
        clientErrors.push(err.code ?? err.message);
        raw.destroy();
      });
    };
    raw.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { port, clientErrors, names, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export type Handshake =
  | { ok: true; protocol: string; cipher: string; peer: X509Certificate; keyType: string }
  | { ok: false; code: string; message: string };

/** Connects, waits for the handshake, and closes. Without `ca`, the server is not verified. */
export function handshake(port: number, options: tls.ConnectionOptions = {}): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: options.ca !== undefined, ...options }, () => {
      const peer = socket.getPeerX509Certificate()!;
      resolve({ ok: true, protocol: socket.getProtocol() ?? '', cipher: socket.getCipher().name, peer, keyType: peer.publicKey.asymmetricKeyType ?? '' });
      socket.end();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      resolve({ ok: false, code: err.code ?? '', message: err.message });
      socket.destroy();
    });
  });
}

/** TLS 1.0 and 1.1 clients need security level 0 in OpenSSL 3 (see src/tls/policy.ts). */
export const LEGACY_CLIENT = { ciphers: 'DEFAULT:@SECLEVEL=0' } as const;
