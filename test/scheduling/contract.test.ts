// The rules every scheduling method keeps, checked for each one: unavailable servers get nothing,
// excluded servers are skipped, null when nothing is left, and the registry is what config expects.
import assert from 'node:assert/strict';
import { SCHEDULER_REGISTRY } from '../../src/scheduling/registry.ts';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createScheduler, schedulers } from '../../src/scheduling/index.ts';
import { ctx, makeServers, randomIPv4s } from './helpers.ts';

const METHODS = [
  'round-robin',
  'weighted-round-robin',
  'least-connections',
  'weighted-least-connections',
  'source-ip-hash',
  'fixed-weight',
  'random-two-choices',
  'adaptive',
];

/** Client addresses vary so that source-ip-hash is exercised across its table, not on one slot. */
const CLIENTS = randomIPv4s(500, 42);

describe('registry', () => {
  it('holds exactly the documented method names, each keyed by its own name', () => {
    assert.deepEqual([...schedulers.keys()].sort(), [...METHODS].sort());
    for (const [name, module] of schedulers) assert.equal(module.name, name);
    // One registry for the names, descriptions and needs: every module has an entry and vice versa.
    assert.deepEqual(SCHEDULER_REGISTRY.map((m) => m.name).sort(), [...schedulers.keys()].sort());
    for (const info of SCHEDULER_REGISTRY) {
      assert.ok(info.description.length > 20, `${info.name} has a description for the docs and the console`);
      assert.deepEqual(info.needs, ['address'], `${info.name} decides on the client address alone, so every protocol can use it`);
    }
  });

  it('rejects an unknown method with FULCRUM_ERR_CONFIG_INVALID naming the valid ones', () => {
    assert.throws(() => createScheduler('roundrobin', makeServers([1])), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.equal((error as { code?: string }).code, 'FULCRUM_ERR_CONFIG_INVALID');
      assert.match(error.message, /round-robin/);
      return true;
    });
  });
});

for (const method of METHODS) {
  describe(method, () => {
    it('returns null with no servers', () => {
      assert.equal(createScheduler(method, []).pick(ctx()), null);
    });

    it('returns null when every server is disabled, down or weight 0', () => {
      const servers = makeServers([{ weight: 1, enabled: false }, { weight: 1, up: false }, { weight: 0 }]);
      const scheduler = createScheduler(method, servers);
      for (const client of CLIENTS.slice(0, 50)) assert.equal(scheduler.pick(ctx(client)), null);
    });

    it('gives nothing to disabled, down or weight-0 servers and traffic to the others', () => {
      const servers = makeServers([
        { weight: 1, enabled: false },
        { weight: 2 },
        { weight: 1, up: false },
        { weight: 0 },
        { weight: 2 },
      ]);
      const scheduler = createScheduler(method, servers);
      const seen = new Set<string>();
      for (const client of CLIENTS) seen.add(scheduler.pick(ctx(client))?.host ?? '-');
      // fixed-weight sends everything to b (first of the two weight-2 servers).
      assert.deepEqual([...seen].sort(), method === 'fixed-weight' ? ['b'] : ['b', 'e']);
    });

    it('follows a server that becomes unavailable and available again after rebuild', () => {
      const servers = makeServers([2, 1]);
      const scheduler = createScheduler(method, servers);
      servers[0]!.up = false;
      scheduler.rebuild();
      for (const client of CLIENTS.slice(0, 100)) assert.equal(scheduler.pick(ctx(client))?.host, 'b');
      servers[0]!.up = true;
      scheduler.rebuild();
      const seen = new Set<string>();
      for (const client of CLIENTS) seen.add(scheduler.pick(ctx(client))?.host ?? '-');
      assert.ok(seen.has('a'), `a takes traffic again, saw ${[...seen].join(',')}`);
    });

    it('never returns a server of ctx.exclude while another is available', () => {
      const servers = makeServers([3, 1, 1]);
      const scheduler = createScheduler(method, servers);
      const seen = new Set<string>();
      for (const client of CLIENTS) {
        const picked = scheduler.pick(ctx(client, [servers[0]!]));
        assert.ok(picked !== null);
        seen.add(picked.host);
      }
      assert.ok(!seen.has('a'));
      assert.ok(seen.size >= 1);
    });

    it('returns null when every available server is excluded, even though servers exist', () => {
      const servers = makeServers([3, 1, { weight: 1, enabled: false }]);
      const scheduler = createScheduler(method, servers);
      for (const client of CLIENTS.slice(0, 50)) {
        assert.equal(scheduler.pick(ctx(client, [servers[1]!, servers[0]!])), null);
      }
    });

    it('never returns an unusable server, and null only when none is usable (property)', () => {
      const spec = fc.record({
        weight: fc.integer({ min: 0, max: 5 }),
        enabled: fc.boolean(),
        up: fc.boolean(),
        inflight: fc.integer({ min: 0, max: 4 }),
      });
      fc.assert(
        fc.property(
          fc.array(spec, { maxLength: 7 }),
          fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
          fc.ipV4(),
          (specs, excludeMask, client) => {
            const servers = makeServers(specs);
            const exclude = servers.filter((_, i) => excludeMask[i]);
            const usable = servers.filter((s) => s.available && !exclude.includes(s));
            const scheduler = createScheduler(method, servers);
            for (let i = 0; i < 5; i++) {
              const picked = scheduler.pick(ctx(client, exclude.length === 0 ? null : exclude));
              if (usable.length === 0) assert.equal(picked, null);
              else assert.ok(picked !== null && usable.includes(picked), `picked ${picked?.id}`);
            }
          },
        ),
        { numRuns: 300 },
      );
    });
  });
}

describe('a server that goes down before the runtime calls rebuild', () => {
  for (const method of METHODS) {
    it(`${method} already gives it no traffic`, () => {
      const servers = makeServers([5, 5, 5]);
      const scheduler = createScheduler(method, servers);
      servers[0]!.up = false; // no rebuild() yet
      for (const client of CLIENTS) {
        const picked = scheduler.pick(ctx(client));
        assert.ok(picked !== null && picked !== servers[0], `${method} picked ${picked?.id}`);
      }
    });
  }
});
