/**
 * Real servers for the health check tests: raw TCP and TLS listeners on 127.0.0.1 port 0 that
 * record exactly the bytes a check sends and answer what the test scripts. Certificates come
 * from the openssl CLI at test time (Node cannot create X.509 certificates by itself).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { HostPort } from '../../src/config/address.ts';
import type { HealthCheckConfig } from '../../src/config/health-check.ts';
import { validateConfig } from '../../src/config/validate.ts';

export interface ReceivedRequest {
  /** The whole request as sent, head and body. */
  raw: string;
  /** The request line. */
  line: string;
  /** Header lines as sent, in order, e.g. "Host: x". */
  headerLines: string[];
  /** Header values by lower-case name. */
  headers: Map<string, string>;
  body: string;
  /** The TLS server name the client sent (https); null when none, undefined for plain TCP. */
  serverName?: string | null;
}

/** The raw answer to a request; null to never answer (a hung server). */
export type Responder = (request: ReceivedRequest) => string | Buffer | null;

export interface TestServer {
  port: number;
  /** "127.0.0.1:PORT" */
  address: string;
  requests: ReceivedRequest[];
  /** Sockets accepted (tcp checks send nothing). */
  connections: number;
  close(): Promise<void>;
}

export function http(status: number, body = '', headers: Record<string, string> = {}): string {
  const lines = [`HTTP/1.1 ${status} X`, `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

export function startServer(respond: Responder): Promise<TestServer> {
  return listen(createServer(), respond, (socket) => socket);
}

export function startTlsServer(cert: Certificate, respond: Responder): Promise<TestServer> {
  const server = createTlsServer({ cert: cert.cert, key: cert.key });
  return listen(server, respond, (socket) => socket, 'secureConnection');
}

async function listen(server: Server, respond: Responder, wrap: (socket: Socket) => Socket, event = 'connection'): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const result: TestServer = {
    port: 0,
    address: '',
    requests: [],
    connections: 0,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  server.on(event, (raw: Socket) => {
    const socket = wrap(raw);
    result.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const request = parseRequest(buffer);
      if (request === null) return;
      if ('servername' in socket) request.serverName = (socket as TLSSocket).servername || null;
      result.requests.push(request);
      const answer = respond(request);
      if (answer !== null) socket.end(answer);
    });
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  result.port = (server.address() as AddressInfo).port;
  result.address = `127.0.0.1:${result.port}`;
  return result;
}

function parseRequest(buffer: Buffer): ReceivedRequest | null {
  const end = buffer.indexOf('\r\n\r\n');
  if (end === -1) return null;
  const [line = '', ...headerLines] = buffer.toString('utf8', 0, end).split('\r\n');
  const headers = new Map<string, string>();
  for (const header of headerLines) {
    const colon = header.indexOf(':');
    headers.set(header.slice(0, colon).toLowerCase(), header.slice(colon + 1).trim());
  }
  const length = Number(headers.get('content-length') ?? '0');
  if (buffer.length < end + 4 + length) return null;
  const body = buffer.toString('utf8', end + 4, end + 4 + length);
  return { raw: buffer.toString('utf8', 0, end + 4 + length), line, headerLines, headers, body };
}

/** A port with nothing listening: bind one, note it, close it. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Certificate {
  cert: string;
  key: string;
}

/** A self-signed certificate for `name` (also its CA), valid `days` from now; days < 0 makes one that expired. */
export function selfSignedCertificate(name: string, days: number): Certificate {
  const dir = mkdtempSync(join(tmpdir(), 'fulcrum-health-cert-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    const ext = join(dir, 'ext.cnf');
    execFileSync('sh', ['-c', `printf 'subjectAltName=DNS:${name}\\nbasicConstraints=critical,CA:TRUE\\n' > '${ext}'`]);
    execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', join(dir, 'req.csr'), '-subj', `/CN=${name}`], { stdio: 'ignore' });
    execFileSync('openssl', ['x509', '-req', '-in', join(dir, 'req.csr'), '-signkey', key, '-out', cert, '-days', String(days), '-extfile', ext], { stdio: 'ignore' });
    return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A resolved health check, through the real config schema: `spec` is what a user writes under healthCheck. */
export function checkSpec(spec: Record<string, unknown>): HealthCheckConfig {
  const result = validateConfig({
    virtualServices: [{ name: 'test', listen: '127.0.0.1:1', protocol: 'http', healthCheck: spec, realServers: [{ address: '127.0.0.1:1' }] }],
  });
  if (!result.ok) throw new Error(`bad test spec: ${JSON.stringify(result.issues)}`);
  const check = result.config.pools[0]?.realServers[0]?.healthCheck;
  if (check === undefined) throw new Error('no check');
  return check;
}

export function hostPort(address: string): HostPort {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}
