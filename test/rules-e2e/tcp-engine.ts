/**
 * TCP virtual services in a WorkerRuntime, each with its own rateLimit or access list, all in
 * front of one echo real server (it greets with its name, then echoes), with a JSON access log
 * read back per virtual service.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WorkerRuntime } from '../../src/worker/runtime.ts';
import { parseConfig } from '../l7/harness.ts';
import { freePort } from '../helpers/processes.ts';
import { readBytes, startRawBackend, type RawBackend } from '../l4/tcp-harness.ts';
import { readAccessLog } from './engine.ts';

export interface TcpServiceSpec {
  name: string;
  /** YAML flow mappings, as a config writes them. */
  rateLimit?: string;
  access?: string;
  /** The client address comes from a PROXY header (relay's `header`). */
  acceptProxyProtocol?: boolean;
}

export interface TcpLine {
  protocol: string;
  client: string;
  virtualService: string;
  termination: string;
  error: string;
}

export interface TcpEngine {
  backend: RawBackend;
  /** Connect to service `name` from `localAddress` (sending `header` first): relayed when the real server's greeting came through. */
  relay(name: string, localAddress: string, header?: Buffer): Promise<{ relayed: boolean; socket: net.Socket }>;
  /** The access log lines of service `name`, once `ready` holds of them (or after 2 s). */
  lines(name: string, ready: (lines: TcpLine[]) => boolean): Promise<TcpLine[]>;
  close(): Promise<void>;
}

export async function startTcpEngine(services: TcpServiceSpec[]): Promise<TcpEngine> {
  const dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-tcp-limits-'));
  const logPath = path.join(dir, 'access.log');
  const backend = await startRawBackend('backend');
  const ports = new Map<string, number>();
  const yaml = [`workers: 1`, `accessLog: { path: ${logPath}, format: json }`, 'virtualServices:'];
  for (const spec of services) {
    const port = await freePort();
    ports.set(spec.name, port);
    yaml.push(`  - name: ${spec.name}`, `    listen: 127.0.0.1:${port}`, '    protocol: tcp', `    realServers: [ { address: ${backend.address} } ]`);
    if (spec.rateLimit !== undefined) yaml.push(`    rateLimit: ${spec.rateLimit}`);
    if (spec.access !== undefined) yaml.push(`    access: ${spec.access}`);
    if (spec.acceptProxyProtocol === true) yaml.push('    acceptProxyProtocol: true');
  }
  const runtime = new WorkerRuntime();
  await runtime.apply(parseConfig(yaml.join('\n')));
  return {
    backend,
    relay: async (name, localAddress, header) => {
      const socket = net.connect({ port: ports.get(name)!, host: '127.0.0.1', localAddress });
      socket.on('error', () => {});
      if (header !== undefined) socket.write(header);
      // Refused: closed before the real server's greeting. Neither within 2 s: something hangs.
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${name}: no greeting and no close within 2 s`)), 2000).unref());
      const greeting = await Promise.race([readBytes(socket, 'line').catch(() => null), timeout]);
      return { relayed: greeting?.toString() === 'backend\n', socket };
    },
    lines: async (name, ready) => {
      const deadline = Date.now() + 2000;
      for (;;) {
        const all = (await readAccessLog(logPath, 0, 0)) as unknown as TcpLine[];
        const mine = all.filter((line) => line.virtualService === name);
        if (ready(mine) || Date.now() > deadline) return mine;
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: async () => {
      await runtime.drain(0);
      await backend.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
