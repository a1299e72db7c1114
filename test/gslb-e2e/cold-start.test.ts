/**
 * Issue 5: "Defined behaviour at cold start (before the first checks complete the configured
 * starting state applies, never SERVFAIL) and when every site is down (whenAllDown)", end to end.
 *
 * "Before the first checks complete" is made to last: every check goes to a TCP server that
 * accepts and never answers, with a 30 s interval and timeout, so no check completes while the
 * test runs, wherever in the interval the scheduler puts the first one (a random point of it).
 * A long interval alone would not do: the first check may come at once, and the supervisor starts
 * the checks before the workers are ready.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFulcrum, type Fulcrum } from '../helpers/fulcrum.ts';
import { teardown } from '../helpers/processes.ts';
import { DnsClient, freePort, gslbYaml, START_TIMEOUT_MS, startSilentServer, SUITE_TIMEOUT_MS, ZONE } from './helpers.ts';

const PRIMARY = '192.0.2.10';
const DR = '198.51.100.20';

type Silent = Awaited<ReturnType<typeof startSilentServer>>;

describe('GSLB cold start and whenAllDown against a real Fulcrum, before any check completes', { timeout: SUITE_TIMEOUT_MS }, () => {
  const DOWN = `startas-down.${ZONE}`;
  const UP = `startas-up.${ZONE}`;
  const NONE = `alldown-none.${ZONE}`;
  const ALL = `alldown-all.${ZONE}`;
  const ALL_AVAILABLE = `alldown-all-available.${ZONE}`;
  const ADDRESS = `alldown-address.${ZONE}`;
  let silent: Silent;
  let fulcrum: Fulcrum;
  let dns: DnsClient;

  before(async () => {
    silent = await startSilentServer();
    const check = (startAs: 'up' | 'down'): object => ({ type: 'http', target: silent.address, interval: '30s', timeout: '30s', startAs });
    const pair = (primaryStart: 'up' | 'down', drCheck: object | null): object[] => [
      { name: 'primary', address: PRIMARY, weight: 1000, check: check(primaryStart) },
      { name: 'dr', address: DR, weight: 1, ...(drCheck === null ? {} : { check: drCheck }) },
    ];
    const port = await freePort();
    const config = gslbYaml(port, [
      { name: DOWN, selection: 'fixed-weight', sites: pair('down', null) },
      { name: UP, selection: 'fixed-weight', sites: pair('up', null) },
      { name: NONE, selection: 'fixed-weight', whenAllDown: 'none', sites: pair('down', check('down')) },
      { name: ALL, selection: 'fixed-weight', whenAllDown: 'all', sites: pair('down', check('down')) },
      { name: ALL_AVAILABLE, selection: 'all-available', whenAllDown: 'all', sites: pair('down', check('down')) },
      { name: ADDRESS, selection: 'fixed-weight', whenAllDown: '192.0.2.99', sites: pair('down', check('down')) },
    ]);
    fulcrum = await startFulcrum({ config, readyTimeoutMs: START_TIMEOUT_MS });
    dns = await DnsClient.open(port);
  });

  after(() => teardown(() => dns?.close(), () => fulcrum?.stop(), () => silent?.close()));

  it('the first answers after ready follow startAs and whenAllDown; none is SERVFAIL; no check has completed meanwhile', async () => {
    // Asked at once after ready, then every 20 ms for half a second: the same answers throughout.
    for (let round = 0; round < 25; round++) {
      const at = `round ${round}`;
      assert.equal(await dns.answer(DOWN), DR, `${at}: startAs down on the primary: the DR site`);
      assert.equal(await dns.answer(UP), PRIMARY, `${at}: startAs up on the primary: the primary`);

      const none = await dns.query(NONE);
      assert.equal(none.rcode, 'NOERROR', `${at}: whenAllDown none is NODATA, not ${none.rcode}`);
      assert.deepEqual(none.addresses, [], `${at}: whenAllDown none: no addresses`);
      assert.deepEqual(none.authority, ['SOA'], `${at}: NODATA carries the zone's SOA (the negative TTL)`);
      assert.equal(none.aa, true);

      assert.equal(await dns.answer(ALL), PRIMARY, `${at}: whenAllDown all: as if all were up (fixed-weight: the primary)`);
      assert.deepEqual((await dns.answer(ALL_AVAILABLE)).split(',').sort(), [PRIMARY, DR].sort(), `${at}: whenAllDown all with all-available: both sites`);

      assert.equal(await dns.answer(ADDRESS), '192.0.2.99', `${at}: whenAllDown 192.0.2.99`);
      const v6 = await dns.query(ADDRESS, { type: 'AAAA' });
      assert.equal(v6.rcode, 'NOERROR', `${at}: AAAA of an IPv4 fallback address: ${v6.rcode}`);
      assert.deepEqual(v6.addresses, [], `${at}: AAAA of an IPv4 fallback address: NODATA`);
      assert.deepEqual(v6.authority, ['SOA']);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Still before any check result: the answers above were the starting state's, not a check's.
    const moved = fulcrum.logs.filter((l) => typeof l['fqdn'] === 'string' && l['event'] !== undefined);
    assert.deepEqual(moved, [], 'no site event yet: no check has completed');
  });
});
