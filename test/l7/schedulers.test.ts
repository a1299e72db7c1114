// Schedulers end to end, declaratively (in the spirit of HAProxy's reg-tests/balance): a config,
// real servers that say who they are, a number of requests, and the distribution expected.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'undici';
import { startBackends, type Backends } from '../helpers/backends.ts';
import { refusedAddress, startProxy, type RealServerSpec, type ServiceSpec } from './harness.ts';

/** Names of the backends that answered `n` sequential requests on one keep-alive connection. */
async function answers(url: string, n: number): Promise<string[]> {
  const client = new Client(url);
  try {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await client.request({ path: '/', method: 'GET' });
      assert.equal(res.statusCode, 200);
      out.push((await res.body.text()).trim());
    }
    return out;
  } finally {
    await client.close();
  }
}

function tally(names: string[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const n of names) t[n] = (t[n] ?? 0) + 1;
  return t;
}

interface Case {
  name: string;
  scheduler: string;
  /** Per backend (backend-1, backend-2, ...): a weight, or a spec with weight/enabled. */
  servers: Array<number | { weight?: number; enabled?: boolean }>;
  requests: number;
  expected: Record<string, number>;
  /** The first answers in order, when the method promises an order. */
  order?: string[];
}

const CASES: Case[] = [
  {
    name: 'weighted-round-robin 100:300 sends exactly 1 in 4 to the lighter server, smoothly interleaved',
    scheduler: 'weighted-round-robin',
    servers: [100, 300],
    requests: 400,
    expected: { 'backend-1': 100, 'backend-2': 300 },
    order: ['backend-2', 'backend-1', 'backend-2', 'backend-2', 'backend-2', 'backend-1', 'backend-2', 'backend-2'],
  },
  {
    name: 'weighted-round-robin: enabled: false and weight 0 get nothing',
    scheduler: 'weighted-round-robin',
    servers: [100, { weight: 300, enabled: false }, 0, 200],
    requests: 300,
    expected: { 'backend-1': 100, 'backend-4': 200 },
  },
  {
    name: 'round-robin ignores weights, skips disabled and weight 0',
    scheduler: 'round-robin',
    servers: [100, 500, { enabled: false }, 0],
    requests: 100,
    expected: { 'backend-1': 50, 'backend-2': 50 },
    order: ['backend-1', 'backend-2', 'backend-1', 'backend-2'],
  },
  {
    name: 'fixed-weight sends everything to the highest weight',
    scheduler: 'fixed-weight',
    servers: [100, 300, 200],
    requests: 50,
    expected: { 'backend-2': 50 },
  },
  {
    name: 'source-ip-hash keeps one client address on one server',
    scheduler: 'source-ip-hash',
    servers: [100, 100, 100],
    requests: 30,
    expected: {}, // checked below: a single server
  },
  {
    name: 'least-connections spreads sequential requests (ties rotate) and skips disabled',
    scheduler: 'least-connections',
    servers: [100, 100, { enabled: false }],
    requests: 40,
    expected: { 'backend-1': 20, 'backend-2': 20 },
  },
];

describe('schedulers end to end', () => {
  let backends: Backends;
  before(async () => {
    backends = await startBackends(4);
  });
  after(async () => {
    await backends.close();
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const realServers: RealServerSpec[] = c.servers.map((s, i) =>
        typeof s === 'number' ? { address: backends.servers[i]!.address, weight: s } : { address: backends.servers[i]!.address, ...s },
      );
      const proxy = await startProxy({ scheduler: c.scheduler, realServers });
      try {
        const names = await answers(proxy.url, c.requests);
        if (c.order) assert.deepEqual(names.slice(0, c.order.length), c.order);
        if (c.scheduler === 'source-ip-hash') {
          assert.equal(Object.keys(tally(names)).length, 1, JSON.stringify(tally(names)));
        } else {
          assert.deepEqual(tally(names), c.expected);
        }
      } finally {
        await proxy.close();
      }
    });
  }

  it('fixed-weight: the next server takes over when the highest-weight one cannot be reached', async () => {
    const proxy = await startProxy({
      scheduler: 'fixed-weight',
      retries: 1,
      realServers: [
        { address: backends.servers[0]!.address, weight: 100 },
        { address: await refusedAddress(), weight: 300 },
        { address: backends.servers[2]!.address, weight: 200 },
      ],
    });
    try {
      assert.deepEqual(tally(await answers(proxy.url, 20)), { 'backend-3': 20 });
    } finally {
      await proxy.close();
    }
  });

  it('a reload that changes weights changes the distribution on the same keep-alive connection', async () => {
    const spec = (w1: number, w2: number): ServiceSpec => ({
      scheduler: 'weighted-round-robin',
      realServers: [
        { address: backends.servers[0]!.address, weight: w1 },
        { address: backends.servers[1]!.address, weight: w2 },
      ],
    });
    const proxy = await startProxy(spec(100, 300));
    const client = new Client(proxy.url);
    const ask = async (n: number): Promise<string[]> => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push((await (await client.request({ path: '/', method: 'GET' })).body.text()).trim());
      return out;
    };
    try {
      assert.deepEqual(tally(await ask(40)), { 'backend-1': 10, 'backend-2': 30 });
      await proxy.reapply(spec(300, 0));
      assert.deepEqual(tally(await ask(40)), { 'backend-1': 40 });
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});
