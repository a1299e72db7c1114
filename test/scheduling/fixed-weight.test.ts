import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createScheduler } from '../../src/scheduling/index.ts';
import { ctx, makeServers } from './helpers.ts';

it('fails over down the weights and back up as servers go and return', () => {
  // LoadMaster's primary/backup: a (weight 10) primary, c (7) first backup, b (5) last resort.
  const servers = makeServers([10, 5, 7]);
  const [a, b, c] = servers as [typeof servers[0], typeof servers[0], typeof servers[0]];
  const scheduler = createScheduler('fixed-weight', servers);
  const steps: Array<[string, () => void, string | null]> = [
    ['all up', () => {}, 'a'],
    ['primary down', () => { a.up = false; }, 'c'],
    ['first backup disabled too', () => { c.enabled = false; }, 'b'],
    ['last one drained to weight 0', () => { b.weight = 0; }, null],
    ['first backup back', () => { c.enabled = true; }, 'c'],
    ['primary back takes over again', () => { a.up = true; }, 'a'],
    ['a backup outweighs the primary', () => { c.weight = 11; }, 'c'],
  ];
  for (const [label, change, expected] of steps) {
    change();
    scheduler.rebuild();
    for (let i = 0; i < 3; i++) assert.equal(scheduler.pick(ctx())?.host ?? null, expected, label);
  }
});

it('a retry walks the same order past the servers it tried', () => {
  const servers = makeServers([10, 5, 7]);
  const scheduler = createScheduler('fixed-weight', servers);
  assert.equal(scheduler.pick(ctx('192.0.2.1', [servers[0]!]))?.host, 'c');
  assert.equal(scheduler.pick(ctx('192.0.2.1', [servers[0]!, servers[2]!]))?.host, 'b');
  assert.equal(scheduler.pick(ctx('192.0.2.1', servers))?.host, undefined);
});
