/**
 * The icmp site check with the real iputils ping (installed by scripts/install-peers.sh): a site
 * whose check pings 127.0.0.1 comes up and takes the answers. The case without ping is hermetic
 * (test/gslb-e2e/icmp.test.ts).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { startFulcrum, type Fulcrum } from '../test/helpers/fulcrum.ts';
import { teardown } from '../test/helpers/processes.ts';
import { DnsClient, freePort, gslbYaml, pollUntil, siteLog, START_TIMEOUT_MS, SUITE_TIMEOUT_MS, ZONE } from '../test/gslb-e2e/helpers.ts';
import { requirePeers } from './peers.ts';

const NAME = `icmp.${ZONE}`;
const PRIMARY = '192.0.2.10';
const DR = '198.51.100.20';

function config(port: number): string {
  return gslbYaml(port, [
    {
      name: NAME,
      selection: 'fixed-weight',
      sites: [
        { name: 'primary', address: PRIMARY, weight: 1000, check: { type: 'icmp', target: '127.0.0.1', interval: '300ms', timeout: '300ms', startAs: 'down' } },
        { name: 'dr', address: DR, weight: 1 },
      ],
    },
  ]);
}

describe('GSLB icmp site checks with iputils ping', { timeout: SUITE_TIMEOUT_MS }, () => {
  before(() => requirePeers('ping'));

  it('an icmp check to 127.0.0.1 brings the site up, and the answers move to it', async () => {
    let fulcrum: Fulcrum | undefined;
    let dns: DnsClient | undefined;
    try {
      const port = await freePort();
      fulcrum = await startFulcrum({ config: config(port), readyTimeoutMs: START_TIMEOUT_MS });
      dns = await DnsClient.open(port);
      const up = await siteLog(fulcrum, NAME, 'primary', 'up');
      assert.match(String(up.msg), /is UP after its first check passed: echo reply from 127\.0\.0\.1 in /);
      await pollUntil(dns, NAME, PRIMARY, 2000);
    } finally {
      await teardown(() => dns?.close(), () => fulcrum?.stop());
    }
  });
});
