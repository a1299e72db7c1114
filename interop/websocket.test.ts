// WebSocket upgrade through Fulcrum: the 101 and every frame must pass through untouched.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { configYaml, freePort, startFulcrum, type Fulcrum } from '../test/helpers/fulcrum.ts';
import { teardown } from '../test/helpers/processes.ts';
import { curl } from './curl.ts';
import { requirePeers } from './peers.ts';
import { acceptKey, connectWs, Opcode, startWsEchoServer, type WsEchoServer } from './websocket.ts';

describe('WebSocket through Fulcrum', () => {
  let echo: WsEchoServer | undefined;
  let fulcrum: Fulcrum | undefined;
  let port = 0;

  before(async () => {
    requirePeers('curl');
    echo = await startWsEchoServer();
    port = await freePort();
    fulcrum = await startFulcrum({
      config: configYaml({ virtualServices: [{ name: 'ws', listen: `127.0.0.1:${port}`, realServers: [echo.address] }] }),
    });
  });

  after(async () => {
    await teardown(
      () => fulcrum?.stop(),
      () => echo?.close(),
    );
  });

  it('passes plain requests on the same virtual service (curl)', async () => {
    const { stdout } = await curl(['--fail', `http://127.0.0.1:${port}/`]);
    assert.equal(stdout, 'ws-echo\n');
  });

  it('answers the upgrade with 101 and the backend\'s Sec-WebSocket-Accept, then echoes frames both ways', async () => {
    const ws = await connectWs(port, '/chat?room=1', { headers: { 'Sec-WebSocket-Protocol': 'chat', Origin: 'http://example.test' } });
    try {
      assert.equal(ws.status, 101, ws.statusLine);
      assert.equal(ws.headers['upgrade']?.toLowerCase(), 'websocket');
      assert.match(ws.headers['connection'] ?? '', /upgrade/i);
      assert.equal(ws.headers['sec-websocket-accept'], acceptKey(ws.key));

      const seen = echo?.upgrades.at(-1);
      assert.equal(seen?.['sec-websocket-key'], ws.key, 'the backend got the client key unchanged');
      assert.equal(seen?.['sec-websocket-protocol'], 'chat');
      assert.equal(seen?.['sec-websocket-version'], '13');

      ws.send(Opcode.text, 'hello through fulcrum');
      const text = await ws.nextFrame();
      assert.equal(text.opcode, Opcode.text);
      assert.equal(text.masked, false, 'server frames arrive unmasked');
      assert.equal(text.payload.toString(), 'hello through fulcrum');

      // 70,000 bytes needs the 64-bit length form, and spans many TCP segments.
      const blob = randomBytes(70_000);
      ws.send(Opcode.binary, blob);
      const bin = await ws.nextFrame();
      assert.equal(bin.opcode, Opcode.binary);
      assert.ok(bin.payload.equals(blob), 'binary payload echoed byte for byte');

      ws.send(Opcode.ping, 'p1');
      const pong = await ws.nextFrame();
      assert.equal(pong.opcode, Opcode.pong);
      assert.equal(pong.payload.toString(), 'p1');

      // Many small frames written back to back arrive in order.
      for (let i = 0; i < 100; i++) ws.send(Opcode.text, `m${i}`);
      for (let i = 0; i < 100; i++) assert.equal((await ws.nextFrame()).payload.toString(), `m${i}`);

      const code = Buffer.alloc(2);
      code.writeUInt16BE(1000);
      ws.send(Opcode.close, code);
      const close = await ws.nextFrame();
      assert.equal(close.opcode, Opcode.close);
      assert.equal(close.payload.readUInt16BE(0), 1000);
      await ws.closed;
    } finally {
      ws.socket.destroy();
    }
  });

  it('keeps several WebSockets open at once, each to its own echo', async () => {
    const clients = await Promise.all([0, 1, 2, 3, 4].map(() => connectWs(port, '/')));
    try {
      for (const c of clients) assert.equal(c.status, 101, c.statusLine);
      clients.forEach((c, i) => c.send(Opcode.text, `client-${i}`));
      const replies = await Promise.all(clients.map((c) => c.nextFrame()));
      assert.deepEqual(
        replies.map((f) => f.payload.toString()),
        ['client-0', 'client-1', 'client-2', 'client-3', 'client-4'],
      );
    } finally {
      for (const c of clients) c.socket.destroy();
    }
  });
});
