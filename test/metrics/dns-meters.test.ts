// DNS counters per GSLB FQDN: responses by RCODE and answers by site, every other name in one
// bucket, kept when a reload rebuilds the FQDN's selector (new answer keys).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DnsAnswerer } from '../../src/dns/answerer.ts';
import { AuthorityEngine } from '../../src/dns/authority.ts';
import { locationTableOf, toGslbFqdn } from '../../src/gslb/from-config.ts';
import { FqdnSelector } from '../../src/gslb/select.ts';
import { FqdnMeters } from '../../src/metrics/dns-meters.ts';
import { packetQuery } from '../dns/helpers.ts';
import { loadGslb } from '../dns/authority-fixture.ts';

const GSLB = loadGslb(`
gslb:
  listen: [127.0.0.1:5353]
  zones: [{ name: surveyor.lab, nameServers: [ns1.surveyor.lab], hostmaster: hostmaster@surveyor.lab, records: [{ name: ns1, type: A, value: 192.0.2.53 }, { name: ftp, type: CNAME, value: www.surveyor.lab. }] }]
  fqdns:
    - name: www.surveyor.lab
      selection: fixed-weight
      sites:
        - { name: primary, address: 192.0.2.10, weight: 1000, check: { type: none } }
        - { name: drc, address: 198.51.100.20, check: { type: none } }
`);

function engine(meters: FqdnMeters, selector: FqdnSelector): AuthorityEngine {
  return new AuthorityEngine({ zones: GSLB.zones, fqdns: GSLB.fqdns, selectors: new Map([['www.surveyor.lab', selector]]), locations: locationTableOf(GSLB), serial: 1, meters });
}

describe('DNS counters per FQDN', () => {
  it('count responses by FQDN and RCODE and answers by site; other names go to one bucket', () => {
    const meters = new FqdnMeters();
    const selector = new FqdnSelector(toGslbFqdn(GSLB.fqdns[0]!));
    const answerer = new DnsAnswerer(engine(meters, selector), meters);
    for (let i = 0; i < 3; i++) assert.ok(answerer.answerUdp(packetQuery('www.surveyor.lab'), '127.0.0.1') !== null);
    // Through the CNAME: the FQDN's answer all the same.
    answerer.answerUdp(packetQuery('ftp.surveyor.lab'), '127.0.0.1');
    selector.setUp(0, false);
    answerer.answerUdp(packetQuery('www.surveyor.lab'), '127.0.0.1');
    answerer.answerUdp(packetQuery('ns1.surveyor.lab'), '127.0.0.1');
    answerer.answerUdp(packetQuery('random-7f3a.surveyor.lab'), '127.0.0.1');
    answerer.answerUdp(packetQuery('elsewhere.example'), '127.0.0.1');
    const counters = answerer.counters();
    assert.deepEqual(counters.fqdns, [
      { name: 'www.surveyor.lab', responses: { NOERROR: 5 }, answersBySite: { primary: 4, drc: 1 } },
      { name: 'other', responses: { NOERROR: 1, NXDOMAIN: 1, REFUSED: 1 }, answersBySite: {} },
    ]);
  });

  it('keep what an FQDN counted when a reload gives it a new selector', () => {
    const meters = new FqdnMeters();
    const first = new FqdnSelector(toGslbFqdn(GSLB.fqdns[0]!));
    const answerer = new DnsAnswerer(engine(meters, first), meters);
    answerer.answerUdp(packetQuery('www.surveyor.lab'), '127.0.0.1');
    first.setUp(0, false);
    answerer.answerUdp(packetQuery('www.surveyor.lab'), '127.0.0.1');
    // The reload: a new selector (its answer keys start again from 0), primary down from the start.
    const second = new FqdnSelector(toGslbFqdn(GSLB.fqdns[0]!), [false, true]);
    answerer.engine = engine(meters, second);
    answerer.answerUdp(packetQuery('www.surveyor.lab'), '127.0.0.1');
    answerer.answerUdp(packetQuery('www.surveyor.lab'), '127.0.0.1');
    assert.deepEqual(answerer.counters().fqdns?.[0], { name: 'www.surveyor.lab', responses: { NOERROR: 4 }, answersBySite: { primary: 1, drc: 3 } });
  });
});
