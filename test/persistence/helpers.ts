/**
 * Persistence tests: Fulcrum nodes (in-process WorkerRuntimes, or a bare Listener when a test must
 * look at the virtual service's tables), application servers that say who they are and set a
 * session cookie, and a client that connects afresh for every request (persistence must hold
 * across connections) from a chosen source address.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { stringify } from 'yaml';
import { EngineContext } from '../../src/worker/engine-context.ts';
import { Listener } from '../../src/frontend/http-listener.ts';
import type { VirtualService } from '../../src/frontend/virtual-service.ts';
import { serviceOf } from '../helpers/service.ts';
import { WorkerRuntime } from '../../src/worker/runtime.ts';
import { freePort } from '../helpers/processes.ts';
import { parseConfig } from '../l7/harness.ts';

export interface App {
  name: string;
  /** "127.0.0.1:PORT" as a config's realServers[].address. */
  address: string;
  requests: number;
  server: http.Server;
}

/**
 * `n` HTTP servers named app-1..app-n. Every answer is 200 with the name as body. `/login` also
 * sets the application's own session cookie, `JSESSIONID=<name>-<count>` (what server-cookie
 * learns).
 */
export async function startApps(n: number): Promise<App[]> {
  const apps: App[] = [];
  for (let i = 1; i <= n; i++) {
    const app: App = { name: `app-${i}`, address: '', requests: 0, server: http.createServer() };
    let sessions = 0;
    app.server.keepAliveTimeout = 30_000;
    app.server.on('request', (req, res) => {
      app.requests++;
      req.resume();
      req.on('end', () => {
        const headers: Record<string, string> = { 'content-type': 'text/plain' };
        if ((req.url ?? '').startsWith('/login')) headers['set-cookie'] = `JSESSIONID=${app.name}-${++sessions}; Path=/; HttpOnly`;
        res.writeHead(200, headers);
        res.end(app.name);
      });
    });
    app.server.listen(0, '127.0.0.1');
    await once(app.server, 'listening');
    app.address = `127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    apps.push(app);
  }
  return apps;
}

export async function closeApps(apps: readonly App[]): Promise<void> {
  await Promise.all(
    apps.map(
      (app) =>
        new Promise<void>((resolve) => {
          app.server.closeAllConnections();
          app.server.close(() => resolve());
        }),
    ),
  );
}

/** The name of the app at `address`. */
export function appAt(apps: readonly App[], address: string): App {
  const app = apps.find((a) => a.address === address);
  if (app === undefined) throw new Error(`no app at ${address}`);
  return app;
}

/** A virtual service as a test writes it: any keys of the config; name, listen and protocol are filled in. */
export type ServiceYaml = Record<string, unknown> & { realServers: Array<string | Record<string, unknown>> };

export function configFor(vs: ServiceYaml, port: number): ReturnType<typeof parseConfig> {
  const { realServers, ...rest } = vs;
  return parseConfig(
    stringify({
      workers: 1,
      accessLog: 'off',
      virtualServices: [
        {
          name: 'web',
          listen: `127.0.0.1:${port}`,
          protocol: 'http',
          ...rest,
          realServers: realServers.map((rs) => (typeof rs === 'string' ? { address: rs } : rs)),
        },
      ],
    }),
  );
}

/** A Fulcrum node: one WorkerRuntime, as a worker process runs it. */
export interface Node {
  port: number;
  runtime: WorkerRuntime;
  /** Apply a changed service (a SIGHUP reload). */
  reload(vs: ServiceYaml): Promise<void>;
  close(): Promise<void>;
}

export async function startNode(vs: ServiceYaml): Promise<Node> {
  const port = await freePort();
  const runtime = new WorkerRuntime();
  await runtime.apply(configFor(vs, port));
  return {
    port,
    runtime,
    reload: (next) => runtime.apply(configFor(next, port)),
    close: async () => {
      await runtime.drain(0);
    },
  };
}

/**
 * The engine without the runtime around it, for tests that look inside the virtual service
 * (its persistence tables). `tick` does what the worker's 100 ms timer does.
 */
export interface Engine {
  port: number;
  listener: Listener;
  readonly service: VirtualService;
  reload(vs: ServiceYaml): void;
  tick(now?: number): void;
  close(): Promise<void>;
}

export async function startEngine(vs: ServiceYaml): Promise<Engine> {
  const port = await freePort();
  const ctx = new EngineContext();
  const listener = new Listener(serviceOf(configFor(vs, port), null, () => {}, undefined, ctx), { ctx, events: () => {}, worker: { index: 0, count: 1 } });
  await listener.listen();
  return {
    port,
    listener,
    get service() {
      return listener.service;
    },
    reload: (next) => listener.update(serviceOf(configFor(next, port), listener.service, () => {}, undefined, ctx)),
    tick: (now = Date.now()) => listener.service.pool.tick(now),
    close: async () => {
      const closed = listener.close();
      for (const c of listener.connections) c.socket.destroy();
      await closed;
      listener.service.pool.retire();
    },
  };
}

export interface Answer {
  status: number;
  /** The app that answered (the body). */
  app: string;
  /** Set-Cookie fields of the response, as received. */
  setCookies: string[];
  headers: http.IncomingHttpHeaders;
}

/** One request on a fresh connection (from `localAddress`, e.g. 127.0.0.7, when given). */
export async function get(
  port: number,
  path = '/',
  opts: { headers?: Record<string, string>; localAddress?: string; cookie?: string } = {},
): Promise<Answer> {
  const headers = { ...opts.headers };
  if (opts.cookie !== undefined) headers['cookie'] = opts.cookie;
  const req = http.request({ host: '127.0.0.1', port, path, headers, agent: false, localAddress: opts.localAddress });
  req.end();
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const setCookie = res.headers['set-cookie'];
  return { status: res.statusCode ?? 0, app: Buffer.concat(chunks).toString('utf8'), setCookies: setCookie ?? [], headers: res.headers };
}

/** The `name=value` part of the Set-Cookie for `name`, or undefined. */
export function cookieFrom(answer: Answer, name = 'FULCRUMID'): string | undefined {
  const line = answer.setCookies.find((c) => c.startsWith(`${name}=`));
  return line?.split(';')[0];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
