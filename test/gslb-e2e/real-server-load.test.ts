/**
 * Issue 5: `real-server-load` ("sites reporting lower load win; with the fulcrum check type the
 * load comes from that node") and the `fulcrum` check type, end to end: the GSLB Fulcrum checks
 * two other real Fulcrum nodes through their admin API (GET /api/v1/status). Each node has an
 * http virtual service `web` with one real server, itself health-checked by the node.
 *
 * The load a node reports is its virtual service's client connections per healthy real server
 * (src/gslb/probe-fulcrum.ts); the test moves it by holding keep-alive client connections open to
 * one node's virtual service or the other's.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { configYaml, startBackends, startFulcrum, type Backends, type Fulcrum } from '../helpers/fulcrum.ts';
import { teardown } from '../helpers/processes.ts';
import { changeLog, describeTally, DnsClient, freePort, gslbYaml, holdsFor, pollUntil, siteLog, START_TIMEOUT_MS, SUITE_TIMEOUT_MS, ZONE } from './helpers.ts';

const NAME = `load.${ZONE}`;
const SITE_A = '192.0.2.71';
const SITE_B = '192.0.2.72';
const CHECK_INTERVAL_MS = 300;

interface Node {
  fulcrum: Fulcrum;
  backends: Backends;
  adminPort: number;
  vsPort: number;
}

/** Ports first, so that the three processes can start at once (each start is seconds of module loading). */
async function nodePorts(): Promise<{ adminPort: number; vsPort: number }> {
  return { adminPort: await freePort(), vsPort: await freePort() };
}

async function startNode(ports: { adminPort: number; vsPort: number }): Promise<Node> {
  const backends = await startBackends(1);
  const config = configYaml({
    admin: { listen: `127.0.0.1:${ports.adminPort}` },
    virtualServices: [
      {
        name: 'web',
        listen: `127.0.0.1:${ports.vsPort}`,
        healthCheck: { type: 'http', path: '/', interval: '200ms', fall: 1, rise: 1 },
        realServers: backends.servers.map((b) => b.address),
      },
    ],
  });
  try {
    const fulcrum = await startFulcrum({ config, readyTimeoutMs: START_TIMEOUT_MS });
    return { fulcrum, backends, ...ports };
  } catch (error) {
    // A listening backend would keep this test process alive after the failure.
    await backends.close();
    throw error;
  }
}

/** Keep-alive client connections held open on a virtual service: each has had one answered request, then sits idle. */
async function holdConnections(port: number, n: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const socket = net.connect(port, '127.0.0.1');
    sockets.push(socket);
    const signal = AbortSignal.timeout(5000);
    try {
      await once(socket, 'connect', { signal });
      socket.write('GET / HTTP/1.1\r\nHost: load.test\r\n\r\n');
      const [chunk] = (await once(socket, 'data', { signal })) as [Buffer];
      assert.match(chunk.toString('latin1'), /^HTTP\/1\.1 200/);
    } catch (error) {
      for (const s of sockets) s.destroy();
      throw error;
    }
    socket.on('error', () => {});
  }
  return sockets;
}

describe('GSLB real-server-load and fulcrum checks against two real Fulcrum nodes', { timeout: SUITE_TIMEOUT_MS }, () => {
  let nodeA: Node;
  let nodeB: Node;
  let gslb: Fulcrum;
  let dns: DnsClient;
  const held: net.Socket[] = [];

  before(async () => {
    const [portsA, portsB, port] = [await nodePorts(), await nodePorts(), await freePort()];
    const site = (name: string, address: string, adminPort: number): object => ({
      name,
      address,
      check: { type: 'fulcrum', target: `127.0.0.1:${adminPort}`, virtualService: 'web', minUp: 1, interval: `${CHECK_INTERVAL_MS}ms`, timeout: `${CHECK_INTERVAL_MS}ms`, fall: 1, rise: 1, startAs: 'down' },
    });
    const config = gslbYaml(port, [{ name: NAME, selection: 'real-server-load', sites: [site('a', SITE_A, portsA.adminPort), site('b', SITE_B, portsB.adminPort)] }]);
    // The GSLB node may check the others before they listen: the sites start down and come up
    // with the first check that reaches their admin API (and brings its load).
    const started = await Promise.allSettled([startNode(portsA), startNode(portsB), startFulcrum({ config, readyTimeoutMs: START_TIMEOUT_MS })]);
    if (started[0].status === 'fulfilled') nodeA = started[0].value;
    if (started[1].status === 'fulfilled') nodeB = started[1].value;
    if (started[2].status === 'fulfilled') gslb = started[2].value;
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    dns = await DnsClient.open(port);
    // Both sites up (their nodes answer and have a healthy real server) before the loads move.
    await Promise.all([siteLog(gslb, NAME, 'a', 'up'), siteLog(gslb, NAME, 'b', 'up')]);
    // Equal loads (0 and 0): the first listed. A node that is still starting may not report its
    // load yet (unknown ranks last), so this holds once both have reported.
    await pollUntil(dns, NAME, SITE_A, 10 * CHECK_INTERVAL_MS);
  });

  after(() =>
    teardown(
      () => held.forEach((s) => s.destroy()),
      () => dns?.close(),
      () => gslb?.stop(),
      () => nodeA?.fulcrum.stop(),
      () => nodeB?.fulcrum.stop(),
      () => nodeA?.backends.close(),
      () => nodeB?.backends.close(),
    ),
  );

  it('the site whose node reports the lower load takes every answer, and the choice follows the loads', async () => {
    // Three clients on node A (load 3 per real server), none on node B (load 0): B wins.
    held.push(...(await holdConnections(nodeA.vsPort, 3)));
    // A check may catch the connections half opened (load 1 or 2) first: wait for load 3.
    const first = await changeLog(gslb, NAME, { includes: 'site "a" of load.example.test reports load 3', timeoutMs: 5000 });
    await pollUntil(dns, NAME, SITE_B, 10 * CHECK_INTERVAL_MS);
    assert.match(String(first.msg), /site "a" of load\.example\.test reports load 3$/, 'three connections on one real server');
    let counts = await dns.tally(NAME, 50);
    assert.deepEqual([...counts], [[SITE_B, 50]], `load 0 beats load 3: ${describeTally(counts)}`);

    // Six clients on node B (load 6) against A's 3: A wins.
    const from = gslb.logs.length;
    held.push(...(await holdConnections(nodeB.vsPort, 6)));
    const moved = await changeLog(gslb, NAME, { from, includes: 'site "b" of load.example.test reports load 6', timeoutMs: 5000 });
    assert.match(String(moved.msg), /site "b" of load\.example\.test reports load 6$/);
    await pollUntil(dns, NAME, SITE_A, 10 * CHECK_INTERVAL_MS);
    counts = await dns.tally(NAME, 50);
    assert.deepEqual([...counts], [[SITE_A, 50]], `load 3 beats load 6: ${describeTally(counts)}`);
  });

  it('fulcrum check: a site is down while its node has fewer than minUp healthy real servers, whatever its load', async () => {
    // Node A has the lower load (3 against 6) and answers; its only real server goes away.
    assert.equal(await dns.answer(NAME), SITE_A);
    const from = gslb.logs.length;
    await nodeA.backends.close();
    await pollUntil(dns, NAME, SITE_B, 5000);
    const down = await siteLog(gslb, NAME, 'a', 'down', { from });
    assert.match(String(down.msg), /virtual service web has 0 of 1 real servers up \(minimum 1\)/);
    await holdsFor(dns, NAME, SITE_B, 2 * CHECK_INTERVAL_MS);
  });
});
