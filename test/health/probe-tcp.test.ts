import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { timeoutReason } from '../../src/health/reason.ts';
import { probeTcp } from '../../src/health/probe-tcp.ts';
import { probe } from '../../src/health/probe.ts';
import { checkSpec, closedPort, hostPort, http, startServer } from './servers.ts';

describe('tcp check', () => {
  it('passes when a connection opens, and sends nothing', async () => {
    const server = await startServer(() => http(200));
    try {
      const result = await probeTcp(hostPort(server.address), checkSpec({ type: 'tcp' }));
      assert.equal(result.ok, true, result.reason);
      assert.match(result.reason, /^connected in (<1|[0-9]+) ms$/);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(server.connections, 1);
      assert.equal(server.requests.length, 0);
    } finally {
      await server.close();
    }
  });

  it('fails on a refused connection, naming the address', async () => {
    const port = await closedPort();
    const result = await probeTcp({ host: '127.0.0.1', port }, checkSpec({ type: 'tcp' }));
    assert.equal(result.ok, false);
    assert.equal(result.reason, `connection refused on 127.0.0.1:${port}`);
  });

  it('checks the check port, not the real server port', async () => {
    const server = await startServer(() => null);
    try {
      const result = await probeTcp({ host: '127.0.0.1', port: await closedPort() }, checkSpec({ type: 'tcp', port: server.port }));
      assert.equal(result.ok, true, result.reason);
      assert.equal(result.detail?.target, server.address);
    } finally {
      await server.close();
    }
  });

  it('words a connect timeout (a silent, filtered port) with the address', () => {
    assert.equal(timeoutReason('connect', 1000, '10.0.0.5:8081', null), 'no connection within 1s to 10.0.0.5:8081');
  });

  it('the dispatcher runs the check its type names; none is never probed', async () => {
    const port = await closedPort();
    const none = await probe({ host: '127.0.0.1', port }, checkSpec({ type: 'none' }));
    assert.equal(none.ok, true);
    for (const type of ['tcp', 'http', 'https']) {
      const result = await probe({ host: '127.0.0.1', port }, checkSpec({ type }));
      assert.equal(result.reason, `connection refused on 127.0.0.1:${port}`, type);
    }
  });
});
