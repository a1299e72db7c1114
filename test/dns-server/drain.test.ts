// A worker's drain counts DNS-over-TCP clients like any other: one that keeps its connection open
// (half-open after the server's FIN) holds the drain until the grace period, is then cut, and the
// drain reports that it was not clean, instead of the worker waiting on it unseen.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.ts';
import { WorkerRuntime } from '../../src/worker/runtime.ts';
import { HOST } from './client.ts';
import { freeDnsPort } from './fixture.ts';

describe('WorkerRuntime.drain with DNS over TCP', () => {
  it('counts an open DNS TCP connection, cuts it at the grace period and reports the drain unclean', async () => {
    const port = await freeDnsPort();
    const loaded = loadConfigText(
      `accessLog: off
gslb:
  listen: [${HOST}:${port}]
  zones:
    - name: surveyor.lab
      nameServers: [ns1.surveyor.lab]
      hostmaster: hostmaster@surveyor.lab
      records: [{ name: ns1, type: A, value: 192.0.2.53 }]
`,
      'drain.yaml',
    );
    assert.ok(loaded.ok);
    const runtime = new WorkerRuntime();
    await runtime.apply(loaded.config, 1);
    const client = connect({ port, host: HOST, allowHalfOpen: true });
    client.on('error', () => {});
    await new Promise((resolve) => client.once('connect', resolve));
    const endedByServer = new Promise((resolve) => client.once('end', resolve));
    while (runtime.connectionCount === 0) await new Promise((resolve) => setImmediate(resolve));
    const graceMs = 300;
    const started = performance.now();
    const clean = await runtime.drain(graceMs);
    const elapsed = performance.now() - started;
    assert.equal(clean, false, 'a client was still connected at the end of the grace period');
    assert.ok(elapsed >= graceMs - 20 && elapsed < graceMs + 2000, `drained in ${elapsed.toFixed(0)} ms`);
    await endedByServer;
    assert.equal(runtime.connectionCount, 0);
    client.destroy();
  });
});
