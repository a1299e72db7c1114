import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolvePlace } from '../../src/gslb/place.ts';
import { FqdnSelector } from '../../src/gslb/select.ts';
import type { AddressFamily, GslbFqdn, GslbSite, Place, SelectionPolicyName, WhenAllDown } from '../../src/gslb/types.ts';

function site(name: string, addresses: string[], weight = 1, location: Place | null = null): GslbSite {
  return { name, addresses, weight, location };
}

function fqdn(selection: SelectionPolicyName, sites: GslbSite[], whenAllDown: WhenAllDown = { kind: 'all' }): GslbFqdn {
  return { name: 'www.surveyor.lab', selection, siteFailure: { delay: 0, recovery: 'automatic' }, whenAllDown, sites };
}

/** How often each answer's text came up over `n` picks. */
function tally(selector: FqdnSelector, n: number, family: AddressFamily = 4, client: Place | null = null): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const { text } = selector.select(family, client);
    counts[text] = (counts[text] ?? 0) + 1;
  }
  return counts;
}

const GHENT = resolvePlace({ country: 'BE', continent: 'EU', lat: 51.05, lon: 3.72 });
const AMSTERDAM = resolvePlace({ country: 'NL', continent: 'EU', lat: 52.37, lon: 4.9 });
const BRUSSELS = resolvePlace({ country: 'BE', lat: 50.85, lon: 4.35 });
const NEW_YORK = resolvePlace({ country: 'US', continent: 'NA', lat: 40.7, lon: -74.0 });

const sample = (selection: SelectionPolicyName, whenAllDown?: WhenAllDown) =>
  new FqdnSelector(fqdn(selection, [site('primary', ['192.0.2.10'], 1000, GHENT), site('drc', ['198.51.100.20'], 1, AMSTERDAM)], whenAllDown));

describe('GSLB selection', () => {
  it('round-robin takes healthy sites in turn and skips a down one', () => {
    const selector = new FqdnSelector(fqdn('round-robin', [site('a', ['192.0.2.1']), site('b', ['192.0.2.2']), site('c', ['192.0.2.3'])]));
    assert.deepEqual(tally(selector, 300), { '192.0.2.1': 100, '192.0.2.2': 100, '192.0.2.3': 100 });
    selector.setUp(1, false);
    assert.deepEqual(tally(selector, 300), { '192.0.2.1': 150, '192.0.2.3': 150 });
  });

  it('weighted-round-robin answers in proportion to weight, interleaved', () => {
    const selector = new FqdnSelector(fqdn('weighted-round-robin', [site('a', ['192.0.2.1'], 5), site('b', ['192.0.2.2'], 1), site('c', ['192.0.2.3'], 1)]));
    assert.deepEqual(
      Array.from({ length: 7 }, () => selector.select(4, null).sites[0]),
      ['a', 'a', 'b', 'a', 'c', 'a', 'a'],
    );
    const counts = tally(selector, 7000);
    assert.ok(Math.abs(counts['192.0.2.1']! - 5000) <= 7, JSON.stringify(counts));
    assert.ok(Math.abs(counts['192.0.2.2']! - 1000) <= 7, JSON.stringify(counts));
    selector.setUp(0, false);
    assert.deepEqual(tally(selector, 1000), { '192.0.2.2': 500, '192.0.2.3': 500 });
  });

  it('weighted-round-robin over the sample: 1000 to 1 within a cycle', () => {
    const counts = tally(sample('weighted-round-robin'), 10_010);
    assert.deepEqual(counts, { '192.0.2.10': 10_000, '198.51.100.20': 10 });
  });

  it('fixed-weight answers the primary only, the DR site when it fails, the primary again after', () => {
    const selector = sample('fixed-weight');
    assert.deepEqual(tally(selector, 100), { '192.0.2.10': 100 });
    selector.setUp(0, false);
    assert.deepEqual(tally(selector, 100), { '198.51.100.20': 100 });
    selector.setUp(0, true);
    assert.deepEqual(tally(selector, 100), { '192.0.2.10': 100 });
  });

  it('fixed-weight: equal weights go to the first listed', () => {
    const selector = new FqdnSelector(fqdn('fixed-weight', [site('a', ['192.0.2.1'], 5), site('b', ['192.0.2.2'], 5), site('c', ['192.0.2.3'], 9)]));
    assert.equal(selector.select(4, null).text, '192.0.2.3');
    selector.setUp(2, false);
    assert.equal(selector.select(4, null).text, '192.0.2.1');
  });

  it('all-available answers every healthy address in one answer', () => {
    const selector = new FqdnSelector(fqdn('all-available', [site('a', ['192.0.2.1', '192.0.2.11']), site('b', ['192.0.2.2']), site('c', ['192.0.2.3'])]));
    assert.deepEqual(selector.select(4, null).addresses, ['192.0.2.1', '192.0.2.11', '192.0.2.2', '192.0.2.3']);
    selector.setUp(0, false);
    assert.deepEqual(selector.select(4, null).addresses, ['192.0.2.2', '192.0.2.3']);
    assert.deepEqual(selector.select(4, null).sites, ['b', 'c']);
  });

  it('real-server-load: the lowest reported load wins; ties by weight; silent sites last', () => {
    const selector = new FqdnSelector(fqdn('real-server-load', [site('a', ['192.0.2.1'], 1), site('b', ['192.0.2.2'], 2), site('c', ['192.0.2.3'], 9)]));
    assert.equal(selector.select(4, null).text, '192.0.2.3'); // nobody reported: weight decides
    selector.setLoad(0, 10);
    assert.equal(selector.select(4, null).text, '192.0.2.1'); // the only one that reported
    selector.setLoad(1, 10);
    assert.equal(selector.select(4, null).text, '192.0.2.2'); // equal load: higher weight
    selector.setLoad(0, 3);
    assert.equal(selector.select(4, null).text, '192.0.2.1');
    selector.setUp(0, false);
    assert.equal(selector.select(4, null).text, '192.0.2.2');
  });

  it('proximity: a client in Brussels is nearer the primary in Ghent than the DR site in Amsterdam', () => {
    const selector = sample('proximity');
    assert.equal(selector.usesLocation, true);
    assert.equal(selector.select(4, BRUSSELS).sites[0], 'primary');
    const amsterdamClient = resolvePlace({ lat: 52.3, lon: 4.8 });
    assert.equal(selector.select(4, amsterdamClient).sites[0], 'drc');
    selector.setUp(0, false);
    assert.equal(selector.select(4, BRUSSELS).sites[0], 'drc');
  });

  it('proximity: a client without coordinates gets the fixed-weight choice', () => {
    const selector = new FqdnSelector(fqdn('proximity', [site('near', ['192.0.2.1'], 1, GHENT), site('heavy', ['192.0.2.2'], 10, AMSTERDAM)]));
    assert.equal(selector.select(4, null).sites[0], 'heavy');
    assert.equal(selector.select(4, resolvePlace({ country: 'BE' })).sites[0], 'heavy');
    assert.equal(selector.select(4, BRUSSELS).sites[0], 'near');
  });

  describe('location, with the issue\'s sites (be: country BE; us: continent NA)', () => {
    const ntrip = () => new FqdnSelector(fqdn('location', [site('be', ['192.0.2.11'], 1, resolvePlace({ country: 'BE' })), site('us', ['203.0.113.11'], 1, resolvePlace({ continent: 'NA' }))]));

    it('a BE client gets be, a US client gets us by continent, an NL client gets be by continent (BE is in EU)', () => {
      const selector = ntrip();
      assert.equal(selector.select(4, BRUSSELS).sites[0], 'be');
      assert.equal(selector.select(4, NEW_YORK).sites[0], 'us');
      assert.equal(selector.select(4, resolvePlace({ country: 'NL' })).sites[0], 'be');
      assert.equal(selector.select(4, resolvePlace({ country: 'CA' })).sites[0], 'us');
    });

    it('an unknown client (or one from elsewhere) gets any site: the first listed at equal weight', () => {
      const selector = ntrip();
      assert.equal(selector.select(4, null).sites[0], 'be');
      assert.equal(selector.select(4, resolvePlace({ country: 'JP' })).sites[0], 'be');
    });

    it('falls back to any healthy site when the matching one is down', () => {
      const selector = ntrip();
      selector.setUp(1, false);
      assert.equal(selector.select(4, NEW_YORK).sites[0], 'be');
    });
  });

  it('location precedence: country, then continent, then a site without location, then any', () => {
    const sites = [
      site('other', ['192.0.2.1'], 100, resolvePlace({ country: 'JP' })),
      site('everyone', ['192.0.2.2'], 1, null),
      site('europe', ['192.0.2.3'], 1, resolvePlace({ continent: 'EU' })),
      site('belgium', ['192.0.2.4'], 1, resolvePlace({ country: 'BE' })),
    ];
    const selector = new FqdnSelector(fqdn('location', sites));
    assert.equal(selector.select(4, BRUSSELS).sites[0], 'belgium');
    selector.setUp(3, false);
    assert.equal(selector.select(4, BRUSSELS).sites[0], 'europe');
    selector.setUp(2, false);
    assert.equal(selector.select(4, BRUSSELS).sites[0], 'everyone');
    assert.equal(selector.select(4, null).sites[0], 'everyone');
    selector.setUp(1, false);
    assert.equal(selector.select(4, BRUSSELS).sites[0], 'other');
  });

  describe('whenAllDown', () => {
    it('all: selects as if every site were up (fixed-weight keeps the primary)', () => {
      const selector = sample('fixed-weight', { kind: 'all' });
      selector.setUp(0, false);
      selector.setUp(1, false);
      assert.equal(selector.select(4, null).text, '192.0.2.10');
      assert.equal(selector.status(4).allDown, true);
      const all = sample('all-available', { kind: 'all' });
      all.setUp(0, false);
      all.setUp(1, false);
      assert.equal(all.select(4, null).text, '192.0.2.10,198.51.100.20');
    });

    it('none: an empty answer (NODATA)', () => {
      const selector = sample('weighted-round-robin', { kind: 'none' });
      selector.setUp(0, false);
      assert.equal(selector.select(4, null).text, '198.51.100.20');
      selector.setUp(1, false);
      assert.deepEqual(selector.select(4, null).addresses, []);
    });

    it('a fixed address: that address for its family, NODATA for the other', () => {
      const selector = new FqdnSelector(
        fqdn('round-robin', [site('a', ['192.0.2.1', '2001:db8::1'])], { kind: 'addresses', addresses: ['192.0.2.99'] }),
      );
      selector.setUp(0, false);
      assert.deepEqual(selector.select(4, null).addresses, ['192.0.2.99']);
      assert.deepEqual(selector.select(4, null).sites, []);
      assert.deepEqual(selector.select(6, null).addresses, []);
    });
  });

  it('mixed families: A answers IPv4 sites, AAAA IPv6 sites; a site without the family does not count', () => {
    const selector = new FqdnSelector(
      fqdn('round-robin', [site('v4', ['192.0.2.1']), site('dual', ['192.0.2.2', '2001:db8::2', '2001:db8::22']), site('v6', ['2001:db8::3'])], { kind: 'none' }),
    );
    assert.deepEqual(tally(selector, 4, 4), { '192.0.2.1': 2, '192.0.2.2': 2 });
    assert.deepEqual(tally(selector, 4, 6), { '2001:db8::2,2001:db8::22': 2, '2001:db8::3': 2 });
    selector.setUp(0, false);
    selector.setUp(1, false);
    assert.deepEqual(selector.select(4, null).addresses, []); // every IPv4 site down: whenAllDown none
    assert.equal(selector.status(4).allDown, true);
    assert.equal(selector.select(6, null).text, '2001:db8::3'); // the v6 site still answers AAAA
    assert.equal(selector.status(6).allDown, false);
  });

  it('an FQDN with no IPv6 site answers AAAA with NODATA whatever the health', () => {
    const selector = sample('fixed-weight');
    assert.deepEqual(selector.select(6, null).addresses, []);
    assert.equal(selector.status(6).allDown, false);
  });

  it('answers are interned: one object and one small key per distinct answer', () => {
    const selector = sample('round-robin');
    const first = selector.select(4, null);
    const second = selector.select(4, null);
    assert.notEqual(first.key, second.key);
    assert.equal(selector.select(4, null), first);
    selector.setUp(1, false);
    selector.setUp(1, true);
    const after = [selector.select(4, null), selector.select(4, null)];
    assert.ok(after.includes(first) && after.includes(second)); // the same objects after a rebuild
    const keys = selector.answers().map((a) => a.key);
    assert.deepEqual(keys, keys.map((_, i) => i));
    assert.ok(Object.isFrozen(first));
  });

  it('status shows what an unlocated client would get now', () => {
    const selector = sample('round-robin');
    assert.deepEqual(selector.status(4), { family: 4, up: ['primary', 'drc'], allDown: false, answers: [['192.0.2.10'], ['198.51.100.20']] });
  });
});
