/**
 * fulcrum site checks against a stand-in admin API: what counts as up, the load, and the words
 * for each way it can fail.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { lookup } from 'node:dns/promises';
import { describe, it } from 'node:test';
import { AdminServer } from '../../src/admin/server.ts';
import type { StatusDocument } from '../../src/admin/types.ts';
import { formatAddress } from '../../src/config/address.ts';
import { type FulcrumLookup, judge, probeFulcrum } from '../../src/gslb/probe-fulcrum.ts';
import { backendHandler } from '../admin/helpers.ts';
import { closedPort } from '../health/servers.ts';
import { freePort } from '../helpers/processes.ts';
import { startStatusServer, statusDoc } from './check-driver-helpers.ts';

const NTRIP = { virtualService: 'ntrip', minUp: 2 };

async function closed(socket: Socket): Promise<void> {
  if (!socket.destroyed) await once(socket, 'close');
}

function target(address: string): { host: string; port: number } {
  const [host, port] = address.split(':');
  return { host: host!, port: Number(port) };
}

/** A resolver that knows these names only; anything else is ENOTFOUND, as getaddrinfo says it. */
function names(table: Record<string, string>): FulcrumLookup & { asked: string[] } {
  const asked: string[] = [];
  const resolve = async (hostname: string): Promise<{ address: string; family: number }> => {
    asked.push(hostname);
    const address = table[hostname];
    if (address !== undefined) return { address, family: address.includes(':') ? 6 : 4 };
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
  };
  return Object.assign(resolve, { asked });
}

/** A stand-in admin API on `host` that keeps each request's Host header. */
async function hostRecorder(host: string, doc: unknown): Promise<{ port: number; hosts: (string | undefined)[]; close: () => Promise<void> }> {
  const hosts: (string | undefined)[] = [];
  const server = createHttpServer((req, res) => {
    hosts.push(req.headers.host);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
  });
  server.listen(0, host);
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    hosts,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

describe('probeFulcrum', () => {
  it('is up with at least minUp healthy enabled real servers, and reports client connections per such server as load', async () => {
    const node = await startStatusServer(statusDoc('ntrip', 2, 1, 9));
    try {
      const up = await probeFulcrum(target(node.address), NTRIP, 1000);
      assert.equal(up.ok, true);
      assert.match(up.reason, /^fulcrum node 127\.0\.0\.1:\d+: virtual service ntrip has 2 of 3 real servers up \(minimum 2\), read in/);
      assert.equal(up.load, 4.5);

      node.doc = statusDoc('ntrip', 1, 2, 9);
      const down = await probeFulcrum(target(node.address), NTRIP, 1000);
      assert.equal(down.ok, false);
      assert.match(down.reason, /has 1 of 3 real servers up \(minimum 2\)/);
      assert.equal(down.load, 9);
    } finally {
      await node.close();
    }
  });

  it('does not count draining, disabled or failing servers', () => {
    const doc = statusDoc('ntrip', 1, 1, 0, [{ state: 'drain', up: true }, { state: 'disabled', up: true }]);
    const verdict = judge('n:1', JSON.stringify(doc), { virtualService: 'ntrip', minUp: 1 });
    assert.deepEqual([verdict.ok, verdict.load], [true, 0]);
    assert.match(verdict.reason, /has 1 of 4 real servers up \(minimum 1\)/);
    assert.equal(judge('n:1', JSON.stringify(statusDoc('ntrip', 0, 2)), NTRIP).load, null, 'no load when nothing counts');
  });

  it('names a missing virtual service, with a did-you-mean', () => {
    const verdict = judge('n:1', JSON.stringify(statusDoc('ntrip', 1, 0)), { virtualService: 'ntirp', minUp: 1 });
    assert.equal(verdict.ok, false);
    assert.equal(verdict.reason, 'fulcrum node n:1: no virtual service "ntirp"; did you mean "ntrip"?');
    assert.match(judge('n:1', JSON.stringify(statusDoc('web', 1, 0)), { virtualService: 'ntrip', minUp: 1 }).reason, /no virtual service "ntrip" \(it has web\)/);
    assert.match(judge('n:1', '<html>', NTRIP).reason, /did not answer JSON; is n:1 a Fulcrum admin API\?/);
    assert.match(judge('n:1', '{"hello":1}', NTRIP).reason, /has no virtualServices/);
  });

  it('says when nothing listens, when the path is not there, and when the node does not answer in time', async () => {
    const port = await closedPort();
    const refused = await probeFulcrum({ host: '127.0.0.1', port }, NTRIP, 1000);
    assert.deepEqual([refused.ok, refused.reason, refused.load], [false, `no admin API at 127.0.0.1:${port}: connection refused`, null]);

    const web = createHttpServer((_req, res) => res.writeHead(404).end('not here'));
    web.listen(0, '127.0.0.1');
    await once(web, 'listening');
    const notFound = await probeFulcrum({ host: '127.0.0.1', port: (web.address() as AddressInfo).port }, NTRIP, 1000);
    web.close();
    assert.match(notFound.reason, /GET \/api\/v1\/status answered HTTP 404; is 127\.0\.0\.1:\d+ its admin\.listen\?/);

    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket.resume()));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const started = performance.now();
    const hung = await probeFulcrum({ host: '127.0.0.1', port: (silent.address() as AddressInfo).port }, NTRIP, 150);
    assert.ok(performance.now() - started < 1000);
    assert.match(hung.reason, /no answer from its admin API within 150 ms/);
    await closed(sockets[0]!); // the check closed its connection
    silent.close();
  });

  it('an abort closes the connection and settles at once', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket.resume()));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const abort = new AbortController();
    const pending = probeFulcrum({ host: '127.0.0.1', port: (silent.address() as AddressInfo).port }, NTRIP, 5000, abort.signal);
    await once(silent, 'connection');
    abort.abort();
    assert.equal((await pending).reason, 'check stopped');
    await closed(sockets[0]!);
    silent.close();
  });

  it('a target by host name: resolved first, and the real admin API (which refuses non-IP hosts with 421) answers it', async () => {
    const port = await freePort();
    const { handler } = backendHandler({ status: async () => statusDoc('ntrip', 2, 0, 8) as StatusDocument });
    const admin = await AdminServer.open({ host: '127.0.0.1', port }, handler);
    try {
      const resolver = names({ 'east.gslb.test': '127.0.0.1' });
      const result = await probeFulcrum({ host: 'east.gslb.test', port }, NTRIP, 1000, undefined, { lookup: resolver });
      assert.equal(result.ok, true, result.reason);
      assert.match(result.reason, new RegExp(`^fulcrum node east\\.gslb\\.test:${port}: virtual service ntrip has 2 of 2 real servers up`));
      assert.equal(result.load, 4);
      assert.deepEqual(resolver.asked, ['east.gslb.test']);
    } finally {
      await admin.close();
    }
  });

  it('sends Host: <address>:<port> for a name, by the system resolver (localhost here) and in brackets for IPv6', async (t) => {
    const { address } = await lookup('localhost');
    const local = await hostRecorder(address, statusDoc('ntrip', 2, 0));
    try {
      const result = await probeFulcrum({ host: 'localhost', port: local.port }, NTRIP, 1000);
      assert.equal(result.ok, true, result.reason);
      assert.deepEqual(local.hosts, [formatAddress({ host: address, port: local.port })]);
    } finally {
      await local.close();
    }

    let v6: Awaited<ReturnType<typeof hostRecorder>>;
    try {
      v6 = await hostRecorder('::1', statusDoc('ntrip', 2, 0));
    } catch {
      t.diagnostic('no IPv6 loopback here: the bracket case is not run');
      return;
    }
    try {
      const result = await probeFulcrum({ host: 'six.gslb.test', port: v6.port }, NTRIP, 1000, undefined, { lookup: names({ 'six.gslb.test': '::1' }) });
      assert.equal(result.ok, true, result.reason);
      assert.deepEqual(v6.hosts, [`[::1]:${v6.port}`]);
    } finally {
      await v6.close();
    }
  });

  it('a name that does not resolve is down, saying so; an IP target is not looked up', async () => {
    const resolver = names({});
    const missing = await probeFulcrum({ host: 'gone.gslb.test', port: 9000 }, NTRIP, 1000, undefined, { lookup: resolver });
    assert.deepEqual(
      [missing.ok, missing.load, missing.reason],
      [false, null, 'fulcrum node gone.gslb.test:9000: the host name gone.gslb.test does not resolve to an address (ENOTFOUND); check the name, or give the node\'s IP address'],
    );
    const port = await closedPort();
    await probeFulcrum({ host: '127.0.0.1', port }, NTRIP, 1000, undefined, { lookup: resolver });
    assert.deepEqual(resolver.asked, ['gone.gslb.test']);
  });

  it('a lookup that never answers ends at the timeout, and an abort during it settles at once', async () => {
    const never: FulcrumLookup = () => new Promise(() => {});
    const hung = await probeFulcrum({ host: 'slow.gslb.test', port: 9000 }, NTRIP, 100, undefined, { lookup: never });
    assert.equal(hung.reason, 'fulcrum node slow.gslb.test:9000: no answer from its admin API within 100 ms');
    const abort = new AbortController();
    const pending = probeFulcrum({ host: 'slow.gslb.test', port: 9000 }, NTRIP, 5000, abort.signal, { lookup: never });
    abort.abort();
    assert.equal((await pending).reason, 'check stopped');
  });

  it('a clientConnections that is not a count makes the load unknown (null), not 0, and the reason says so', () => {
    for (const connections of ['many', null, -1, undefined]) {
      const doc = statusDoc('ntrip', 2, 0) as { virtualServices: { clientConnections?: unknown }[] };
      if (connections === undefined) delete doc.virtualServices[0]!.clientConnections;
      else doc.virtualServices[0]!.clientConnections = connections;
      const verdict = judge('n:1', JSON.stringify(doc), NTRIP);
      assert.deepEqual([verdict.ok, verdict.load], [true, null], `clientConnections ${String(connections)}`);
      assert.match(verdict.reason, /has 2 of 2 real servers up \(minimum 2\); its clientConnections is .+, not a count, so its load is unknown$/);
    }
    assert.equal(judge('n:1', JSON.stringify(statusDoc('ntrip', 2, 0, 0)), NTRIP).load, 0, 'a real 0 is a load of 0');
  });
});
