// Slow start (issue 3, "Real-server lifecycle"): a server that comes up or is enabled ramps from a
// small share to its full weight over `slowStart`; without it, it takes its full share at once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'undici';
import { closeAll, send, sleep, startService, steered, tally, type Service, type ServiceData, type Steered } from './harness.ts';

const WINDOW_MS = 2000;

/** Requests on one keep-alive connection from now until `untilMs` after `t0`; each with its time since t0. */
async function sample(url: string, t0: number, untilMs: number): Promise<Array<{ at: number; name: string }>> {
  const client = new Client(url);
  const out: Array<{ at: number; name: string }> = [];
  try {
    while (Date.now() - t0 < untilMs) {
      const at = Date.now() - t0;
      const res = await client.request({ path: '/', method: 'GET' });
      assert.equal(res.statusCode, 200);
      out.push({ at, name: await res.body.text() });
    }
  } finally {
    await client.close();
  }
  return out;
}

function share(samples: Array<{ at: number; name: string }>, name: string, from: number, to: number): { share: number; n: number } {
  const inside = samples.filter((s) => s.at >= from && s.at < to);
  return { share: inside.filter((s) => s.name === name).length / inside.length, n: inside.length };
}

describe('slow start', () => {
  let a: Steered, b: Steered;
  before(async () => {
    [a, b] = await Promise.all([steered('a'), steered('b')]);
  });
  after(() => closeAll([a, b]));

  const service2s = (extra: Record<string, unknown> = {}): ServiceData => ({
    scheduler: 'weighted-round-robin',
    slowStart: '2s',
    realServers: [a.address, b.address],
    ...extra,
  });

  it('at first start every server has its full weight (nothing to ramp from)', async () => {
    const service = await startService(service2s());
    try {
      assert.deepEqual(tally(await send(service.url, 40)), { a: 20, b: 20 });
    } finally {
      await service.close();
    }
  });

  it('a server coming back up ramps: a small share at first, its full share after the window', async () => {
    const service = await startService(service2s());
    try {
      service.runtime.setHealth('web', b.address, false, 'HTTP 503');
      assert.deepEqual(tally(await send(service.url, 10)), { a: 10 });
      const t0 = Date.now();
      service.runtime.setHealth('web', b.address, true, 'HTTP 200');
      const samples = await sample(service.url, t0, 1300);
      const early = share(samples, 'b', 0, 300);
      const middle = share(samples, 'b', 1000, 1300);
      assert.ok(early.n >= 20, `enough requests in the first 300 ms to judge (${early.n})`);
      assert.ok(early.share > 0 && early.share < 0.15, `b's share in the first 300 ms: ${early.share.toFixed(3)} of ${early.n}`);
      // A linear ramp: weight 1-15 of 100 in the first 300 ms (about 6%); halfway through, 50-65 of
      // 100, a share of 1/3 to 0.39 (a 100 ms tick either way moves it 2%).
      assert.ok(middle.share > 0.27 && middle.share < 0.42, `b's share at 1.0-1.3 s: ${middle.share.toFixed(3)} of ${middle.n}`);
      await sleep(t0 + WINDOW_MS + 200 - Date.now());
      const t = tally(await send(service.url, 200));
      assert.ok(Math.abs((t['b'] ?? 0) - 100) <= 5, `after the window b has its full share: ${JSON.stringify(t)}`);
    } finally {
      await service.close();
    }
  });

  it('a server enabled by a reload ramps too', async () => {
    const servers = (bState: string) => [a.address, { address: b.address, state: bState }];
    const service = await startService(service2s({ realServers: servers('disabled') }));
    try {
      assert.deepEqual(tally(await send(service.url, 10)), { a: 10 });
      const t0 = Date.now();
      await service.reload(service2s({ realServers: servers('enabled') }));
      const early = share(await sample(service.url, t0, 300), 'b', 0, 300);
      assert.ok(early.n >= 20, `enough requests in the first 300 ms to judge (${early.n})`);
      assert.ok(early.share > 0 && early.share < 0.15, `b's share in the first 300 ms: ${early.share.toFixed(3)} of ${early.n}`);
    } finally {
      await service.close();
    }
  });

  it('a reload during the ramp neither restarts nor ends it', async () => {
    const service: Service = await startService(service2s());
    try {
      service.runtime.setHealth('web', b.address, false, 'HTTP 503');
      const t0 = Date.now();
      service.runtime.setHealth('web', b.address, true, 'HTTP 200');
      await sleep(1000);
      await service.reload(service2s({ retries: 2 }));
      const middle = share(await sample(service.url, t0, 1300), 'b', 1000, 1300);
      assert.ok(middle.share > 0.27 && middle.share < 0.42, `b's share at 1.0-1.3 s after a reload at 1 s: ${middle.share.toFixed(3)} of ${middle.n}`);
    } finally {
      await service.close();
    }
  });

  it('slowStart 0s: a server coming back up takes its full share at once', async () => {
    const service = await startService(service2s({ slowStart: '0s' }));
    try {
      service.runtime.setHealth('web', b.address, false, 'HTTP 503');
      await send(service.url, 4);
      const t0 = Date.now();
      service.runtime.setHealth('web', b.address, true, 'HTTP 200');
      const early = share(await sample(service.url, t0, 300), 'b', 0, 300);
      assert.ok(Math.abs(early.share - 0.5) <= 0.05, `b's share in the first 300 ms without slow start: ${early.share.toFixed(3)} of ${early.n}`);
    } finally {
      await service.close();
    }
  });
});
