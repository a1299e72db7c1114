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
import { rulesServerBlocks, type RulesPools } from './rules.ts';
import { rulesFulcrumConfig } from './rules-fulcrum.ts';
import { rulesHaproxyConfig } from './rules-haproxy.ts';
import { haproxyHead } from './haproxy-config.ts';
import { BIG_BYTES, BODY_100, type ConfigShape } from './scenarios.ts';

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

export interface HttpProxyContext extends ProxyContext {
  /** The `rules` scenario's pools: server blocks of the backend nginx. */
  rulesPools: RulesPools;
}

/** A column of the HTTP table, started once for each config shape its scenarios need. */
export interface HttpProxyDef {
  name: string;
  description: string;
  /** The shapes this column runs; a scenario of another shape gets no row from it... */
  shapes: readonly ConfigShape[];
  /** ...unless this names why it cannot: then its row says "n/a (REASON)". */
  notApplicable?: Partial<Record<ConfigShape, string>>;
  start(ctx: HttpProxyContext, shape: ConfigShape): Promise<RunningProxy>;
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

export type BackendNginx = Nginx & { rulesPools: RulesPools };

/** The real server: nginx, 1 process, access log off; three more server blocks are the `rules` scenario's pools. */
export async function startBackendNginx(dir: string, cpus: string | undefined): Promise<BackendNginx> {
  const big = path.join(dir, 'big.bin');
  await writeFile(big, randomFillSync(Buffer.allocUnsafe(BIG_BYTES)));
  const ports = { web: await freePort(), static: await freePort(), api: await freePort() };
  const nginx = await startNginx({
    name: 'bench-backend',
    ...cpuOpt(cpus),
    http: rulesServerBlocks(ports, BODY_100),
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
  const at = (port: number): string => `127.0.0.1:${port}`;
  return { ...nginx, rulesPools: { web: at(ports.web), static: at(ports.static), api: at(ports.api) } };
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

/** HAProxy started with the config `configFor(port)` returns, written to `file`. */
export async function startHaproxyConfig(file: string, configFor: (port: number) => string, cpus: string | undefined): Promise<RunningProxy> {
  const port = await freePort();
  await writeFile(file, configFor(port));
  // -db: stay in the foreground, no daemon.
  return startProcessProxy('haproxy', port, peer('haproxy'), ['-db', '-f', file], cpus);
}

/** HAProxy with one thread in front of `backend`; `mode` holds the mode and its options (mode http ..., or mode tcp). */
export function startHaproxy(file: string, mode: string, { backend, cpus }: ProxyContext): Promise<RunningProxy> {
  const configFor = (port: number): string => `${haproxyHead(mode)}frontend bench
  bind 127.0.0.1:${port}
  default_backend real
backend real
  server rs1 ${backend}
`;
  return startHaproxyConfig(file, configFor, cpus);
}

/** The config of a Fulcrum column: the `plain` one (one virtual service, one real server) or the `rules` one. */
export function fulcrumHttpConfig(shape: ConfigShape, port: number, context: HttpProxyContext, accessLog: unknown): string {
  if (shape === 'rules') return rulesFulcrumConfig(port, context.rulesPools, accessLog);
  return configYaml({
    workers: 1,
    accessLog,
    virtualServices: [{ name: 'bench', listen: `127.0.0.1:${port}`, scheduler: 'round-robin', realServers: [context.backend] }],
  });
}

/** The access-log row runs `plain` only: the `rules` row is there to compare rules, not logs. */
function fulcrumDef(name: string, withAccessLog: boolean): HttpProxyDef {
  return {
    name,
    description: `Fulcrum, workers: 1, access log ${withAccessLog ? 'to a file (JSON)' : 'off'}`,
    shapes: withAccessLog ? ['plain'] : ['plain', 'rules'],
    async start(context, shape) {
      const port = await freePort();
      const accessLog = withAccessLog ? { path: path.join(context.dir, `${name}-access.log`), format: 'json' } : 'off';
      return startFulcrumProxy(port, fulcrumHttpConfig(shape, port, context, accessLog), context);
    },
  };
}

const haproxy: HttpProxyDef = {
  name: 'haproxy',
  description: 'HAProxy, nbthread 1, mode http, http-keep-alive, forwardfor',
  shapes: ['plain', 'rules'],
  start: (context, shape) =>
    shape === 'rules'
      ? startHaproxyConfig(path.join(context.dir, 'haproxy-rules.cfg'), (port) => rulesHaproxyConfig(port, context.rulesPools), context.cpus)
      : startHaproxy(path.join(context.dir, 'haproxy.cfg'), '  mode http\n  option http-keep-alive\n  option forwardfor\n  timeout http-keep-alive 60s', context),
};

const nginxProxy: HttpProxyDef = {
  name: 'nginx',
  description: 'nginx as proxy, 1 worker, HTTP/1.1 keep-alive upstream, X-Forwarded-For',
  shapes: ['plain'],
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

const httpProxy: HttpProxyDef = {
  name: 'http-proxy',
  description: 'http-proxy 1.18.1 (npm) on node:http, keep-alive agent, xfwd',
  shapes: ['plain'],
  async start({ backend, cpus }) {
    const port = await freePort();
    const script = path.join(import.meta.dirname, 'http-proxy.ts');
    return startProcessProxy('http-proxy', port, process.execPath, [script, String(port), `http://${backend}`], cpus);
  },
};

/** `direct`: wrk straight to the backend, the ceiling every proxy is measured against. */
export const DIRECT = 'direct';

export const PROXIES: readonly HttpProxyDef[] = [
  fulcrumDef('fulcrum', false),
  fulcrumDef('fulcrum+accesslog', true),
  haproxy,
  nginxProxy,
  httpProxy,
];
