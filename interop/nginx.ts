/**
 * nginx instances for interop tests and the bench: each one runs in the foreground from its own
 * prefix in a temp dir (config, pid, logs, temp paths), on a loopback port, and never touches
 * /etc/nginx, /var/log/nginx or /var/lib/nginx.
 *
 * `master_process off` runs one process that both accepts and serves, the same work a single
 * worker does; it also keeps the process running as the invoking user (with a master started as
 * root, the worker would drop to `nobody` and could not read our mkdtemp dirs, mode 0700).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, startProcess, waitForPort, type Exit, type ManagedProcess } from '../test/helpers/processes.ts';
import { peer } from './peers.ts';

export interface NginxOptions {
  /** Instance name: the default `/` body is `${name}\n`. */
  name: string;
  /** Listen port on 127.0.0.1 (default: a free one). */
  port?: number;
  /** Pin with `taskset -c`. */
  cpus?: string;
  /** Write an access log to PREFIX/access.log (see `requestCount`). Default off. */
  accessLog?: boolean;
  /**
   * Body of the `server {}` block after `listen`. Default: {@link realServerLocations}.
   * `{prefix}` is replaced by the instance's prefix dir.
   */
  server?: string;
  /** Extra directives inside `http {}` (upstream blocks, say). */
  http?: string;
  /** Directory served under `/files/` by the default server block (default PREFIX/files). */
  filesDir?: string;
  /** Extra parameters of the main block's `listen`, e.g. `default_server`. */
  listenOptions?: string;
}

export interface Nginx {
  name: string;
  port: number;
  /** "127.0.0.1:PORT" */
  address: string;
  url: string;
  prefix: string;
  pid: number;
  proc: ManagedProcess;
  /** Requests logged in the access log so far (needs `accessLog: true`). */
  requestCount(): Promise<number>;
  stop(): Promise<Exit>;
}

/**
 * The real-server locations the interop suite uses:
 * - `/`: 200 with body `${name}\n`
 * - `/files/NAME`: static files from `filesDir`, with sendfile
 * - `/post`: reads the whole request body (any size), then 200 `ok\n`. `return` alone would answer
 *   before the body arrives and discard it; mirror_request_body makes nginx read it first.
 */
export function realServerLocations(name: string, filesDir: string): string {
  return `
    location = / { default_type text/plain; return 200 "${name}\\n"; }
    location /files/ { alias ${filesDir}/; }
    location = /post {
      client_max_body_size 0;
      client_body_buffer_size 16k;
      mirror /_mirror_sink;
      mirror_request_body on;
      error_page 405 =200 @post_ok;
    }
    location @post_ok { default_type text/plain; return 200 "ok\\n"; }
    location = /_mirror_sink { internal; return 204; }
  `;
}

export async function startNginx(options: NginxOptions): Promise<Nginx> {
  const bin = peer('nginx');
  const prefix = await mkdtemp(path.join(tmpdir(), `nginx-${options.name}-`));
  const filesDir = options.filesDir ?? path.join(prefix, 'files');
  await mkdir(path.join(prefix, 'tmp'), { recursive: true });
  await mkdir(path.join(prefix, 'files'), { recursive: true });
  // The static handler answers 405 to a POST for an existing file, which /post turns into 200.
  await writeFile(path.join(prefix, 'post'), 'ok\n');
  const port = options.port ?? (await freePort());
  const serverBody = (options.server ?? realServerLocations(options.name, filesDir)).replaceAll('{prefix}', prefix);
  const conf = `
daemon off;
master_process off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 16384; }
http {
  access_log ${options.accessLog ? `${prefix}/access.log` : 'off'};
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  server_tokens off;
  # The default (1000) closes a keep-alive connection every 1000 requests, which a benchmark
  # would count against whoever sits in front.
  keepalive_requests 10000000;
  keepalive_timeout 75s;
  ${options.http ?? ''}
  server {
    listen 127.0.0.1:${port} backlog=4096${options.listenOptions ? ` ${options.listenOptions}` : ''};
    root ${prefix};
    ${serverBody}
  }
}
`;
  const confPath = path.join(prefix, 'nginx.conf');
  await writeFile(confPath, conf);
  const proc = startProcess(`nginx ${options.name}`, bin, ['-p', prefix, '-c', confPath, '-e', path.join(prefix, 'error.log')], {
    ...(options.cpus !== undefined ? { cpus: options.cpus } : {}),
  });
  try {
    await waitForPort(port, { proc, timeoutMs: 10_000 });
  } catch (err) {
    await proc.stop('SIGKILL');
    const log = await readFile(path.join(prefix, 'error.log'), 'utf8').catch(() => '');
    await rm(prefix, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\nerror.log:\n${log}\nnginx.conf:\n${conf}`);
  }
  return {
    name: options.name,
    port,
    address: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    prefix,
    pid: proc.pid,
    proc,
    requestCount: async () => {
      const text = await readFile(path.join(prefix, 'access.log'), 'utf8').catch(() => '');
      return text.split('\n').filter((l) => l !== '').length;
    },
    stop: async () => {
      // SIGTERM is nginx's fast shutdown; SIGQUIT would wait for idle keep-alive clients.
      const exit = await proc.stop('SIGTERM', 5000);
      await rm(prefix, { recursive: true, force: true });
      return exit;
    },
  };
}

/**
 * nginx as the IIS of issue 3's user story, with a host-header binding: the `siteName` vhost
 * answers 200 with `${name}\n`, and every other request (HTTP/1.0 without Host, a Host that is an
 * IP address) reaches the default server, which answers 400 as IIS does for a host name it does
 * not serve ("Bad Request - Invalid Hostname").
 */
export async function startHostHeaderNginx(options: { name: string; siteName: string }): Promise<Nginx> {
  const port = await freePort();
  return startNginx({
    name: options.name,
    port,
    listenOptions: 'default_server',
    server: `
    server_name _;
    location / { default_type text/html; return 400 "Bad Request - Invalid Hostname\\n"; }`,
    http: `
  server {
    listen 127.0.0.1:${port};
    server_name ${options.siteName};
    location / { default_type text/plain; return 200 "${options.name}\\n"; }
  }`,
  });
}
