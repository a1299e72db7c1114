// Adaptive scheduling as users run it: `fulcrum check` refuses a half-configured service with its
// line, and `fulcrum start` (supervisor polling, two workers applying) follows the agents' loads.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Client } from 'undici';
import { configYaml, freePort, fulcrumBin, startFulcrum } from '../helpers/fulcrum.ts';
import { sleep } from '../l7/harness.ts';
import { backend } from './servers.ts';

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

async function send(port: number, n: number): Promise<Record<string, number>> {
  const client = new Client(`http://127.0.0.1:${port}`);
  const counts: Record<string, number> = {};
  try {
    for (let i = 0; i < n; i++) {
      const res = await client.request({ path: '/', method: 'GET' });
      const body = await res.body.text();
      const key = res.statusCode === 200 ? body : String(res.statusCode);
      counts[key] = (counts[key] ?? 0) + 1;
    }
  } finally {
    await client.close();
  }
  return counts;
}

describe('adaptive scheduling through the CLI', () => {
  it('fulcrum check: scheduler adaptive without adaptive is a problem with its line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fulcrum-adaptive-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'fulcrum.yaml');
    await writeFile(file, ['virtualServices:', '  - name: web', '    listen: 127.0.0.1:8080', '    protocol: http', '    scheduler: adaptive', '    realServers: [{ address: 127.0.0.1:9001 }]', ''].join('\n'));
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, [fulcrumBin, 'check', '-c', file], { timeout: 20_000 }, (error, out, err) =>
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout: out, stderr: err }),
      ),
    );
    assert.equal(code, 1, stdout + stderr);
    assert.match(stdout + stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:5:16: virtualServices\\[0\\]\\.scheduler: scheduler adaptive needs an adaptive block`));
  });

  it('fulcrum start: two workers send the idle server clearly more, and none to a server whose agent says 101', async () => {
    const idle = await backend('idle', '10\n');
    const busy = await backend('busy', '80\n');
    cleanups.push(() => idle.close(), () => busy.close());
    const port = await freePort();
    const fulcrum = await startFulcrum({
      config: configYaml({
        workers: 2,
        virtualServices: [
          {
            name: 'web',
            listen: `127.0.0.1:${port}`,
            scheduler: 'adaptive',
            adaptive: { type: 'http', path: '/load', interval: '200ms' },
            realServers: [idle.address, busy.address],
          },
        ],
      }),
    });
    cleanups.push(() => fulcrum.stop());
    // The first poll comes within one interval; the weights are then half-way every 200 ms.
    await sleep(2500);
    assert.ok(idle.loadPolls.length >= 5 && busy.loadPolls.length >= 5, `polled once per interval by the supervisor: ${idle.loadPolls.length}, ${busy.loadPolls.length}`);
    const counts = await send(port, 220);
    assert.equal((counts['idle'] ?? 0) + (counts['busy'] ?? 0), 220, JSON.stringify(counts));
    // 90:20 would be 180:40.
    assert.ok(counts['idle']! > 3 * counts['busy']!, JSON.stringify(counts));
    assert.ok(counts['busy']! > 0, JSON.stringify(counts));

    busy.load = '101\n';
    const down = await fulcrum.waitForLog((l) => l.msg === `real server ${busy.address} in "web" is DOWN by its agent: the agent reports 101: the server is down`, { timeoutMs: 5000 });
    assert.equal(down['operational'], 'down');
    await sleep(200); // the verdict travels to the workers over IPC
    assert.deepEqual(await send(port, 30), { idle: 30 });
  });
});
