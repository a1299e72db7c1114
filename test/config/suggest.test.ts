import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SCHEDULING_METHODS } from '../../src/config/schema.ts';
import { editDistance, suggest } from '../../src/config/suggest.ts';

const VS_KEYS = ['name', 'listen', 'protocol', 'scheduler', 'forwardedHeaders', 'timeouts', 'limits', 'retries', 'realServers'];

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and adjacent swaps', () => {
    assert.equal(editDistance('', ''), 0);
    assert.equal(editDistance('abc', ''), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('listen', 'lsiten'), 1);
    assert.equal(editDistance('scheduler', 'schedular'), 1);
  });
});

describe('suggest', () => {
  it('finds misspelt keys', () => {
    assert.equal(suggest('schedular', VS_KEYS), 'scheduler');
    assert.equal(suggest('lsiten', VS_KEYS), 'listen');
    assert.equal(suggest('timeout', VS_KEYS), 'timeouts');
    assert.equal(suggest('real_servers', VS_KEYS), 'realServers');
    assert.equal(suggest('servers', VS_KEYS), 'realServers');
  });

  it('finds scheduling methods under the names other products use', () => {
    const cases: [string, string][] = [
      ['round-robbin', 'round-robin'],
      ['roundrobin', 'round-robin'], // HAProxy
      ['leastconn', 'least-connections'], // HAProxy
      ['wrr', 'weighted-round-robin'], // ipvsadm
      ['wlc', 'weighted-least-connections'], // ipvsadm
      ['Least Connection', 'least-connections'], // LoadMaster
      ['fixed weighting', 'fixed-weight'], // LoadMaster
      ['source IP hash', 'source-ip-hash'], // LoadMaster
    ];
    for (const [input, expected] of cases) assert.equal(suggest(input, SCHEDULING_METHODS), expected, input);
  });

  it('stays quiet when nothing is close or the hint would be ambiguous', () => {
    assert.equal(suggest('port', VS_KEYS), undefined);
    assert.equal(suggest('weighted', SCHEDULING_METHODS), undefined);
    assert.equal(suggest('zzzzzz', SCHEDULING_METHODS), undefined);
    assert.equal(suggest('', VS_KEYS), undefined);
  });
});
