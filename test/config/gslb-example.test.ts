import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfigFile } from '../../src/config/load.ts';

const example = new URL('../../examples/gslb.yaml', import.meta.url).pathname;

describe("issue 5's sample config (examples/gslb.yaml)", () => {
  it('loads as written, with the values it states and the defaults filled in', async () => {
    const result = await loadConfigFile(example);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems, null, 2));
    const { gslb, virtualServices } = result.config;
    assert.deepEqual(virtualServices, [], 'a gslb-only config has an empty list, never undefined');
    assert.ok(gslb !== undefined);
    assert.deepEqual(gslb.listen, [{ host: '127.0.0.1', port: 5353 }]);
    assert.equal(gslb.geoipDatabase, null);

    const [zone] = gslb.zones;
    assert.ok(zone !== undefined);
    assert.deepEqual([zone.name, zone.nameServers, zone.ttl], ['surveyor.lab', ['ns1.surveyor.lab'], 300]);
    assert.deepEqual(zone.soa, { mname: 'ns1.surveyor.lab', rname: 'hostmaster.surveyor.lab', refresh: 3_600_000, retry: 900_000, expire: 1_209_600_000, minimum: 60_000 });
    assert.deepEqual(
      zone.records.map((r) => [r.name, r.type, r.ttl, r.data]),
      [
        ['ns1.surveyor.lab', 'A', 300, { address: '192.0.2.53' }],
        ['surveyor.lab', 'MX', 300, { preference: 10, exchange: 'mail.surveyor.lab' }],
        ['mail.surveyor.lab', 'A', 300, { address: '192.0.2.25' }],
        ['ftp.surveyor.lab', 'CNAME', 300, { target: 'www.surveyor.lab' }],
        ['surveyor.lab', 'TXT', 300, { strings: ['v=spf1 mx -all'] }],
      ],
    );

    const [www, ntrip] = gslb.fqdns;
    assert.ok(www !== undefined && ntrip !== undefined);
    assert.deepEqual([www.name, www.ttl, www.selection, www.siteFailure, www.whenAllDown], ['www.surveyor.lab', 20, 'fixed-weight', { delay: 0, recovery: 'automatic' }, { answer: 'all' }]);
    const [primary, drc] = www.sites;
    assert.ok(primary !== undefined && drc !== undefined);
    assert.deepEqual([primary.name, primary.addresses, primary.weight], ['primary', ['192.0.2.10'], 1000]);
    assert.deepEqual(primary.location, { country: 'BE', continent: 'EU', lat: 51.05, lon: 3.72 });
    const check = primary.check;
    assert.deepEqual(
      [check.type, check.target, check.path, check.httpVersion, check.host, check.interval, check.timeout, check.fall, check.rise, check.startAs, check.method],
      ['http', { host: '127.0.0.1', port: 9001 }, '/health', '1.1', 'www.surveyor.lab', 1000, 1000, 2, 3, 'up', 'GET'],
    );
    assert.deepEqual(check.expectStatus, [[200, 299], [301, 301], [302, 302], [401, 401]]);
    assert.deepEqual([drc.weight, drc.check.type, drc.check.target, drc.check.interval, drc.check.timeout, drc.check.fall, drc.check.rise], [1, 'tcp', { host: '127.0.0.1', port: 9002 }, 5000, 2000, 3, 2]);

    assert.deepEqual([ntrip.ttl, ntrip.selection, ntrip.whenAllDown], [10, 'location', { answer: 'all' }]);
    const [be, us] = ntrip.sites;
    assert.ok(be !== undefined && us !== undefined);
    assert.deepEqual([be.weight, be.location, be.check.type, be.check.target], [100, { country: 'BE', continent: 'EU', lat: null, lon: null }, 'none', null]);
    assert.deepEqual(us.location, { country: null, continent: 'NA', lat: null, lon: null });
    assert.deepEqual([us.check.type, us.check.target, us.check.fulcrum], ['fulcrum', { host: '127.0.0.1', port: 9090 }, { virtualService: 'ntrip', minUp: 1 }]);

    assert.deepEqual(gslb.locations, [
      { cidr: { family: 4, address: '10.1.0.0', prefixLength: 16 }, country: 'BE', continent: 'EU', lat: 50.85, lon: 4.35 },
      { cidr: { family: 4, address: '10.2.0.0', prefixLength: 16 }, country: 'US', continent: 'NA', lat: 40.7, lon: -74 },
    ]);
  });
});
