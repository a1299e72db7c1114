// A worker restarted after a crash must answer DNS from what the site checks know, not from the
// checks' starting state: the supervisor sends it the site reports before its config, so its
// first answer already leaves a down primary out. Queries from 64 source ports (SO_REUSEPORT
// spreads them over both workers) run through the crash and the restart.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { describe, it } from 'node:test';
import { decode, encode } from 'dns-packet';
import { startFulcrum, type Fulcrum } from '../helpers/fulcrum.ts';
import { teardown } from '../helpers/processes.ts';
import { closedPort, DnsClient, freePort, gslbYaml, pollUntil, START_TIMEOUT_MS, ZONE } from '../gslb-e2e/helpers.ts';

const NAME = `www.${ZONE}`;
const PRIMARY = '192.0.2.10';
const DR = '198.51.100.20';

describe('a restarted worker and GSLB state', { timeout: 90_000 }, () => {
  it('never answers a down primary while it restarts', async () => {
    const port = await freePort();
    const dead = await closedPort();
    let fulcrum: Fulcrum | undefined;
    const sockets: dgram.Socket[] = [];
    try {
      fulcrum = await startFulcrum({
        readyTimeoutMs: START_TIMEOUT_MS,
        config: gslbYaml(
          port,
          [
            {
              name: NAME,
              selection: 'fixed-weight',
              sites: [
                { name: 'primary', address: PRIMARY, weight: 1000, check: { type: 'tcp', target: `127.0.0.1:${dead}`, interval: '200ms', timeout: '100ms' } },
                { name: 'dr', address: DR, weight: 1 },
              ],
            },
          ],
          { top: { workers: 2 } },
        ),
      });
      const dns = await DnsClient.open(port);
      await pollUntil(dns, NAME, DR, 5000);
      dns.close();
      const counts = new Map<string, number>();
      for (let i = 0; i < 64; i++) {
        const socket = dgram.createSocket('udp4');
        await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
        socket.on('message', (message) => {
          const answer = (decode(message).answers ?? []).map((record) => String((record as { data: unknown }).data)).join(',');
          counts.set(answer, (counts.get(answer) ?? 0) + 1);
        });
        sockets.push(socket);
      }
      const query = encode({ type: 'query', id: 1, flags: 0x0100, questions: [{ name: NAME, type: 'A', class: 'IN' }] });
      let running = true;
      const blast = (async () => {
        while (running) {
          for (const socket of sockets) socket.send(query, port, '127.0.0.1');
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const from = fulcrum.logs.length;
      process.kill(fulcrum.workers[0]!, 'SIGKILL');
      const restarted = await fulcrum.waitForLog((line) => line.msg === 'worker exited; restarting', { from, timeoutMs: 10_000 });
      // The restart waits restartInMs, then the new worker binds and answers: keep asking past it.
      await new Promise((resolve) => setTimeout(resolve, Number(restarted['restartInMs'] ?? 100) + 2000));
      running = false;
      await blast;
      assert.equal(counts.get(PRIMARY) ?? 0, 0, `answers during the crash and restart: ${JSON.stringify(Object.fromEntries(counts))}`);
      assert.ok((counts.get(DR) ?? 0) > 1000, `answers during the crash and restart: ${JSON.stringify(Object.fromEntries(counts))}`);
    } finally {
      await teardown(() => {
        for (const socket of sockets) socket.close();
      }, () => fulcrum?.stop());
    }
  });
});
