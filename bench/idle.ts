/**
 * Memory per idle keep-alive client connection: open N connections, have each make one request and
 * read the whole response, then leave them idle and compare the proxy's RSS before and after.
 */
import net from 'node:net';
import { rssKiB } from '../test/helpers/fulcrum.ts';

export interface IdleResult {
  connections: number;
  /** Connections still open when the second RSS reading was taken. */
  stillOpen: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  perConnectionKiB: number;
}

async function totalRss(pids: readonly number[]): Promise<number> {
  let sum = 0;
  for (const pid of pids) sum += await rssKiB(pid);
  return sum;
}

/** One connection that sends `GET /` and resolves once the response body (Content-Length) is in. */
function openOne(port: number, sockets: Set<net.Socket>): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let done = false;
    socket.on('error', (err) => {
      if (!done) reject(err);
    });
    socket.on('close', () => {
      sockets.delete(socket);
      if (!done) reject(new Error('closed before the response was complete'));
    });
    socket.on('connect', () => {
      sockets.add(socket);
      socket.write('GET / HTTP/1.1\r\nHost: bench\r\n\r\n');
    });
    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(buf.subarray(0, end).toString('latin1'));
      if (!m) {
        done = true;
        reject(new Error(`response without Content-Length: ${buf.subarray(0, end).toString('latin1')}`));
        return;
      }
      if (buf.length >= end + 4 + Number(m[1])) {
        done = true;
        buf = Buffer.alloc(0);
        resolve();
      }
    });
  });
}

export async function measureIdleConnections(port: number, pids: readonly number[], count: number): Promise<IdleResult> {
  const sockets = new Set<net.Socket>();
  try {
    // 200 handshakes in flight at a time stays well inside the listen backlog (somaxconn 4096).
    const open = async (n: number, keep: Set<net.Socket>): Promise<void> => {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < n) {
          next++;
          await openOne(port, keep);
        }
      };
      await Promise.all(Array.from({ length: Math.min(200, n) }, worker));
    };
    // Warm-up: the first connections pay for code, pools and JIT; close them before the baseline.
    const warm = new Set<net.Socket>();
    await open(Math.min(1000, count), warm);
    for (const s of warm) s.destroy();
    const rssBeforeKiB = await totalRss(pids);
    await open(count, sockets);
    const rssAfterKiB = await totalRss(pids);
    const stillOpen = sockets.size;
    return {
      connections: count,
      stillOpen,
      rssBeforeKiB,
      rssAfterKiB,
      perConnectionKiB: (rssAfterKiB - rssBeforeKiB) / count,
    };
  } finally {
    for (const s of sockets) s.destroy();
  }
}
