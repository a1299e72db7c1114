/**
 * Real clients and real servers for the pool tests: a WorkerRuntime in this process built from
 * YAML, clients that connect from a chosen loopback address over http, tcp and udp, and real
 * servers that answer their name over HTTP (TCP) and over UDP on the same port number.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { loadConfigText } from '../../src/config/load.ts';
import { WorkerRuntime } from '../../src/worker/runtime.ts';

export async function runtimeFor(yaml: string): Promise<WorkerRuntime> {
  const loaded = loadConfigText(yaml, 'pool-test.yaml');
  assert.ok(loaded.ok, `${yaml}\n${JSON.stringify(!loaded.ok && loaded.problems, null, 2)}`);
  const runtime = new WorkerRuntime();
  await runtime.apply(loaded.config);
  return runtime;
}

/**
 * GET `path` through an http virtual service from `localAddress`; the status and body (the real
 * server's name). Marked handled: a request left in flight when an assertion fails is cut at
 * teardown, and its rejection must not hide that failure; awaiting it still throws.
 */
export function httpGet(port: number, localAddress = '127.0.0.1', path = '/'): Promise<{ status: number; body: string }> {
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').trim() }));
    });
    req.on('error', reject);
  });
  answer.catch(() => {});
  return answer;
}

/** An HTTP/1.0 request written through a tcp virtual service from `localAddress`; the body of the answer. */
export function tcpGet(port: number, localAddress = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      resolve(text.slice(text.indexOf('\r\n\r\n') + 4).trim());
    });
    socket.write('GET / HTTP/1.0\r\n\r\n');
  });
}

/** One datagram through a udp virtual service from a new client port on `localAddress`; the answer. */
export async function udpAsk(port: number, localAddress = '127.0.0.1'): Promise<string> {
  const socket = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve) => socket.bind(0, localAddress, () => resolve()));
    socket.send('who', port, '127.0.0.1');
    const [msg] = (await once(socket, 'message', { signal: AbortSignal.timeout(3000) })) as [Buffer];
    return msg.toString('utf8');
  } finally {
    socket.close();
  }
}

export interface NamedServer {
  name: string;
  address: string;
  close(): Promise<void>;
}

/** Answers its name to HTTP on a TCP port and to any datagram on the UDP port of the same number. */
export async function dualServer(name: string): Promise<NamedServer> {
  for (let attempt = 0; ; attempt++) {
    const server = http.createServer((_req, res) => res.end(`${name}\n`));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const udp = dgram.createSocket('udp4');
    udp.on('message', (_msg, from) => udp.send(name, from.port, from.address));
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, '127.0.0.1', () => resolve());
      });
    } catch (error) {
      // That UDP port number is taken: try another pair.
      server.close();
      if (attempt >= 5) throw error;
      continue;
    }
    return {
      name,
      address: `127.0.0.1:${port}`,
      close: async () => {
        udp.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }
}

/** For state that no event announces (a counter in the worker's stats). */
export async function until(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Everything a TCP server at `port` sends before it closes, to a client from `localAddress`. */
export async function tcpText(port: number, localAddress: string): Promise<string> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress });
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await once(socket, 'end');
  socket.destroy();
  return Buffer.concat(chunks).toString('latin1');
}
