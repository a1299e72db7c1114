import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, test } from 'node:test';
import { configYaml, freePort, startFulcrum, type Fulcrum } from '../helpers/fulcrum.ts';

// Workers bind with SO_REUSEPORT, which would let a second instance silently share an address;
// the supervisor's exclusive probe must refuse instead (src/supervisor/address-probe.ts).

const running: Fulcrum[] = [];
after(async () => {
  await Promise.all(running.map((f) => f.stop().catch(() => {})));
});

test('a second Fulcrum on the same address refuses to start and names the address', async () => {
  const port = await freePort();
  const config = configYaml({ virtualServices: [{ name: 'web', listen: `127.0.0.1:${port}`, realServers: ['127.0.0.1:9'] }] });
  running.push(await startFulcrum({ config }));
  await assert.rejects(startFulcrum({ config, readyTimeoutMs: 5000 }), (err: Error) => {
    assert.match(err.message, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use`));
    return true;
  });
});

test('a reload onto an address another process holds fails and keeps the running config', async () => {
  const [port, taken] = [await freePort(), await freePort()];
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(taken, '127.0.0.1', resolve));
  try {
    const base = { name: 'web', listen: `127.0.0.1:${port}`, realServers: ['127.0.0.1:9'] };
    const fulcrum = await startFulcrum({ config: configYaml({ virtualServices: [base] }) });
    running.push(fulcrum);
    const result = await fulcrum.reload(configYaml({ virtualServices: [base, { ...base, name: 'other', listen: `127.0.0.1:${taken}` }] }));
    assert.equal(result, 'reload failed');
    const line = fulcrum.logs.findLast((l) => l.msg === 'reload failed');
    assert.match(JSON.stringify(line), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${taken}`));
  } finally {
    holder.close();
  }
});
