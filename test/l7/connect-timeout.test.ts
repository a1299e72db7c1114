import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { startBackends } from '../helpers/backends.ts';
import { startBlackhole } from '../helpers/blackhole.ts';
import { startProxy } from './harness.ts';

// timeouts.connect: a real server whose connects hang (a full accept queue) is given up on after
// the connect timeout; with retries the request moves to another server, without it the client
// gets 504 naming the server.

describe('connect timeout', () => {
  it('a hanging connect is abandoned after timeouts.connect and the request is retried elsewhere', async () => {
    const hole = await startBlackhole();
    const backends = await startBackends(1);
    const proxy = await startProxy({ realServers: [hole.address, backends.servers[0]!.address], retries: 1, timeouts: { connect: '300ms' } });
    try {
      const durations: number[] = [];
      for (let i = 0; i < 4; i++) {
        const started = performance.now();
        const res = await request(`${proxy.url}/n${i}`);
        assert.equal(res.statusCode, 200);
        assert.equal(await res.body.text(), 'backend-1\n');
        durations.push(performance.now() - started);
      }
      assert.equal(backends.servers[0]!.requests, 4);
      // The retry's pick moves the rotation on too, so every first attempt lands on the blackhole:
      // each request waited out the 300 ms connect timeout once, and no longer.
      const shown = durations.map(Math.round).join(', ');
      assert.ok(durations.every((d) => d >= 280 && d < 2000), `durations ${shown}`);
    } finally {
      await proxy.close();
      await backends.close();
      await hole.close();
    }
  });

  it('without another server the client gets 504, and the access log names the real server and why', async () => {
    const hole = await startBlackhole();
    const proxy = await startProxy({ realServers: [hole.address], retries: 0, timeouts: { connect: '300ms' } });
    try {
      const res = await request(`${proxy.url}/`);
      assert.equal(res.statusCode, 504);
      const body = await res.body.text();
      assert.equal(body, '504 Gateway Timeout: the real server did not answer the connection in time (virtual service "web")\n');
      const [line] = await proxy.accessLog(1);
      assert.equal(line?.status, 504);
      assert.equal(line?.error, `timed out connecting to real server ${hole.address}`);
      assert.equal(line?.termination, 'upstream-connect-timeout');
    } finally {
      await proxy.close();
      await hole.close();
    }
  });
});
