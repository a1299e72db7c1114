// Reload inside one worker (WorkerRuntime.apply): what a new config takes over from the running
// one, what it lets go of, and that a config that fails to apply leaves the running one intact.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { describe, it } from 'node:test';
import { Client } from 'undici';
import { configText, listenLocal, parseConfig, sleep, startProxy, type ServiceSpec } from './harness.ts';

interface Counted {
  name: string;
  address: string;
  server: http.Server;
  opened: number;
  closed: number;
  readonly open: number;
}

/** A real server that names itself, counts its connections, and answers /slow after 300 ms. */
async function counted(name: string): Promise<Counted> {
  const c: Counted = {
    name,
    address: '',
    server: http.createServer((req, res) => {
      req.resume();
      setTimeout(() => res.end(name), req.url === '/slow' ? 300 : 0);
    }),
    opened: 0,
    closed: 0,
    get open() {
      return this.opened - this.closed;
    },
  };
  c.server.keepAliveTimeout = 60_000; // it never closes an idle connection first: we must
  c.server.on('connection', (s: net.Socket) => {
    c.opened++;
    s.on('close', () => c.closed++);
  });
  c.address = await listenLocal(c.server);
  return c;
}

async function closeAll(servers: Counted[]): Promise<void> {
  for (const s of servers) {
    s.server.closeAllConnections();
    s.server.close();
  }
}

async function get(client: Client, path = '/'): Promise<string> {
  const res = await client.request({ path, method: 'GET' });
  assert.equal(res.statusCode, 200);
  return res.body.text();
}

async function until(cond: () => boolean, ms = 2000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await sleep(20);
  return cond();
}

describe('reload in a worker', () => {
  it('keeps warm pooled connections to real servers that stay', async () => {
    const [a] = [await counted('a')];
    const spec: ServiceSpec = { realServers: [a!.address], timeouts: { upstreamIdle: '10s' } };
    const proxy = await startProxy(spec);
    const client = new Client(proxy.url);
    try {
      await get(client);
      await proxy.reapply({ ...spec, retries: 3 });
      await get(client);
      assert.equal(a!.opened, 1, 'the reload cost the real server its pooled connection');
    } finally {
      await client.close();
      await proxy.close();
      await closeAll([a!]);
    }
  });

  it('closes the connection of a request in flight to a server the reload removed, once it completes', async () => {
    const a = await counted('a');
    const b = await counted('b');
    const proxy = await startProxy({ realServers: [a.address], timeouts: { upstreamIdle: '10s' } });
    const client = new Client(proxy.url);
    try {
      const slow = get(client, '/slow');
      await sleep(100);
      await proxy.reapply({ realServers: [b.address], timeouts: { upstreamIdle: '10s' } });
      assert.equal(await slow, 'a');
      // Nothing sweeps the pool of a server that left the config: it must not keep the connection.
      assert.equal(await until(() => a.open === 0), true, `${a.open} connection(s) to the removed server left open`);
      assert.equal(await get(client), 'b');
    } finally {
      await client.close();
      await proxy.close();
      await closeAll([a, b]);
    }
  });

  it('leaves no idle connection open when a reload reorders the real servers', async () => {
    const a = await counted('a');
    const b = await counted('b');
    const proxy = await startProxy({ realServers: [a.address, b.address], timeouts: { upstreamIdle: '300ms' } });
    const client = new Client(proxy.url);
    try {
      assert.deepEqual([await get(client), await get(client)].sort(), ['a', 'b']);
      await proxy.reapply({ realServers: [b.address, a.address], timeouts: { upstreamIdle: '300ms' } });
      // Past upstreamIdle, every pooled connection is closed, whichever pool it ended up in.
      assert.equal(await until(() => a.open === 0 && b.open === 0, 2000), true, `open: a ${a.open}, b ${b.open}`);
      assert.deepEqual([await get(client), await get(client)].sort(), ['a', 'b']);
    } finally {
      await client.close();
      await proxy.close();
      await closeAll([a, b]);
    }
  });

  it('a config that fails to apply (address in use) changes nothing: weights, pools and listeners stay', async () => {
    const a = await counted('a');
    const b = await counted('b');
    const squatter = net.createServer();
    squatter.listen(0, '127.0.0.1');
    await once(squatter, 'listening');
    const taken = (squatter.address() as net.AddressInfo).port;
    const spec: ServiceSpec = { scheduler: 'weighted-round-robin', realServers: [a.address, b.address], timeouts: { upstreamIdle: '10s' } };
    const proxy = await startProxy(spec);
    const client = new Client(proxy.url);
    try {
      assert.deepEqual([await get(client), await get(client)].sort(), ['a', 'b']);
      // The same service with b at weight 0, plus a second one on an address someone else holds.
      const next = parseConfig(
        configText({ ...spec, realServers: [{ address: a.address, weight: 100 }, { address: b.address, weight: 0 }] }, proxy.port, null),
      );
      const other = { ...next.virtualServices[0]!, name: 'other', listen: { ...next.virtualServices[0]!.listen, port: taken } };
      next.virtualServices.push(other);
      await assert.rejects(proxy.runtime.apply(next), /EADDRINUSE/);

      const names: string[] = [];
      for (let i = 0; i < 10; i++) names.push(await get(client));
      assert.deepEqual(
        names.filter((n) => n === 'b').length,
        5,
        `the failed config's weights leaked into the running one: ${names.join('')}`,
      );
      assert.equal(a.opened + b.opened, 2, 'the failed config cost the running one its pooled connections');
    } finally {
      await client.close();
      await proxy.close();
      squatter.close();
      await closeAll([a, b]);
    }
  });
});
