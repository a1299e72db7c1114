/**
 * A reload that edits a site's check keeps what an operator did to the site: a site disabled
 * through the admin API stays out of the DNS answers across the reload, while its new check
 * passes, until it is enabled again (src/gslb/fqdn-state.ts carryOver).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFulcrum, type Fulcrum } from '../helpers/fulcrum.ts';
import { teardown } from '../helpers/processes.ts';
import { DnsClient, freePort, gslbYaml, HealthTarget, holdsFor, pollUntil, START_TIMEOUT_MS, SUITE_TIMEOUT_MS, ZONE } from './helpers.ts';

const NAME = `www.${ZONE}`;
const PRIMARY = '192.0.2.10';
const DR = '198.51.100.20';

describe('GSLB reload, against a real Fulcrum', { timeout: SUITE_TIMEOUT_MS }, () => {
  const primary = new HealthTarget();
  let fulcrum: Fulcrum;
  let dns: DnsClient;
  let dnsPort: number;
  let adminPort: number;

  const yaml = (interval: number): string =>
    gslbYaml(
      dnsPort,
      [
        {
          name: NAME,
          selection: 'fixed-weight',
          ttl: 1,
          siteFailure: { delay: '0s', recovery: 'manual' },
          sites: [
            { name: 'primary', address: PRIMARY, weight: 1000, check: { type: 'http', target: primary.address, path: '/health', interval: `${interval}ms`, fall: 2, rise: 2 } },
            { name: 'dr', address: DR, weight: 1 },
          ],
        },
      ],
      { top: { admin: { listen: `127.0.0.1:${adminPort}` } } },
    );

  async function setState(state: 'enabled' | 'disabled'): Promise<number> {
    const url = `http://127.0.0.1:${adminPort}/api/v1/gslb/fqdns/${NAME}/sites/primary/state`;
    const answer = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state }) });
    await answer.arrayBuffer();
    return answer.status;
  }

  async function primaryStatus(): Promise<{ up: boolean; disabled: boolean; held: boolean }> {
    const status = (await (await fetch(`http://127.0.0.1:${adminPort}/api/v1/status`)).json()) as { gslb: { fqdns: { sites: { name: string; up: boolean; disabled: boolean; held: boolean }[] }[] } };
    const site = status.gslb.fqdns[0]!.sites.find((s) => s.name === 'primary')!;
    return { up: site.up, disabled: site.disabled, held: site.held };
  }

  before(async () => {
    await primary.start();
    dnsPort = await freePort();
    adminPort = await freePort();
    fulcrum = await startFulcrum({ config: yaml(200), readyTimeoutMs: START_TIMEOUT_MS });
    dns = await DnsClient.open(dnsPort);
  });

  after(() => teardown(() => dns?.close(), () => fulcrum?.stop(), () => primary.stop()));

  it('a site disabled through the admin API stays out after a reload that edits only its check, until it is enabled', async () => {
    assert.equal(await primary.nextAnswered(), 200);
    assert.equal(await dns.answer(NAME), PRIMARY);
    assert.equal(await setState('disabled'), 200);
    await pollUntil(dns, NAME, DR, 2000);

    assert.equal(await fulcrum.reload(yaml(300)), 'reloaded');
    assert.equal(await dns.answer(NAME), DR, 'still out right after the reload');
    const reloadedAt = performance.now();
    await holdsFor(dns, NAME, DR, 4 * 300);
    const passed = primary.requests.filter((r) => r.at > reloadedAt && r.status === 200).length;
    assert.ok(passed >= 2, `the edited check passed ${passed} times meanwhile`);
    assert.deepEqual(await primaryStatus(), { up: false, disabled: true, held: false });

    assert.equal(await setState('enabled'), 200);
    await pollUntil(dns, NAME, PRIMARY, 2000);
  });
});
