/**
 * The bench's columns: the backend nginx and each proxy under test, started the same way
 * (pinned with taskset, on a free loopback port, one core's worth of workers/threads).
 */
import { randomFillSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { configYaml, freePort, startFulcrum } from '../test/helpers/fulcrum.ts';
import { startProcess, waitForPort } from '../test/helpers/processes.ts';
import { startNginx, type Nginx } from '../interop/nginx.ts';
import { peer } from '../interop/peers.ts';
import { BIG_BYTES, BODY_100 } from './scenarios.ts';

export interface RunningProxy {
  /** Where wrk sends its requests, e.g. http://127.0.0.1:PORT */
  url: string;
  /** The processes whose RSS is the proxy's memory (Fulcrum's workers, or the one process). */
  memoryPids: number[];
  stop(): Promise<void>;
}

export interface ProxyContext {
  /** The backend, "127.0.0.1:PORT". */
  backend: string;
  /** CPUs for the proxy (taskset -c), or undefined to leave it unpinned. */
  cpus: string | undefined;
  /** A scratch dir for config files and logs. */
  dir: string;
  /** Where Node proxies write a V8 CPU profile (--cpu-prof) when they exit; undefined: no profile. */
  cpuProfileDir?: string | undefined;
}

export interface ProxyDef {
  name: string;
  description: string;
  start(ctx: ProxyContext): Promise<RunningProxy>;
}

export const cpuOpt = (cpus: string | undefined): { cpus?: string } => (cpus === undefined ? {} : { cpus });

/**
 * NODE_OPTIONS that make Fulcrum's supervisor and its workers (forked with the same environment)
 * each write a CPU profile into `dir` on exit.
 */
export function cpuProfileEnv(dir: string | undefined): { env?: Record<string, string> } {
  if (dir === undefined) return {};
  return { env: { NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --cpu-prof --cpu-prof-dir=${dir}`.trim() } };
}

/** The real server: nginx, 1 process, access log off. */
export async function startBackendNginx(dir: string, cpus: string | undefined): Promise<Nginx> {
  const big = path.join(dir, 'big.bin');
  await writeFile(big, randomFillSync(Buffer.allocUnsafe(BIG_BYTES)));
  return startNginx({
    name: 'bench-backend',
    ...cpuOpt(cpus),
    server: `
      location = / { default_type text/plain; return 200 "${BODY_100.trimEnd()}\\n"; }
      location = /big { alias ${big}; }
      # mirror_request_body makes nginx read the whole body (into this 16k buffer) before
      # answering; the static handler's 405 for POST on {prefix}/post is turned into 200 "ok\\n".
      location = /post {
        client_max_body_size 1m;
        client_body_buffer_size 16k;
        mirror /_mirror_sink;
        mirror_request_body on;
        error_page 405 =200 @post_ok;
      }
      location @post_ok { default_type text/plain; return 200 "ok\\n"; }
      location = /_mirror_sink { internal; return 204; }
    `,
  });
}

/** Fulcrum started with `config` (YAML naming `port`), pinned and profiled like every column. */
export async function startFulcrumProxy(port: number, config: string, { cpus, cpuProfileDir }: ProxyContext): Promise<RunningProxy> {
  const fulcrum = await startFulcrum({ ...cpuOpt(cpus), readyTimeoutMs: 20_000, ...cpuProfileEnv(cpuProfileDir), config });
  return {
    url: `http://127.0.0.1:${port}`,
    memoryPids: fulcrum.workers.length > 0 ? fulcrum.workers : [fulcrum.pid],
    stop: async () => {
      await fulcrum.stop();
    },
  };
}

/** A proxy program started as one process listening on `port`. */
export async function startProcessProxy(name: string, port: number, command: string, args: readonly string[], cpus: string | undefined): Promise<RunningProxy> {
  const proc = startProcess(name, command, args, cpuOpt(cpus));
  await waitForPort(port, { proc });
  return {
    url: `http://127.0.0.1:${port}`,
    memoryPids: [proc.pid],
    stop: async () => {
      await proc.stop('SIGTERM');
    },
  };
}

/** HAProxy with one thread in front of `backend`; `mode` holds the mode and its options (mode http ..., or mode tcp). */
export async function startHaproxy(file: string, mode: string, { backend, cpus }: ProxyContext): Promise<RunningProxy> {
  const port = await freePort();
  await writeFile(
    file,
    `global
  nbthread 1
  # 9000 keeps maxsock (about 2 x maxconn) under the 20000 fd limit of this machine
  maxconn 9000
defaults
${mode}
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend bench
  bind 127.0.0.1:${port}
  default_backend real
backend real
  server rs1 ${backend}
`,
  );
  // -db: stay in the foreground, no daemon.
  return startProcessProxy('haproxy', port, peer('haproxy'), ['-db', '-f', file], cpus);
}

function fulcrumDef(name: string, withAccessLog: boolean): ProxyDef {
  return {
    name,
    description: `Fulcrum, workers: 1, access log ${withAccessLog ? 'to a file (JSON)' : 'off'}`,
    async start(context) {
      const port = await freePort();
      const config = configYaml({
        workers: 1,
        accessLog: withAccessLog ? { path: path.join(context.dir, `${name}-access.log`), format: 'json' } : 'off',
        virtualServices: [{ name: 'bench', listen: `127.0.0.1:${port}`, scheduler: 'round-robin', realServers: [context.backend] }],
      });
      return startFulcrumProxy(port, config, context);
    },
  };
}

const haproxy: ProxyDef = {
  name: 'haproxy',
  description: 'HAProxy, nbthread 1, mode http, http-keep-alive, forwardfor',
  start: (context) =>
    startHaproxy(path.join(context.dir, 'haproxy.cfg'), '  mode http\n  option http-keep-alive\n  option forwardfor\n  timeout http-keep-alive 60s', context),
};

const nginxProxy: ProxyDef = {
  name: 'nginx',
  description: 'nginx as proxy, 1 worker, HTTP/1.1 keep-alive upstream, X-Forwarded-For',
  async start({ backend, cpus }) {
    const nginx = await startNginx({
      name: 'bench-proxy',
      ...cpuOpt(cpus),
      http: `upstream real { server ${backend}; keepalive 64; }`,
      server: `
        location / {
          proxy_pass http://real;
          proxy_http_version 1.1;
          proxy_set_header Connection "";
          proxy_set_header Host $host;
          proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
          client_max_body_size 1m;
          # Stream large responses through memory buffers; never spill them to a temp file.
          proxy_buffers 16 64k;
          proxy_buffer_size 64k;
          proxy_busy_buffers_size 128k;
          proxy_max_temp_file_size 0;
        }
      `,
    });
    return {
      url: nginx.url,
      memoryPids: [nginx.pid],
      stop: async () => {
        await nginx.stop();
      },
    };
  },
};

const httpProxy: ProxyDef = {
  name: 'http-proxy',
  description: 'http-proxy 1.18.1 (npm) on node:http, keep-alive agent, xfwd',
  async start({ backend, cpus }) {
    const port = await freePort();
    const script = path.join(import.meta.dirname, 'http-proxy.ts');
    return startProcessProxy('http-proxy', port, process.execPath, [script, String(port), `http://${backend}`], cpus);
  },
};

/** `direct`: wrk straight to the backend, the ceiling every proxy is measured against. */
export const DIRECT = 'direct';

export const PROXIES: readonly ProxyDef[] = [
  fulcrumDef('fulcrum', false),
  fulcrumDef('fulcrum+accesslog', true),
  haproxy,
  nginxProxy,
  httpProxy,
];
