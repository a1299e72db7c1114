// TLS to the real servers (a pool's tls:): verified against an internal CA with each server's
// own SNI name, keep-alive connections reused, sessions resumed on new connections, a server
// whose certificate does not match skipped for another (upstream-tls-failed when none is left),
// verify: false for a lab, and health checks that follow the same settings.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { WorkerRuntime } from '../../src/worker/runtime.ts';
import { freePort } from '../helpers/processes.ts';
import { parseConfig } from '../l7/harness.ts';
import { get, lastLogLine, poolConfig } from './reencrypt-harness.ts';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'tls');
const fixture = (name: string): string => path.join(FIXTURES, name);

interface TlsBackend {
  name: string;
  address: string;
  server: https.Server;
  connections: number;
  resumed: number;
  servernames: string[];
}

/** An HTTPS real server with `cert`; says who it is, the SNI name it got and whether the session was resumed. */
async function tlsBackend(name: string, cert: string): Promise<TlsBackend> {
  const backend: TlsBackend = { name, address: '', server: null as unknown as https.Server, connections: 0, resumed: 0, servernames: [] };
  backend.server = https.createServer({ cert: readFileSync(fixture(`${cert}.pem`)), key: readFileSync(fixture(`${cert}.key`)), keepAliveTimeout: 10_000 }, (req, res) => {
    res.setHeader('X-Backend', name);
    res.end(`${name}\n`);
  });
  backend.server.on('secureConnection', (socket: TLSSocket) => {
    backend.connections++;
    if (socket.isSessionReused()) backend.resumed++;
    backend.servernames.push(String((socket as TLSSocket & { servername?: string | false }).servername));
  });
  backend.server.listen(0, '127.0.0.1');
  await once(backend.server, 'listening');
  backend.address = `127.0.0.1:${(backend.server.address() as AddressInfo).port}`;
  return backend;
}

const LOG = path.join(mkdtempSync(path.join(tmpdir(), 'fulcrum-reencrypt-')), 'access.log');
const config = (port: number, pool: Record<string, unknown>): string => poolConfig(LOG, port, pool);

describe('TLS to the real servers', () => {
  let app1: TlsBackend;
  let app2: TlsBackend;
  let runtime: WorkerRuntime;
  let port: number;

  before(async () => {
    app1 = await tlsBackend('app1', 'app1.internal');
    app2 = await tlsBackend('app2', 'app2.internal');
    port = await freePort();
    runtime = new WorkerRuntime();
  });
  after(async () => {
    await runtime.drain(0);
    app1.server.closeAllConnections();
    app2.server.closeAllConnections();
    app1.server.close();
    app2.server.close();
  });

  const verified = (): Record<string, unknown> => ({
    tls: { verify: true, ca: fixture('internal-ca.pem') },
    realServers: [
      { address: app1.address, tls: { serverName: 'app1.internal' } },
      { address: app2.address, tls: { serverName: 'app2.internal' } },
    ],
  });

  it('verifies each server by its own name, reuses connections and resumes sessions', async () => {
    await runtime.apply(parseConfig(config(port, verified())));
    const bodies: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await get(port);
      assert.equal(res.status, 200);
      bodies.push(res.body.trim());
    }
    assert.deepEqual([...new Set(bodies)].sort(), ['app1', 'app2']);
    assert.deepEqual([...new Set(app1.servernames)], ['app1.internal']);
    assert.deepEqual([...new Set(app2.servernames)], ['app2.internal']);
    assert.ok(app1.connections + app2.connections < 8, `keep-alive: ${app1.connections + app2.connections} TLS connections for 8 requests`);
    // New connections (the servers close theirs): the second one to a server resumes its session.
    app1.server.closeAllConnections();
    app2.server.closeAllConnections();
    const before = app1.resumed + app2.resumed;
    for (let i = 0; i < 4; i++) {
      assert.equal((await get(port)).status, 200);
      app1.server.closeAllConnections();
      app2.server.closeAllConnections();
    }
    assert.ok(app1.resumed + app2.resumed > before, 'sessions were resumed on new connections');
  });

  it('skips a server whose certificate does not name what it should, and says upstream-tls-failed when none is left', async () => {
    const misnamed = {
      tls: { ca: fixture('internal-ca.pem') },
      realServers: [
        { address: app1.address, tls: { serverName: 'app2.internal' } },
        { address: app2.address, tls: { serverName: 'app2.internal' } },
      ],
    };
    await runtime.apply(parseConfig(config(port, misnamed)));
    for (let i = 0; i < 4; i++) assert.equal((await get(port)).body.trim(), 'app2', 'the retry goes to the server that proves its name');
    await runtime.apply(parseConfig(config(port, { tls: { ca: fixture('internal-ca.pem') }, realServers: [{ address: app1.address, tls: { serverName: 'wrong.internal' } }] })));
    const failed = await get(port);
    assert.equal(failed.status, 502);
    assert.doesNotMatch(failed.body, /127\.0\.0\.1|ERR_|wrong\.internal/, 'the client reads no internals');
    const last = await lastLogLine(LOG, (line) => line.termination === 'upstream-tls-failed');
    assert.equal(last.termination, 'upstream-tls-failed');
    assert.match(last.error ?? '', /ERR_TLS_CERT_ALTNAME_INVALID/, 'the log says why');
  });

  it('without the internal CA the servers are not trusted; verify: false lets a lab through', async () => {
    await runtime.apply(parseConfig(config(port, { tls: {}, realServers: [{ address: app1.address, tls: { serverName: 'app1.internal' } }] })));
    assert.equal((await get(port)).status, 502);
    await runtime.apply(parseConfig(config(port, { tls: { verify: false }, realServers: [{ address: app1.address }] })));
    assert.equal((await get(port)).status, 200);
  });

  it('health checks of a TLS pool are https checks with its name, CA and verification, unless the type is written', () => {
    const parsed = parseConfig(config(8080, { ...verified(), healthCheck: { path: '/health' } }));
    const checks = parsed.pools.find((p) => p.name === 'web')!.realServers.map((rs) => [rs.healthCheck.type, rs.healthCheck.host, rs.healthCheck.tls.verify, rs.healthCheck.tls.ca]);
    assert.deepEqual(checks, [
      ['https', 'app1.internal', true, fixture('internal-ca.pem')],
      ['https', 'app2.internal', true, fixture('internal-ca.pem')],
    ]);
    const written = parseConfig(config(8080, { ...verified(), healthCheck: { type: 'tcp' } }));
    assert.deepEqual(written.pools.find((p) => p.name === 'web')!.realServers.map((rs) => rs.healthCheck.type), ['tcp', 'tcp']);
  });
});
