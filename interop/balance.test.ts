// Fulcrum in front of three real nginx servers, driven by real curl and wrk.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { configYaml, freePort, startFulcrum, type Fulcrum } from '../test/helpers/fulcrum.ts';
import { teardown } from '../test/helpers/processes.ts';
import { curl } from './curl.ts';
import { startNginx, type Nginx } from './nginx.ts';
import { requirePeers } from './peers.ts';
import { runWrk } from './wrk.ts';

describe('round-robin over three nginx real servers', () => {
  const nginxes: Nginx[] = [];
  let fulcrum: Fulcrum | undefined;
  let url = '';
  let workDir = '';

  before(async () => {
    requirePeers('curl', 'wrk', 'nginx');
    workDir = await mkdtemp(path.join(tmpdir(), 'interop-balance-'));
    for (let i = 1; i <= 3; i++) nginxes.push(await startNginx({ name: `nginx-${i}`, accessLog: true }));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    fulcrum = await startFulcrum({
      config: configYaml({
        virtualServices: [
          { name: 'web', listen: `127.0.0.1:${port}`, scheduler: 'round-robin', realServers: nginxes.map((n) => n.address) },
        ],
      }),
    });
  });

  after(async () => {
    await teardown(
      () => fulcrum?.stop(),
      ...nginxes.map((n) => () => n.stop()),
      () => workDir !== '' && rm(workDir, { recursive: true, force: true }),
    );
  });

  const counts = async (): Promise<number[]> => Promise.all(nginxes.map((n) => n.requestCount()));

  it('sends nine separate curl requests to the three servers in turn', async () => {
    const before = await counts();
    const names: string[] = [];
    for (let i = 0; i < 9; i++) {
      const { stdout } = await curl(['--fail', `${url}/`]);
      names.push(stdout.trim());
    }
    // Whatever server comes first, round-robin repeats the same order of all three.
    const cycle = names.slice(0, 3);
    assert.deepEqual([...cycle].sort(), ['nginx-1', 'nginx-2', 'nginx-3'], `first three: ${names.join(', ')}`);
    assert.deepEqual(names, [...cycle, ...cycle, ...cycle]);
    const afterCounts = await counts();
    assert.deepEqual(
      afterCounts.map((c, i) => c - (before[i] ?? 0)),
      [3, 3, 3],
      'each nginx logged three requests',
    );
  });

  it('keeps the client connection alive across requests (curl re-uses it)', async () => {
    const { stdout, stderr } = await curl(['-v', '--fail', `${url}/`, `${url}/`, `${url}/`, `${url}/`]);
    const reuses = stderr.match(/Re-using existing connection/g) ?? [];
    assert.equal(reuses.length, 3, `curl -v output:\n${stderr}`);
    assert.doesNotMatch(stderr, /Closing connection|Connection died/i);
    const bodies = stdout.trim().split('\n');
    assert.equal(bodies.length, 4);
    for (const b of bodies) assert.match(b, /^nginx-[123]$/);
  });

  it('serves 3 s of wrk load with no error responses, no socket errors, and every server taking a share', { timeout: 60_000 }, async () => {
    // Counts every response by status and body on the client side: wrk's own report only counts
    // statuses above 399, and a body naming an unexpected server would otherwise go unseen.
    const script = path.join(workDir, 'count.lua');
    await writeFile(
      script,
      `
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) counts = {}; non200 = 0 end
function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
  local name = string.gsub(body or "", "%s+$", "")
  counts[name] = (counts[name] or 0) + 1
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    io.write("NON200 " .. t:get("non200") .. "\\n")
    for name, n in pairs(t:get("counts")) do io.write("BODY " .. name .. " " .. n .. "\\n") end
  end
end
`,
    );
    const before = await counts();
    const result = await runWrk({ url: `${url}/`, threads: 1, connections: 20, durationS: 3, script });
    const afterCounts = await counts();

    assert.ok(result.requests > 1000, `too few requests for 3 s:\n${result.raw}`);
    assert.deepEqual(result.socketErrors, { connect: 0, read: 0, write: 0, timeout: 0 }, result.raw);
    assert.equal(result.errorResponses, 0, result.raw);
    const non200 = [...result.raw.matchAll(/^NON200 (\d+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
    assert.equal(non200, 0, result.raw);

    const byBody: Record<string, number> = {};
    for (const m of result.raw.matchAll(/^BODY (\S*) (\d+)$/gm)) byBody[m[1] ?? ''] = (byBody[m[1] ?? ''] ?? 0) + Number(m[2]);
    assert.deepEqual(Object.keys(byBody).sort(), ['nginx-1', 'nginx-2', 'nginx-3'], result.raw);
    const total = Object.values(byBody).reduce((a, b) => a + b, 0);
    assert.ok(total >= result.requests, `wrk counted ${result.requests} requests but the script saw ${total}`);
    for (const [name, n] of Object.entries(byBody)) {
      // Round-robin gives a third each; 25% leaves room for requests in flight when wrk stops.
      assert.ok(n / total > 0.25, `${name} answered only ${n} of ${total}`);
    }
    // The servers saw at least what the client counted (wrk drops replies in flight at the end).
    const served = afterCounts.map((c, i) => c - (before[i] ?? 0));
    for (const [i, n] of served.entries()) assert.ok(n >= (byBody[`nginx-${i + 1}`] ?? 0), `nginx-${i + 1} logged ${n}`);
  });
});
