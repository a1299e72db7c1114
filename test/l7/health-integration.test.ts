import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { configYaml, freePort, startFulcrum, type Fulcrum } from '../helpers/fulcrum.ts';

// The supervisor runs the health checks and the workers apply the verdicts: a real server whose
// check fails gets no traffic (in every worker), and gets it back when the check passes again.

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

interface Backend {
  address: string;
  healthy: boolean;
  requests: number;
}

async function backend(name: string): Promise<Backend> {
  const state: Backend = { address: '', healthy: true, requests: 0 };
  const server: Server = createServer((req, res) => {
    if (req.url === '/health') {
      res.statusCode = state.healthy ? 200 : 503;
      res.end(state.healthy ? 'OK' : 'maintenance');
      return;
    }
    state.requests++;
    res.end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  state.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

async function get(port: number): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/`);
  return { status: res.status, body: await res.text() };
}

test('a failing health check takes a real server out of every worker, and a passing one brings it back', async () => {
  const [a, b] = [await backend('a'), await backend('b')];
  const port = await freePort();
  const fulcrum: Fulcrum = await startFulcrum({
    config: configYaml({
      workers: 2,
      virtualServices: [
        {
          name: 'web',
          listen: `127.0.0.1:${port}`,
          realServers: [a.address, b.address],
          healthCheck: { type: 'http', path: '/health', interval: '200ms', timeout: '100ms', fall: 1, rise: 1 },
        },
      ],
    }),
  });
  cleanups.push(() => fulcrum.stop());

  b.healthy = false;
  const down = await fulcrum.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes(`${b.address} in "web" is DOWN`), { timeoutMs: 5000 });
  assert.match(String(down.msg), /HTTP 503/);
  const before = b.requests;
  for (let i = 0; i < 20; i++) assert.equal((await get(port)).body, 'a');
  assert.equal(b.requests, before, 'the down server got requests');

  b.healthy = true;
  await fulcrum.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes(`${b.address} in "web" is UP`), { timeoutMs: 5000 });
  const bodies = new Set<string>();
  for (let i = 0; i < 20; i++) bodies.add((await get(port)).body);
  assert.deepEqual([...bodies].sort(), ['a', 'b']);
});

test('a server that starts down (startAs: down) and fails its checks gets nothing; the client gets 503 naming the service', async () => {
  const a = await backend('a');
  a.healthy = false;
  const port = await freePort();
  const fulcrum = await startFulcrum({
    config: configYaml({
      virtualServices: [
        {
          name: 'solo',
          listen: `127.0.0.1:${port}`,
          realServers: [a.address],
          healthCheck: { type: 'http', path: '/health', interval: '200ms', timeout: '100ms', startAs: 'down' },
        },
      ],
    }),
  });
  cleanups.push(() => fulcrum.stop());
  const res = await get(port);
  assert.equal(res.status, 503);
  assert.match(res.body, /no real server available \(virtual service "solo"\)/);
  assert.equal(a.requests, 0);
});
