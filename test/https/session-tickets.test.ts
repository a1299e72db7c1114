// TLS session resumption by tickets: keys every worker derives alike (so a client resumes on
// whichever worker SO_REUSEPORT gives it), rotating with the wall clock (an injected one here),
// and shared by two separate Fulcrum processes that read the same key file (an HA pair).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { TlsFrontEnd } from '../../src/frontend/tls-front-end.ts';
import { periodOf, ticketKey } from '../../src/tls/ticket-keys.ts';
import { freePort, startBackends, startFulcrum, type Backends, type Fulcrum } from '../helpers/fulcrum.ts';
import { parseConfig } from '../l7/harness.ts';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'tls');
const ROOT_CA = readFileSync(path.join(FIXTURES, 'root-ca.pem'));
const CERT = { cert: path.join(FIXTURES, 'www.surveyor.lab.rsa.pem'), key: path.join(FIXTURES, 'www.surveyor.lab.rsa.key') };

function serviceYaml(port: number, backend: string, sessionTickets: Record<string, unknown> = {}): string {
  return stringify({
    accessLog: 'off',
    virtualServices: [{ name: 'secure', listen: `127.0.0.1:${port}`, protocol: 'https', realServers: [{ address: backend }], tls: { certificates: [CERT], sessionTickets } }],
  });
}

/** A handshake and one request: whether it resumed `session`, and the last ticket the server sent (TLS 1.3 sends them after the handshake). */
async function handshake(port: number, session?: Buffer): Promise<{ reused: boolean; ticket: Buffer | null }> {
  const socket = tls.connect({ host: '127.0.0.1', port, servername: 'www.surveyor.lab', ca: ROOT_CA, ...(session !== undefined ? { session } : {}) });
  let ticket: Buffer | null = null;
  socket.on('session', (s: Buffer) => (ticket = s));
  await once(socket, 'secureConnect');
  const reused = socket.isSessionReused();
  socket.write('GET / HTTP/1.1\r\nHost: www.surveyor.lab\r\nConnection: close\r\n\r\n');
  socket.resume();
  await once(socket, 'close');
  return { reused, ticket };
}

describe('session tickets', () => {
  let backends: Backends;
  const running: Fulcrum[] = [];
  let dir: string;

  before(async () => {
    backends = await startBackends(1);
    dir = mkdtempSync(path.join(tmpdir(), 'fulcrum-tickets-'));
  });
  after(async () => {
    await Promise.all(running.map((f) => f.stop()));
    await backends.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every key is derived from the secret and the period: the same everywhere, another each period', () => {
    const secret = randomBytes(32);
    assert.equal(ticketKey(secret, 7).length, 48);
    assert.deepEqual(ticketKey(secret, 7), ticketKey(Buffer.from(secret), 7));
    assert.notDeepEqual(ticketKey(secret, 7), ticketKey(secret, 8));
    assert.notDeepEqual(ticketKey(secret, 7), ticketKey(randomBytes(32), 7));
    assert.equal(periodOf(43_200_000 * 5 + 1, 43_200_000), 5);
  });

  it('rotates when the period turns, by the clock it is given, in every context of the store', () => {
    const config = parseConfig(serviceYaml(8443, '127.0.0.1:9001', { rotate: '1h' }));
    const vs = config.virtualServices[0]!;
    assert.equal(vs.protocol, 'https');
    if (vs.protocol !== 'https') return;
    const secret = randomBytes(32);
    const start = Date.UTC(2026, 11, 6, 9, 59, 0);
    const front = new TlsFrontEnd(vs.tls, secret, vs.name, new Date(start));
    const keysNow = (): Buffer => (front.store.defaultContext as unknown as { context: { getTicketKeys(): Buffer } }).context.getTicketKeys();
    assert.deepEqual(keysNow(), ticketKey(secret, periodOf(start, 3_600_000)));
    front.rotate(start + 59_000); // 09:59:59, the same hour
    assert.deepEqual(keysNow(), ticketKey(secret, periodOf(start, 3_600_000)));
    front.rotate(start + 60_000); // 10:00:00
    assert.deepEqual(keysNow(), ticketKey(secret, periodOf(start, 3_600_000) + 1));
  });

  it('a client resumes on whichever of two workers it reaches', async () => {
    const port = await freePort();
    const fulcrum = await startFulcrum({ workers: 2, config: serviceYaml(port, backends.servers[0]!.address) });
    running.push(fulcrum);
    const first = await handshake(port);
    assert.equal(first.reused, false);
    // Ten new connections: the kernel's hash spreads them over both workers (all on one: 1 in 512).
    const reused = [];
    assert.ok(first.ticket !== null, 'the server sent a ticket');
    for (let i = 0; i < 10; i++) reused.push((await handshake(port, first.ticket)).reused);
    assert.deepEqual(reused, Array(10).fill(true));
  });

  it('two Fulcrum processes with the same keyFile resume each other\'s sessions (an HA pair)', async () => {
    const keyFile = path.join(dir, 'tickets.key');
    writeFileSync(keyFile, randomBytes(48), { mode: 0o600 });
    const [a, b] = [await freePort(), await freePort()];
    running.push(await startFulcrum({ workers: 1, config: serviceYaml(a, backends.servers[0]!.address, { keyFile }) }));
    running.push(await startFulcrum({ workers: 1, config: serviceYaml(b, backends.servers[0]!.address, { keyFile }) }));
    const fromA = await handshake(a);
    assert.ok(fromA.ticket !== null);
    assert.equal((await handshake(b, fromA.ticket)).reused, true);
    // Without the shared file, each draws its own secret: no resumption across them.
    const [c, d] = [await freePort(), await freePort()];
    running.push(await startFulcrum({ workers: 1, config: serviceYaml(c, backends.servers[0]!.address) }));
    running.push(await startFulcrum({ workers: 1, config: serviceYaml(d, backends.servers[0]!.address) }));
    const fromC = await handshake(c);
    assert.ok(fromC.ticket !== null);
    assert.equal((await handshake(d, fromC.ticket)).reused, false);
  });

  it('refuses a key file that is too short or missing, naming it', () => {
    const short = path.join(dir, 'short.key');
    writeFileSync(short, 'too short');
    const loaded = (text: string): string => {
      try {
        parseConfig(text);
        return 'loaded';
      } catch (error) {
        return String(error);
      }
    };
    assert.match(loaded(serviceYaml(8443, '127.0.0.1:9001', { keyFile: short })), /short\.key holds 9 bytes; a ticket secret needs at least 32/);
    assert.match(loaded(serviceYaml(8443, '127.0.0.1:9001', { keyFile: path.join(dir, 'nope.key') })), /cannot read the ticket secret .*nope\.key: ENOENT/);
  });
});
