/**
 * A minimal RFC 6455 WebSocket echo server and client on node:http/node:net and node:crypto, so the
 * interop suite needs no WebSocket package (and Debian's curl 7.88 is built without ws://).
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const Opcode = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

export interface Frame {
  fin: boolean;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

export function encodeFrame(opcode: number, payload: Buffer, mask: boolean, fin = true): Buffer {
  const len = payload.length;
  const lenBytes = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + lenBytes + (mask ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | opcode;
  head[1] = (mask ? 0x80 : 0) | (len < 126 ? len : len < 65536 ? 126 : 127);
  if (lenBytes === 2) head.writeUInt16BE(len, 2);
  if (lenBytes === 8) head.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) return Buffer.concat([head, payload]);
  const key = randomBytes(4);
  key.copy(head, 2 + lenBytes);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ key[i & 3]!;
  return Buffer.concat([head, body]);
}

/** Incremental frame decoder: push bytes, pull whole frames. */
export class FrameReader {
  #buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
  }

  next(): Frame | null {
    const b = this.#buf;
    if (b.length < 2) return null;
    const masked = (b[1]! & 0x80) !== 0;
    let len = b[1]! & 0x7f;
    let off = 2;
    if (len === 126) {
      if (b.length < 4) return null;
      len = b.readUInt16BE(2);
      off = 4;
    } else if (len === 127) {
      if (b.length < 10) return null;
      len = Number(b.readBigUInt64BE(2));
      off = 10;
    }
    const maskAt = off;
    if (masked) off += 4;
    if (b.length < off + len) return null;
    const payload = Buffer.from(b.subarray(off, off + len));
    if (masked) for (let i = 0; i < len; i++) payload[i] = payload[i]! ^ b[maskAt + (i & 3)]!;
    this.#buf = b.subarray(off + len);
    return { fin: (b[0]! & 0x80) !== 0, opcode: b[0]! & 0x0f, masked, payload };
  }
}

export interface WsEchoServer {
  port: number;
  address: string;
  /** Upgrade requests received: their headers as Node parsed them. */
  upgrades: http.IncomingHttpHeaders[];
  /** Plain (non-upgrade) requests answered. */
  plainRequests: number;
  close(): Promise<void>;
}

/**
 * Echo server: answers a valid upgrade with 101 and echoes every text/binary frame, answers ping
 * with pong and close with close. Frames from the client must be masked (RFC 6455 5.1); an
 * unmasked one gets close 1002. A plain request gets 200 `ws-echo\n`.
 */
export async function startWsEchoServer(): Promise<WsEchoServer> {
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    echo.plainRequests++;
    req.resume();
    res.end('ws-echo\n');
  });
  const echo: WsEchoServer = {
    port: 0,
    address: '',
    upgrades: [],
    plainRequests: 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      const closed = once(server, 'close');
      server.close();
      await closed;
    },
  };
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    echo.upgrades.push(req.headers);
    const key = req.headers['sec-websocket-key'];
    if (req.headers['upgrade']?.toLowerCase() !== 'websocket' || typeof key !== 'string') {
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
    );
    const reader = new FrameReader();
    const onData = (chunk: Buffer): void => {
      reader.push(chunk);
      for (let f = reader.next(); f !== null; f = reader.next()) {
        if (!f.masked) {
          const code = Buffer.alloc(2);
          code.writeUInt16BE(1002);
          socket.end(encodeFrame(Opcode.close, code, false));
          return;
        }
        if (f.opcode === Opcode.ping) socket.write(encodeFrame(Opcode.pong, f.payload, false));
        else if (f.opcode === Opcode.close) {
          socket.end(encodeFrame(Opcode.close, f.payload, false));
          return;
        } else if (f.opcode !== Opcode.pong) socket.write(encodeFrame(f.opcode, f.payload, false, f.fin));
      }
    };
    if (head.length > 0) onData(head);
    socket.on('data', onData);
    // The http server's sockets allow half-open; a WebSocket server closes when its client does.
    socket.on('end', () => socket.end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('unexpected server address');
  echo.port = address.port;
  echo.address = `127.0.0.1:${address.port}`;
  return echo;
}

export interface WsClient {
  status: number;
  statusLine: string;
  /** Response headers, names lower-cased. */
  headers: Record<string, string>;
  /** The Sec-WebSocket-Key that was sent. */
  key: string;
  socket: net.Socket;
  send(opcode: number, payload: Buffer | string): void;
  /** Resolves with the next frame; rejects if the connection closes or after `timeoutMs`. */
  nextFrame(timeoutMs?: number): Promise<Frame>;
  /** Resolves when the peer has closed the TCP connection. */
  closed: Promise<void>;
}

/** Opens a TCP connection, sends an upgrade request and reads the response head. */
export async function connectWs(port: number, path = '/', opts: { host?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<WsClient> {
  const { host = `127.0.0.1:${port}`, headers = {}, timeoutMs = 5000 } = opts;
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const key = randomBytes(16).toString('base64');
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
  );
  const reader = new FrameReader();
  let head = Buffer.alloc(0);
  const response = await new Promise<{ statusLine: string; headers: Record<string, string>; rest: Buffer }>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      socket.destroy();
      reject(new Error(`no upgrade response within ${timeoutMs} ms; got: ${JSON.stringify(head.toString('latin1'))}`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      cleanup();
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const hs: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const c = line.indexOf(':');
        if (c > 0) hs[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
      }
      resolve({ statusLine: lines[0] ?? '', headers: hs, rest: head.subarray(end + 4) });
    };
    const onEnd = (err?: Error): void => {
      cleanup();
      reject(new Error(`connection closed before the upgrade response${err ? `: ${err.message}` : ''}; got: ${JSON.stringify(head.toString('latin1'))}`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onEnd);
      socket.off('error', onEnd);
    };
    socket.on('data', onData);
    socket.on('close', onEnd);
    socket.on('error', onEnd);
  });
  reader.push(response.rest);
  const pending: Array<(f: Frame | null) => void> = [];
  let ended = false;
  const pump = (): void => {
    for (;;) {
      const waiter = pending[0];
      if (waiter === undefined) return;
      const f = reader.next();
      if (f === null) {
        if (ended) {
          pending.shift();
          waiter(null);
          continue;
        }
        return;
      }
      pending.shift();
      waiter(f);
    }
  };
  socket.on('data', (chunk: Buffer) => {
    reader.push(chunk);
    pump();
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    ended = true;
    pump();
  });
  return {
    status: Number(response.statusLine.split(' ')[1]),
    statusLine: response.statusLine,
    headers: response.headers,
    key,
    socket,
    closed,
    send: (opcode, payload) => {
      socket.write(encodeFrame(opcode, typeof payload === 'string' ? Buffer.from(payload) : payload, true));
    },
    nextFrame: (ms = 5000) =>
      new Promise<Frame>((resolve, reject) => {
        const waiter = (f: Frame | null): void => {
          clearTimeout(timer);
          if (f === null) reject(new Error('connection closed while waiting for a frame'));
          else resolve(f);
        };
        const timer = setTimeout(() => {
          pending.splice(pending.indexOf(waiter), 1);
          reject(new Error(`no WebSocket frame within ${ms} ms`));
        }, ms);
        pending.push(waiter);
        pump();
      }),
  };
}
