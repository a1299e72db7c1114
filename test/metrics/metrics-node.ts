/**
 * A running load balancer for the metrics tests (hermetic and interop): two workers in front of
 * one local HTTP server, the admin listener on loopback with no users; and a plain GET.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { configYaml, freePort, startFulcrum, type Fulcrum } from '../helpers/fulcrum.ts';
import { teardown } from '../helpers/processes.ts';

export interface MetricsNode {
  fulcrum: Fulcrum;
  vsPort: number;
  adminPort: number;
  stop(): Promise<void>;
}

export async function startMetricsNode(): Promise<MetricsNode> {
  const backend = http.createServer((_req, res) => res.end('ok\n'));
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const vsPort = await freePort();
  const adminPort = await freePort();
  const fulcrum = await startFulcrum({
    config: configYaml({
      workers: 2,
      admin: { listen: `127.0.0.1:${adminPort}` },
      virtualServices: [{ name: 'web', listen: `127.0.0.1:${vsPort}`, realServers: [`127.0.0.1:${(backend.address() as AddressInfo).port}`] }],
    }),
  });
  return { fulcrum, vsPort, adminPort, stop: () => teardown(() => fulcrum.stop(), () => new Promise((resolve) => backend.close(resolve))) };
}

export function get(port: number, path: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), type: String(res.headers['content-type']) }));
      })
      .on('error', reject);
  });
}
