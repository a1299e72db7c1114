/**
 * Harness for the TCP virtual service tests: a TcpListener in this process, built from YAML as
 * the worker builds it, with its tick driven by a timer (or by hand), and small raw TCP servers
 * for real servers.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { loadConfigText } from '../../src/config/load.ts';
import { EngineContext } from '../../src/worker/engine-context.ts';
import type { VirtualService } from '../../src/frontend/virtual-service.ts';
import { serviceOf } from '../helpers/service.ts';
import { TcpListener } from '../../src/l4/tcp-listener.ts';
import type { ConnectionRecord } from '../../src/log/access-log.ts';
import { freePort } from '../helpers/processes.ts';

export interface Event {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

export interface TcpService {
  listener: TcpListener;
  service: VirtualService;
  port: number;
  events: Event[];
  access: ConnectionRecord[];
  /** Reload with new YAML for the same address. */
  reload(yaml: string): void;
  stop(): Promise<void>;
}

export function loadService(yaml: string, previous: VirtualService | null = null): VirtualService {
  const result = loadConfigText(yaml, 'tcp.yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.problems, null, 2));
  return serviceOf(result.config, previous);
}

/** `yaml` is a whole config whose first virtual service is the tcp one; `tickMs` 0 leaves ticks to the test. */
export async function startTcpService(yaml: string, tickMs = 50): Promise<TcpService> {
  // The schema refuses port 0: the test picks a free one.
  const service = loadService(yaml.replace('listen: 127.0.0.1:0', `listen: 127.0.0.1:${await freePort()}`));
  const events: Event[] = [];
  const access: ConnectionRecord[] = [];
  const ctx = new EngineContext();
  ctx.accessLog = { log: () => {}, logConnection: (r) => void access.push(r), close: async () => {} };
  const listener = new TcpListener(service, { ctx, events: (level, message, fields) => void events.push({ level, message, fields }), worker: { index: 0, count: 1 } });
  await listener.listen();
  const timer =
    tickMs > 0
      ? setInterval(() => {
          const now = Date.now();
          listener.service.pool.tick(now);
          listener.tick(now);
        }, tickMs)
      : null;
  const address = listener.server.address() as net.AddressInfo;
  return {
    listener,
    get service() {
      return listener.service;
    },
    port: address.port,
    events,
    access,
    reload(text) {
      const { host, port } = listener.config.listen;
      listener.update(loadService(text.replace('listen: 127.0.0.1:0', `listen: ${host}:${port}`), listener.service));
    },
    async stop() {
      if (timer !== null) clearInterval(timer);
      listener.destroyAll();
      await listener.close();
    },
  };
}

export function tcpYaml(lines: string[], realServers: string[], listenPort = 0): string {
  return [
    'virtualServices:',
    '  - name: svc',
    `    listen: 127.0.0.1:${listenPort}`,
    '    protocol: tcp',
    ...lines.map((l) => `    ${l}`),
    '    realServers:',
    ...realServers.map((rs) => `      - ${rs.startsWith('{') ? rs : `{ address: ${rs} }`}`),
  ].join('\n');
}

export interface RawBackend {
  name: string;
  port: number;
  address: string;
  server: net.Server;
  sockets: Set<net.Socket>;
  /** Connections accepted so far. */
  accepted: number;
  close(): Promise<void>;
}

/** A TCP server that runs `onSocket` per connection; default: greets with its name, then echoes. */
export async function startRawBackend(name: string, onSocket?: (socket: net.Socket, backend: RawBackend) => void, host = '127.0.0.1'): Promise<RawBackend> {
  const sockets = new Set<net.Socket>();
  const backend: RawBackend = {
    name,
    port: 0,
    address: '',
    sockets,
    accepted: 0,
    server: net.createServer({ allowHalfOpen: true }, (socket) => {
      backend.accepted++;
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
      if (onSocket !== undefined) onSocket(socket, backend);
      else {
        socket.write(`${name}\n`);
        socket.pipe(socket);
      }
    }),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => backend.server.close(() => r()));
    },
  };
  backend.server.listen(0, host);
  await once(backend.server, 'listening');
  backend.port = (backend.server.address() as net.AddressInfo).port;
  backend.address = `${host}:${backend.port}`;
  return backend;
}

export function connectTo(port: number, localAddress?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true, ...(localAddress !== undefined ? { localAddress } : {}) });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Read until `n` bytes (or the first newline when n is 'line') have arrived. */
export function readBytes(socket: net.Socket, n: number | 'line'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const end = n === 'line' ? buf.indexOf(0x0a) + 1 : buf.length >= n ? n : 0;
      if (end > 0) {
        cleanup();
        const rest = buf.subarray(end);
        if (rest.length > 0) socket.unshift(rest);
        resolve(buf.subarray(0, end));
      }
    };
    const onEnd = (): void => {
      cleanup();
      reject(new Error(`stream ended after ${buf.length} bytes`));
    };
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.pause();
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.resume();
  });
}

/** Everything until the peer's FIN. */
export function readToEnd(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
    socket.resume();
  });
}

/** Resolves when the socket closes; with how (did we see a FIN, or a reset?). */
export function closed(socket: net.Socket): Promise<{ hadError: boolean }> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve({ hadError: false });
    socket.once('close', (hadError: boolean) => resolve({ hadError }));
    // Our client sockets are half-open capable: answer the peer's FIN with ours.
    socket.once('end', () => socket.end());
    socket.resume();
  });
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** For state that no event announces (the access record written when the far side's close lands). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setImmediate(r));
  }
}
