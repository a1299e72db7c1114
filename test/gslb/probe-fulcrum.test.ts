/**
 * fulcrum site checks against a stand-in admin API: what counts as up, the load, and the words
 * for each way it can fail.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { judge, probeFulcrum } from '../../src/gslb/probe-fulcrum.ts';
import { closedPort } from '../health/servers.ts';
import { startStatusServer, statusDoc } from './check-driver-helpers.ts';

const NTRIP = { virtualService: 'ntrip', minUp: 2 };

async function closed(socket: Socket): Promise<void> {
  if (!socket.destroyed) await once(socket, 'close');
}

function target(address: string): { host: string; port: number } {
  const [host, port] = address.split(':');
  return { host: host!, port: Number(port) };
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
});
