// Regression (issue 10, "A real server killed under load"): two real servers, the default
// retries: 1, fifty keep-alive clients looping GETs; one server is killed mid-run (its listener
// closed and every connection cut, as `nginx -s stop` does). A refused connect must go to the
// other server, and a pooled connection that the dead server closed must not spend the one retry
// on a fresh connect to the same dead server: zero failed idempotent requests.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { describe, it } from 'node:test';
import { startProxy } from '../l7/harness.ts';

interface Killable {
  address: string;
  served: number;
  kill(): Promise<void>;
}

async function startServer(name: string): Promise<Killable> {
  const sockets = new Set<Socket>();
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (_req, res) => {
    killable.served++;
    res.end(name);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const killable: Killable = {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    served: 0,
    kill: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
  return killable;
}

describe('a real server killed under load (issue 10)', () => {
  it('fifty keep-alive clients see no failed GET when one of two servers dies mid-run', async () => {
    const a = await startServer('a');
    const b = await startServer('b');
    // upstreamIdle long enough that idle pooled connections to a are there when it dies.
    const proxy = await startProxy({ realServers: [a.address, b.address], timeouts: { upstreamIdle: '30s' } });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
    const failures: string[] = [];
    const byServer: Record<string, number> = {};
    let total = 0;
    let running = true;
    const client = async (): Promise<void> => {
      while (running) {
        await new Promise<void>((resolve) => {
          const req = http.get({ host: '127.0.0.1', port: proxy.port, path: '/', agent }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => (body += d));
            res.on('end', () => {
              total++;
              if (res.statusCode !== 200) failures.push(`${res.statusCode}: ${body.trim()}`);
              else byServer[body] = (byServer[body] ?? 0) + 1;
              resolve();
            });
          });
          req.on('error', (error) => {
            failures.push(`client error: ${error.message}`);
            resolve();
          });
        });
      }
    };
    try {
      const clients = Array.from({ length: 50 }, () => client());
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const beforeKill = total;
      await a.kill();
      const servedByA = a.served;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      running = false;
      await Promise.all(clients);
      assert.deepEqual(failures.slice(0, 5), [], `${failures.length} failed of ${total}`);
      assert.ok(beforeKill > 200 && total - beforeKill > 200, `enough load before (${beforeKill}) and after (${total - beforeKill}) the kill`);
      assert.ok(servedByA > 50 && (byServer['b'] ?? 0) > 50, `both served before the kill: ${JSON.stringify(byServer)}`);
      // The failures the retries absorbed are in the access log, with the reason.
      const log = await proxy.accessLog(total);
      assert.equal(log.filter((l) => l.status !== 200).length, 0);
    } finally {
      running = false;
      agent.destroy();
      await proxy.close();
      await b.kill();
    }
  });
});
