/**
 * The HTTP/2 bench's columns (h2.ts, tls-idle.ts): Fulcrum, nginx, h2o and HAProxy terminating
 * TLS 1.3 with the ECDSA P-256 certificate of the HTTPS rows (tls-proxies.ts) and offering h2 then
 * http/1.1 by ALPN, in front of the backend nginx, which they speak HTTP/1.1 to. One worker, thread
 * or process each, pinned and started on a free loopback port like every column (proxies.ts).
 *
 * The h2 load keeps up to 1,000 requests in flight (100 connections, 10 streams each), so each
 * proxy may hold as many HTTP/1.1 connections to nginx at once. Every column keeps all of them for
 * reuse (Fulcrum's `limits.maxIdlePerServer`, nginx's `keepalive`: 1,024; HAProxy and h2o keep
 * their idle server connections without a cap): with the 64 of the HTTP rows, Fulcrum and nginx
 * would close and reopen connections to nginx under that load, and HAProxy and h2o would not.
 *
 * Idle timeouts are at least 60 s everywhere (h2o's defaults are 10 s), so that the memory
 * tables' connections stay open while the rest are opened.
 */
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, startFulcrum } from '../test/helpers/fulcrum.ts';
import { startNginx } from '../interop/nginx.ts';
import { peer } from '../interop/peers.ts';
import { cpuOpt, cpuProfileEnv, startHaproxyConfig, startProcessProxy, type ProxyContext, type RunningProxy } from './proxies.ts';
import { CERTIFICATES, haproxyPem, nginxTlsServer, type RunningTlsProxy } from './tls-proxies.ts';
import { HAPROXY_HTTP_MODE, haproxyHead } from './haproxy-config.ts';

/** Idle upstream connections each column may keep: more than the h2 load's 1,000 requests in flight. */
export const UPSTREAM_IDLE = 1024;
const { cert: CERT, key: KEY } = CERTIFICATES.ecdsa;

export interface RunningH2Proxy extends RunningTlsProxy {
  /** The processes whose RSS is the proxy's memory (Fulcrum's worker, or the one process). */
  memoryPids: number[];
}

export interface H2ProxyDef {
  name: string;
  description: string;
  start(ctx: ProxyContext): Promise<RunningH2Proxy>;
}

/** A column started by proxies.ts's helpers (one process), as this table sees it. */
function asH2Proxy(running: RunningProxy): RunningH2Proxy {
  return { ...running, port: Number(new URL(running.url).port), cpuPids: running.memoryPids };
}

const fulcrum: H2ProxyDef = {
  name: 'fulcrum',
  description: `Fulcrum, workers: 1, access log off, a \`protocol: https\` virtual service, \`policy: modern\`, \`alpn: [h2, http/1.1]\`, \`limits.maxIdlePerServer: ${UPSTREAM_IDLE}\``,
  async start(ctx) {
    const port = await freePort();
    // JSON is YAML.
    const config = JSON.stringify({
      workers: 1,
      accessLog: 'off',
      virtualServices: [
        {
          name: 'bench-h2',
          listen: `127.0.0.1:${port}`,
          protocol: 'https',
          realServers: [{ address: ctx.backend }],
          limits: { maxIdlePerServer: UPSTREAM_IDLE },
          tls: { certificates: [{ cert: CERT, key: KEY }], policy: 'modern', alpn: ['h2', 'http/1.1'] },
        },
      ],
    });
    const instance = await startFulcrum({ ...cpuOpt(ctx.cpus), readyTimeoutMs: 20_000, ...cpuProfileEnv(ctx.cpuProfileDir), config });
    return {
      port,
      cpuPids: [instance.pid, ...instance.workers],
      memoryPids: instance.workers.length > 0 ? instance.workers : [instance.pid],
      stop: async () => {
        await instance.stop();
      },
    };
  },
};

const nginx: H2ProxyDef = {
  name: 'nginx',
  description: `nginx as proxy, 1 worker, \`listen ... ssl http2\`, \`ssl_protocols TLSv1.3\`, HTTP/1.1 keep-alive upstream (\`keepalive ${UPSTREAM_IDLE}\`)`,
  async start(ctx) {
    const instance = await startNginx({
      name: 'bench-h2-proxy',
      ...cpuOpt(ctx.cpus),
      // nginx 1.22: http2 is a parameter of listen (the http2 directive came in 1.25.1).
      listenOptions: 'ssl http2',
      http: `upstream real { server ${ctx.backend}; keepalive ${UPSTREAM_IDLE}; }`,
      server: nginxTlsServer(CERT, KEY),
    });
    return {
      port: instance.port,
      cpuPids: [instance.pid],
      memoryPids: [instance.pid],
      stop: async () => {
        await instance.stop();
      },
    };
  },
};

const h2o: H2ProxyDef = {
  name: 'h2o',
  description: '`h2o` as proxy (`proxy.reverse.url`, `proxy.preserve-host: ON`), `num-threads: 1`, `minimum-version: TLSv1.3`, `neverbleed: OFF` (the key in the one process), no OCSP stapling, access log off',
  async start(ctx) {
    // The process runs as whoever starts the bench: without `user`, h2o started by root would
    // switch to nobody, who cannot read the bench's temp dir.
    const user = process.getuid?.() === 0 ? 'user: root\n' : '';
    const port = await freePort();
    const file = path.join(ctx.dir, 'h2o.conf');
    await writeFile(
      file,
      `${user}num-threads: 1
# The default, 1024, would refuse the memory table's thousands of idle connections; HAProxy's maxconn.
max-connections: 9000
error-log: ${path.join(ctx.dir, 'h2o-error.log')}
http2-idle-timeout: 60
http1-request-timeout: 60
listen:
  host: 127.0.0.1
  port: ${port}
  ssl:
    certificate-file: ${CERT}
    key-file: ${KEY}
    minimum-version: TLSv1.3
    neverbleed: OFF
    ocsp-update-interval: 0
hosts:
  default:
    paths:
      /:
        proxy.reverse.url: http://${ctx.backend}/
        proxy.preserve-host: ON
`,
    );
    return asH2Proxy(await startProcessProxy('h2o', port, peer('h2o'), ['-c', file], ctx.cpus));
  },
};

const haproxy: H2ProxyDef = {
  name: 'haproxy',
  description: 'HAProxy, nbthread 1, mode http, `bind ... ssl crt ... ssl-min-ver TLSv1.3 alpn h2,http/1.1`, `http-reuse always`',
  async start(ctx) {
    const crt = await haproxyPem(path.join(ctx.dir, 'haproxy-h2-ecdsa.pem'), CERT, KEY);
    const configFor = (port: number): string => `${haproxyHead(HAPROXY_HTTP_MODE)}  http-reuse always
frontend bench
  bind 127.0.0.1:${port} ssl crt ${crt} ssl-min-ver TLSv1.3 alpn h2,http/1.1
  http-request set-header X-Forwarded-Proto https
  default_backend real
backend real
  server rs1 ${ctx.backend}
`;
    return asH2Proxy(await startHaproxyConfig(path.join(ctx.dir, 'haproxy-h2.cfg'), configFor, ctx.cpus));
  },
};

/** "h2o version 2.2.5" for the table's header; h2o is a column, and may be missing. */
export function h2oVersion(): string {
  try {
    return spawnSync(peer('h2o'), ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]?.trim() || 'h2o (version unknown)';
  } catch {
    return 'h2o (not installed)';
  }
}

/** In the order of the table: Fulcrum, then the proxy its target is set against, then the others. */
export const H2_PROXIES: readonly H2ProxyDef[] = [fulcrum, nginx, h2o, haproxy];
export const H2_PROXY_NAMES: readonly string[] = H2_PROXIES.map((p) => p.name);
