/**
 * The DNS server's TCP listener at one listen address (RFC 1035 4.2.2, RFC 7766): each message
 * has a 2-byte length prefix; a connection may carry many queries, pipelined, and gets the
 * answers in order. Resolvers come here after a truncated UDP answer.
 *
 * Limits: a connection idle for IDLE_TIMEOUT_MS is closed (RFC 7766 6.2.3 suggests seconds, not
 * minutes); a client that does not read its answers is paused, not buffered for without bound;
 * a worker holds at most MAX_CONNECTIONS.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { HostPort } from '../config/address.ts';
import { listenShared } from '../worker/listen-shared.ts';
import type { DnsAnswerer } from './answerer.ts';

const IDLE_TIMEOUT_MS = 10_000;
/**
 * TCP connections one worker holds at once; past it new ones are closed at accept. DNS over TCP
 * is the fallback for truncated answers, so a thousand open at once is an attack or a leak, and
 * each holds a socket and buffers.
 */
const MAX_CONNECTIONS = 1024;

export interface DnsTcpServerOptions {
  /** Close a connection idle this long; IDLE_TIMEOUT_MS unless given (tests shorten it). */
  idleTimeoutMs?: number;
}

export class DnsTcpServer {
  readonly address: HostPort;
  readonly #server: Server;
  readonly #answerer: DnsAnswerer;
  readonly #idleTimeoutMs: number;
  readonly #sockets = new Set<Socket>();
  #closed: Promise<void> | null = null;

  constructor(address: HostPort, answerer: DnsAnswerer, options: DnsTcpServerOptions = {}) {
    this.address = address;
    this.#answerer = answerer;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    this.#server = createServer({ noDelay: true }, (socket) => this.#onConnection(socket));
    this.#server.maxConnections = MAX_CONNECTIONS;
  }

  listen(): Promise<void> {
    return listenShared(this.#server, this.address.host, this.address.port, 511);
  }

  get connectionCount(): number {
    return this.#sockets.size;
  }

  /** Stop accepting; connections finish the queries they have sent and are then ended. */
  close(): Promise<void> {
    this.#closed ??= new Promise((resolve) => {
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.end();
    });
    return this.#closed;
  }

  destroyAll(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  #onConnection(socket: Socket): void {
    this.#answerer.tcpConnections++;
    this.#sockets.add(socket);
    socket.setTimeout(this.#idleTimeoutMs, () => socket.destroy());
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => {});
    socket.on('drain', () => socket.resume());
    const client = socket.remoteAddress ?? '';
    let pending: Buffer | null = null;
    socket.on('data', (chunk: Buffer) => {
      let data = pending === null ? chunk : Buffer.concat([pending, chunk]);
      pending = null;
      let blocked = false;
      while (data.length >= 2) {
        const length = data.readUInt16BE(0);
        if (data.length < 2 + length) break;
        const response = this.#answerer.answerTcp(data.subarray(2, 2 + length), client);
        data = data.subarray(2 + length);
        if (response !== null && !socket.write(response)) blocked = true;
      }
      if (data.length > 0) pending = Buffer.from(data);
      if (blocked) socket.pause();
    });
    if (this.#closed !== null) socket.end();
  }
}
