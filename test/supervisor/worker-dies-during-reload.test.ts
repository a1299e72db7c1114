// A worker that dies while a reload is being applied must cost that reload, never the supervisor:
// the rollback and the snapshots used to send to its closed IPC channel, whose error event (with
// no listener) took the supervisor and every worker down. Here a worker is stopped (standing in
// for one slow to apply), the config reloaded, and the worker killed before it answers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startFulcrum, type Fulcrum } from '../helpers/fulcrum.ts';
import { teardown } from '../helpers/processes.ts';
import { DnsClient, freePort, gslbYaml, START_TIMEOUT_MS, ZONE } from '../gslb-e2e/helpers.ts';

const NAME = `www.${ZONE}`;

describe('the supervisor when a worker dies during a reload', { timeout: 90_000 }, () => {
  it('survives, reports the reload, restarts the worker, and every worker ends on one config', async () => {
    const port = await freePort();
    const yaml = (address: string) => gslbYaml(port, [{ name: NAME, ttl: 20, sites: [{ name: 'a', address }] }], { top: { workers: 2 } });
    let fulcrum: Fulcrum | undefined;
    let dns: DnsClient | undefined;
    try {
      fulcrum = await startFulcrum({ config: yaml('192.0.2.1'), readyTimeoutMs: START_TIMEOUT_MS });
      const [victim] = fulcrum.workers;
      assert.ok(victim !== undefined);
      process.kill(victim, 'SIGSTOP');
      const from = fulcrum.logs.length;
      const reload = fulcrum.reload(yaml('192.0.2.2'), { timeoutMs: 20_000 });
      // The supervisor has sent the config once it logs nothing new about the file: give the
      // message time to be queued to the stopped worker, then kill it before it can answer.
      await new Promise((resolve) => setTimeout(resolve, 300));
      process.kill(victim, 'SIGKILL');
      const result = await reload;
      assert.ok(result === 'reloaded' || result === 'reload failed', result);
      await fulcrum.waitForLog((line) => line.msg === 'worker exited; restarting', { from, timeoutMs: 10_000 });
      // Alive, and converged: every answer, from any worker, is the same config's.
      dns = await DnsClient.open(port);
      const expected = result === 'reloaded' ? '192.0.2.2' : '192.0.2.1';
      const deadline = performance.now() + 15_000;
      let agreed = 0;
      while (agreed < 50) {
        assert.ok(performance.now() < deadline, `the workers did not agree on ${expected} (${agreed} answers in a row)`);
        const probe = await DnsClient.open(port);
        try {
          const answer = await probe.answer(NAME, { timeoutMs: 1000 }).catch(() => null);
          agreed = answer === expected ? agreed + 1 : 0;
        } finally {
          probe.close();
        }
      }
      assert.equal(await Promise.race([fulcrum.exited.then(() => 'exited'), Promise.resolve('running')]), 'running');
    } finally {
      await teardown(() => dns?.close(), () => fulcrum?.stop());
    }
  });
});
