/**
 * The HTTPS bench's columns (tls.ts): Fulcrum, HAProxy and nginx terminating TLS 1.3 with one
 * certificate for www.surveyor.lab in front of the backend nginx, pinned and started on a free
 * loopback port like the HTTP columns (proxies.ts). Each one offers TLS 1.3 only and keeps its
 * library's default TLS 1.3 suites and groups: Fulcrum's `modern` policy (Mozilla's suites, the
 * client's order), HAProxy's and nginx's OpenSSL defaults; tls-check.ts shows what wrk's OpenSSL
 * ends up with on each (the same suite and group on all three).
 *
 * `sessionTickets: false` (the handshake rows) makes every column send no TLS 1.3 session ticket,
 * so that no client can resume: wrk keeps the last session of a connection it reopens and offers
 * it (measured: with tickets, 609 of 611 HAProxy handshakes under `Connection: close` were
 * resumed). The same OpenSSL setting, `NumTickets = 0`, for all three: an OpenSSL config file
 * (OPENSSL_CONF) for Fulcrum (Node reads its `nodejs_conf` section) and HAProxy (`openssl_conf`),
 * `ssl_conf_command` for nginx. Fulcrum has no switch of its own for it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, startFulcrum } from '../test/helpers/fulcrum.ts';
import { startProcess, waitForPort } from '../test/helpers/processes.ts';
import { startNginx } from '../interop/nginx.ts';
import { peer } from '../interop/peers.ts';
import { cpuOpt, cpuProfileEnv, type ProxyContext } from './proxies.ts';
import { HAPROXY_HTTP_MODE, haproxyHead } from './haproxy-config.ts';

const FIXTURES = path.join(import.meta.dirname, '..', 'test', 'fixtures', 'tls');

/** The name wrk asks for by SNI (and in Host); every column's certificate covers it. */
export const TLS_SERVER_NAME = 'www.surveyor.lab';
/** The test root the certificates chain to (through the intermediate each file holds). */
export const TLS_ROOT_CA = path.join(FIXTURES, 'root-ca.pem');

export type CertificateKind = 'ecdsa' | 'rsa';

export interface CertificateFiles {
  label: string;
  /** The leaf, then the intermediate. */
  cert: string;
  key: string;
}

export const CERTIFICATES: Record<CertificateKind, CertificateFiles> = {
  ecdsa: { label: 'ECDSA P-256', cert: path.join(FIXTURES, 'www.surveyor.lab.ecdsa.pem'), key: path.join(FIXTURES, 'www.surveyor.lab.ecdsa.key') },
  rsa: { label: 'RSA-2048', cert: path.join(FIXTURES, 'www.surveyor.lab.rsa.pem'), key: path.join(FIXTURES, 'www.surveyor.lab.rsa.key') },
};

export interface TlsProxyContext extends ProxyContext {
  certificate: CertificateKind;
  /** False: no session tickets, so every connection is a full handshake. */
  sessionTickets: boolean;
}

export interface RunningTlsProxy {
  port: number;
  /** The processes whose CPU time is the proxy's (Fulcrum's supervisor and worker, or the one process). */
  cpuPids: number[];
  stop(): Promise<void>;
}

export interface TlsProxyDef {
  name: string;
  description: string;
  start(ctx: TlsProxyContext): Promise<RunningTlsProxy>;
}

/** OpenSSL's config for a process that must send no session ticket; read by Node 24 and OpenSSL 3.0 alike. */
async function noTicketsConfig(dir: string): Promise<string> {
  const file = path.join(dir, 'openssl-no-tickets.cnf');
  await writeFile(
    file,
    `openssl_conf = bench_init
nodejs_conf = bench_init
[bench_init]
ssl_conf = bench_ssl
[bench_ssl]
system_default = bench_system
[bench_system]
NumTickets = 0
`,
  );
  return file;
}

async function openSslEnv(ctx: TlsProxyContext): Promise<Record<string, string>> {
  return ctx.sessionTickets ? {} : { OPENSSL_CONF: await noTicketsConfig(ctx.dir) };
}

const fulcrum: TlsProxyDef = {
  name: 'fulcrum',
  description: 'Fulcrum, workers: 1, access log off, a `protocol: https` virtual service, `policy: modern`',
  async start(ctx) {
    const port = await freePort();
    const { cert, key } = CERTIFICATES[ctx.certificate];
    // JSON is YAML.
    const config = JSON.stringify({
      workers: 1,
      accessLog: 'off',
      virtualServices: [
        {
          name: 'bench-tls',
          listen: `127.0.0.1:${port}`,
          protocol: 'https',
          realServers: [{ address: ctx.backend }],
          tls: { certificates: [{ cert, key }], policy: 'modern' },
        },
      ],
    });
    const env = { ...cpuProfileEnv(ctx.cpuProfileDir).env, ...(await openSslEnv(ctx)) };
    const instance = await startFulcrum({ ...cpuOpt(ctx.cpus), readyTimeoutMs: 20_000, env, config });
    return {
      port,
      cpuPids: [instance.pid, ...instance.workers],
      stop: async () => {
        await instance.stop();
      },
    };
  },
};

const haproxy: TlsProxyDef = {
  name: 'haproxy',
  description: 'HAProxy, nbthread 1, mode http, `bind ... ssl crt` (certificate, chain and key in one file), `ssl-min-ver TLSv1.3`',
  async start(ctx) {
    const port = await freePort();
    const { cert, key } = CERTIFICATES[ctx.certificate];
    const crt = await haproxyPem(path.join(ctx.dir, `haproxy-${ctx.certificate}.pem`), cert, key);
    const file = path.join(ctx.dir, 'haproxy-tls.cfg');
    await writeFile(
      file,
      `${haproxyHead(HAPROXY_HTTP_MODE)}  # Any request may take an idle server connection, as Fulcrum's and nginx's pools give one to
  # a new client; the default (safe) opens one for each client's first request, which under
  # Connection: close would add a TCP connection to nginx to every handshake.
  http-reuse always
frontend bench
  bind 127.0.0.1:${port} ssl crt ${crt} ssl-min-ver TLSv1.3
  http-request set-header X-Forwarded-Proto https
  default_backend real
backend real
  server rs1 ${ctx.backend}
`,
    );
    const proc = startProcess('haproxy', peer('haproxy'), ['-db', '-f', file], { ...cpuOpt(ctx.cpus), env: { ...process.env, ...(await openSslEnv(ctx)) } });
    await waitForPort(port, { proc });
    return {
      port,
      cpuPids: [proc.pid],
      stop: async () => {
        await proc.stop('SIGTERM');
      },
    };
  },
};

const nginx: TlsProxyDef = {
  name: 'nginx',
  description: 'nginx as proxy, 1 worker, `listen ... ssl`, `ssl_protocols TLSv1.3`, HTTP/1.1 keep-alive upstream',
  async start(ctx) {
    const { cert, key } = CERTIFICATES[ctx.certificate];
    const instance = await startNginx({
      name: 'bench-tls-proxy',
      ...cpuOpt(ctx.cpus),
      listenOptions: 'ssl',
      http: `upstream real { server ${ctx.backend}; keepalive 64; }`,
      server: nginxTlsServer(cert, key, ctx.sessionTickets ? '' : 'ssl_conf_command NumTickets 0;'),
    });
    return {
      port: instance.port,
      cpuPids: [instance.pid],
      stop: async () => {
        await instance.stop();
      },
    };
  },
};

export const TLS_PROXIES: readonly TlsProxyDef[] = [fulcrum, haproxy, nginx];

/** HAProxy reads the certificate, its chain and its key from one file: written at `file`, its path returned. */
export async function haproxyPem(file: string, cert: string, key: string): Promise<string> {
  await writeFile(file, `${(await readFile(cert, 'utf8')).trimEnd()}\n${await readFile(key, 'utf8')}`);
  return file;
}

/** nginx's server block for a TLS 1.3 proxy to the upstream `real` (X-Forwarded-Proto https); `extra`: more ssl directives. */
export function nginxTlsServer(cert: string, key: string, extra = ''): string {
  return `
        ssl_certificate ${cert};
        ssl_certificate_key ${key};
        ssl_protocols TLSv1.3;
        ${extra}
        location / {
          proxy_pass http://real;
          proxy_http_version 1.1;
          proxy_set_header Connection "";
          proxy_set_header Host $host;
          proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
          proxy_set_header X-Forwarded-Proto https;
        }
      `;
}
