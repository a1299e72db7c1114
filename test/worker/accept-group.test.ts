import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { AcceptGroup, SOCKETS } from '../../src/worker/accept-group.ts';

const CLIENTS = 24;

/** Blocks the event loop, as a worker busy with its clients does, while the kernel completes the clients' TCP handshakes. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/**
 * Opens CLIENTS connections while the loop is blocked, then counts the connections the server
 * side accepts before the loop's next check phase (one turn).
 */
async function acceptedInOneTurn(port: number, accepted: () => number): Promise<{ first: number; clients: Socket[] }> {
  const clients: Socket[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const c = connect(port, '127.0.0.1');
    c.on('error', () => {});
    clients.push(c);
  }
  busy(100);
  const before = accepted();
  const first = await new Promise<number>((resolve) => setImmediate(() => resolve(accepted() - before)));
  return { first, clients };
}

test('a plain listening socket accepts one connection per event-loop turn (the libuv behaviour the group works around)', async () => {
  let accepted = 0;
  const sockets: Socket[] = [];
  const server: Server = createServer((s) => {
    accepted++;
    sockets.push(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const { first, clients } = await acceptedInOneTurn(port, () => accepted);
  // If libuv accepts in a loop again, the group is no longer needed: this says so.
  assert.equal(first, 1);
  for (const c of clients) c.destroy();
  for (const s of sockets) s.destroy();
  server.close();
});

test(`a group of ${SOCKETS} sockets takes in several connections per turn, on the port the first one was given`, async () => {
  const sockets: Socket[] = [];
  const group = new AcceptGroup({}, (s) => sockets.push(s));
  await group.listen('127.0.0.1', 0);
  const { port } = group.address();
  assert.ok(port > 0);
  const { first, clients } = await acceptedInOneTurn(port, () => sockets.length);
  // 24 connections hashed over 8 sockets leave about 7 of them with a connection waiting; fewer
  // than 3 would take odds under one in 10^9.
  assert.ok(first >= 3, `accepted ${first} in the first turn`);
  while (sockets.length < CLIENTS) await new Promise((r) => setImmediate(r));
  assert.equal(group.open, CLIENTS);
  for (const c of clients) c.destroy();
  await group.close().then(
    () => {},
    () => {},
  );
  for (const s of sockets) s.destroy();
});

test('maxConnections bounds the group as a whole; a closed connection frees its place', async () => {
  const sockets: Socket[] = [];
  const group = new AcceptGroup({}, (s) => sockets.push(s));
  group.maxConnections = 5;
  await group.listen('127.0.0.1', 0);
  const { port } = group.address();
  const clients: Socket[] = [];
  let refused = 0;
  const sevenRefused = new Promise<void>((resolve) => {
    for (let i = 0; i < 12; i++) {
      const c = connect(port, '127.0.0.1');
      c.on('error', () => {});
      c.on('close', () => {
        if (++refused === 7) resolve();
      });
      clients.push(c);
    }
  });
  // The 7 over the limit are closed by the group; the 5 it kept stay open.
  await sevenRefused;
  while (sockets.length < 5) await new Promise((r) => setImmediate(r));
  assert.equal(sockets.length, 5);
  assert.equal(group.open, 5);
  assert.equal(refused, 7);
  sockets[0]!.destroy();
  await once(sockets[0]!, 'close');
  assert.equal(group.open, 4);
  const again = connect(port, '127.0.0.1');
  while (sockets.length < 6) await new Promise((r) => setImmediate(r));
  assert.equal(group.open, 5);
  again.destroy();
  for (const c of clients) c.destroy();
  for (const s of sockets) s.destroy();
  await group.close();
});

test('a bind that fails closes the sockets already bound and reports the error', async () => {
  const taken = createServer();
  taken.listen({ port: 0, host: '127.0.0.1', exclusive: true });
  await once(taken, 'listening');
  const { port } = taken.address() as { port: number };
  const group = new AcceptGroup({}, () => {});
  await assert.rejects(group.listen('127.0.0.1', port), /EADDRINUSE/);
  assert.equal(group.listening, false);
  taken.close();
});
