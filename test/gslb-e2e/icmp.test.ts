/**
 * The icmp site check (the system's ping, src/gslb/probe-icmp.ts) in a real Fulcrum.
 *
 * Hermetic: Fulcrum started with a PATH that holds no ping must take the site down with a reason
 * that names what to install, on any machine. The check that comes up needs ping itself
 * (iputils-ping, installed by scripts/install-peers.sh): interop/gslb-icmp.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startFulcrum, type Fulcrum } from '../helpers/fulcrum.ts';
import { teardown } from '../helpers/processes.ts';
import { DnsClient, freePort, gslbYaml, pollUntil, siteLog, START_TIMEOUT_MS, SUITE_TIMEOUT_MS, ZONE } from './helpers.ts';

const NAME = `icmp.${ZONE}`;
const PRIMARY = '192.0.2.10';
const DR = '198.51.100.20';

function config(port: number, startAs: 'up' | 'down'): string {
  return gslbYaml(port, [
    {
      name: NAME,
      selection: 'fixed-weight',
      sites: [
        { name: 'primary', address: PRIMARY, weight: 1000, check: { type: 'icmp', target: '127.0.0.1', interval: '300ms', timeout: '300ms', startAs } },
        { name: 'dr', address: DR, weight: 1 },
      ],
    },
  ]);
}

describe('GSLB icmp site checks against a real Fulcrum', { concurrency: true, timeout: SUITE_TIMEOUT_MS }, () => {
  it('without ping on its PATH, the site goes down with a reason that names the package to install', async () => {
    const emptyBin = mkdtempSync(path.join(tmpdir(), 'fulcrum-no-ping-'));
    let fulcrum: Fulcrum | undefined;
    let dns: DnsClient | undefined;
    try {
      const port = await freePort();
      fulcrum = await startFulcrum({ config: config(port, 'up'), env: { PATH: emptyBin }, readyTimeoutMs: START_TIMEOUT_MS });
      dns = await DnsClient.open(port);
      const down = await siteLog(fulcrum, NAME, 'primary', 'down');
      assert.match(String(down.msg), /is DOWN: its first check failed: cannot run ping: it is not installed; icmp checks need iputils-ping/);
      await pollUntil(dns, NAME, DR, 2000);
    } finally {
      await teardown(() => dns?.close(), () => fulcrum?.stop(), () => rmSync(emptyBin, { recursive: true, force: true }));
    }
  });

});
