import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import type { HealthCheckConfig } from '../../src/config/health-check.ts';
import { validateConfig } from '../../src/config/validate.ts';
import { probeFtp } from '../../src/health/probe-ftp.ts';
import { probe } from '../../src/health/probe.ts';
import { describeCheck } from '../../src/health/target.ts';
import { closedPort } from './servers.ts';

/** A scripted FTP server: `script` runs for each connection; what the check sends is kept. */
interface FtpServer {
  port: number;
  /** Everything the check sent, per connection, as text. */
  received: string[];
  /** Resolves when the first connection is accepted. */
  accepted: Promise<void>;
  /** Resolves when the server's side of the first connection has closed. */
  closed: Promise<void>;
  close(): Promise<void>;
}

async function ftpServer(script: (socket: Socket) => void): Promise<FtpServer> {
  const sockets = new Set<Socket>();
  const received: string[] = [];
  let markClosed = (): void => {};
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  let markAccepted = (): void => {};
  const accepted = new Promise<void>((resolve) => (markAccepted = resolve));
  const server = createServer((socket) => {
    markAccepted();
    const index = received.push('') - 1;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => (received[index] += chunk.toString('latin1')));
    socket.on('close', () => {
      sockets.delete(socket);
      markClosed();
    });
    script(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    received,
    accepted,
    closed,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Answers QUIT with 221 and closes, as vsftpd does. */
function answerQuit(socket: Socket): void {
  socket.on('data', (chunk: Buffer) => {
    if (chunk.toString('latin1').startsWith('QUIT')) socket.end('221 Goodbye.\r\n');
  });
}

/** An ftp check through the real config schema, on a tcp virtual service. */
function ftpCheck(spec: Record<string, unknown> = {}): HealthCheckConfig {
  const result = validateConfig({
    virtualServices: [{ name: 'ftp', listen: '127.0.0.1:1', protocol: 'tcp', healthCheck: { type: 'ftp', ...spec }, realServers: [{ address: '127.0.0.1:1' }] }],
  });
  if (!result.ok) throw new Error(`bad test spec: ${JSON.stringify(result.issues)}`);
  const check = result.config.pools[0]?.realServers[0]?.healthCheck;
  assert.ok(check !== undefined);
  return check;
}

const at = (port: number) => ({ host: '127.0.0.1', port });

describe('ftp check', () => {
  it('passes on a one-line 220, says QUIT, reads the 221 and closes', async () => {
    const server = await ftpServer((socket) => {
      socket.write('220 (vsFTPd 3.0.3)\r\n');
      answerQuit(socket);
    });
    try {
      const result = await probeFtp(at(server.port), ftpCheck());
      assert.equal(result.ok, true, result.reason);
      assert.match(result.reason, /^FTP server ready in (<1|[0-9]+) ms: "220 \(vsFTPd 3\.0\.3\)"$/);
      assert.deepEqual([result.detail?.target, result.detail?.status, result.detail?.reply], [`127.0.0.1:${server.port}`, 220, '220 (vsFTPd 3.0.3)']);
      await server.closed;
      assert.deepEqual(server.received, ['QUIT\r\n']);
    } finally {
      await server.close();
    }
  });

  it('reads a multi-line 220 to its last line, across packets, and quotes the first', async () => {
    let greeted = false;
    let quitTooEarly = false;
    const server = await ftpServer((socket) => {
      socket.on('data', () => (quitTooEarly ||= !greeted));
      socket.write('220-Welcome to the survey archive\r\n220-Uploads go to /inco');
      // The rest comes in a later write: the reader must join a line split across chunks.
      setImmediate(() => {
        socket.write('ming\r\n 220 inside the text does not end it\r\n220-Nor does this\r\n');
        setImmediate(() => {
          greeted = true;
          socket.write('220 Ready\r\n');
          answerQuit(socket);
        });
      });
    });
    try {
      const result = await probeFtp(at(server.port), ftpCheck());
      assert.equal(result.ok, true, result.reason);
      assert.match(result.reason, /: "220-Welcome to the survey archive"$/);
      assert.equal(result.detail?.reply, '220-Welcome to the survey archive');
      await server.closed;
      assert.equal(server.received[0], 'QUIT\r\n');
      assert.equal(quitTooEarly, false, 'QUIT came before the last line of the greeting');
    } finally {
      await server.close();
    }
  });

  it('waits past a 120 "ready in N minutes" for the 220', async () => {
    const server = await ftpServer((socket) => {
      socket.write('120 Service ready in 1 minute\r\n220 Ready now\r\n');
      answerQuit(socket);
    });
    try {
      const result = await probeFtp(at(server.port), ftpCheck());
      assert.equal(result.ok, true, result.reason);
      assert.match(result.reason, /: "220 Ready now"$/);
    } finally {
      await server.close();
    }
  });

  it('fails on 421 (busy) with the server words, and on a 5xx with them trimmed to 100 characters', async () => {
    const busy = await ftpServer((socket) => socket.end('421 Too many users, try again later\r\n'));
    const banned = await ftpServer((socket) => socket.end(`530-${'x'.repeat(150)}\r\n530 Go away\r\n`));
    try {
      const result = await probeFtp(at(busy.port), ftpCheck());
      assert.equal(result.ok, false);
      assert.equal(result.reason, `FTP server on 127.0.0.1:${busy.port} is not available: "421 Too many users, try again later"`);
      assert.equal(result.detail?.status, 421);
      const refused = await probeFtp(at(banned.port), ftpCheck());
      assert.equal(refused.ok, false);
      assert.equal(refused.reason, `FTP server on 127.0.0.1:${banned.port} refused the session: "530-${'x'.repeat(93)}..."`);
    } finally {
      await busy.close();
      await banned.close();
    }
  });

  it('fails with the words when the port speaks something else, or closes without a greeting', async () => {
    const ssh = await ftpServer((socket) => socket.write('SSH-2.0-OpenSSH_9.2\r\n'));
    const mute = await ftpServer((socket) => socket.end());
    try {
      const notFtp = await probeFtp(at(ssh.port), ftpCheck());
      assert.equal(notFtp.reason, `the answer on 127.0.0.1:${ssh.port} is not an FTP greeting; it began "SSH-2.0-OpenSSH_9.2"`);
      const closed = await probeFtp(at(mute.port), ftpCheck());
      assert.equal(closed.reason, `127.0.0.1:${mute.port} closed the connection without an FTP greeting`);
    } finally {
      await ssh.close();
      await mute.close();
    }
  });

  it('times out on a silent server (an HTTP port, a hung daemon) with the timeout in the reason', async () => {
    const server = await ftpServer(() => {});
    try {
      const started = performance.now();
      const result = await probeFtp(at(server.port), ftpCheck({ interval: '2s', timeout: '300ms' }));
      assert.equal(result.ok, false);
      assert.equal(result.reason, `no FTP greeting within 300ms from 127.0.0.1:${server.port}`);
      assert.ok(performance.now() - started >= 290);
      await server.closed;
      assert.equal(server.received[0], '', 'no QUIT before a greeting');
    } finally {
      await server.close();
    }
  });

  it('fails on a refused connection, naming the address', async () => {
    const port = await closedPort();
    const result = await probeFtp(at(port), ftpCheck());
    assert.equal(result.ok, false);
    assert.equal(result.reason, `connection refused on 127.0.0.1:${port}`);
  });

  it('passes when the server closes right after its greeting, or never answers QUIT', async () => {
    const closing = await ftpServer((socket) => socket.end('220 Ready\r\n'));
    const silent = await ftpServer((socket) => socket.write('220 Ready\r\n'));
    try {
      const closed = await probeFtp(at(closing.port), ftpCheck());
      assert.equal(closed.ok, true, closed.reason);
      const started = performance.now();
      const unanswered = await probeFtp(at(silent.port), ftpCheck({ interval: '5s', timeout: '2s' }));
      assert.equal(unanswered.ok, true, unanswered.reason);
      // The QUIT wait is short (500 ms at most), and the latency is the greeting's.
      assert.ok(performance.now() - started < 1500);
      assert.ok(unanswered.latencyMs < 500, String(unanswered.latencyMs));
      await silent.closed;
      assert.equal(silent.received[0], 'QUIT\r\n');
    } finally {
      await closing.close();
      await silent.close();
    }
  });

  it('checks the check port; the dispatcher runs it for type ftp; the status names it', async () => {
    const server = await ftpServer((socket) => {
      socket.write('220 Ready\r\n');
      answerQuit(socket);
    });
    try {
      const check = ftpCheck({ port: server.port });
      const result = await probe(at(await closedPort()), check);
      assert.equal(result.ok, true, result.reason);
      assert.equal(describeCheck({ host: '127.0.0.2', port: 21 }, ftpCheck()), 'ftp to 127.0.0.2:21');
    } finally {
      await server.close();
    }
  });

  it('stops when aborted, closing the connection', async () => {
    const server = await ftpServer(() => {});
    try {
      const abort = new AbortController();
      const pending = probeFtp(at(server.port), ftpCheck(), abort.signal);
      await server.accepted;
      abort.abort();
      const result = await pending;
      assert.deepEqual([result.ok, result.reason], [false, 'check stopped']);
      await server.closed;
    } finally {
      await server.close();
    }
  });
});
