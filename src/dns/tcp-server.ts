/**
 * The DNS server's TCP listener at one listen address (RFC 1035 4.2.2, RFC 7766): each message
 * has a 2-byte length prefix; a connection may carry many queries, pipelined, and gets the
 * answers in order. Resolvers come here after a truncated UDP answer.
 *
 * Limits, so that a few hostile clients cannot take the TCP fallback away from everyone:
 * - idle: a connection that has completed no message for `idleTimeoutMs` is closed (RFC 7766
 *   6.2.3 suggests seconds, not minutes), counted from the last complete message, so trickling
 *   bytes does not keep it alive; a message begun must be complete within PARTIAL_TIMEOUT_MS;
 * - backpressure: answering stops at the first write the client does not take; the rest of what
 *   it sent waits (at most one read's worth) and nothing more is read until it drains;
 * - count: past MAX_CONNECTIONS (per address, per worker) a new connection closes the one idle
 *   longest, as RFC 7766 6.2.3 advises, rather than being refused.
 * One sweep timer per listener enforces the deadlines; there is no timer per connection.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { HostPort } from '../config/address.ts';
import { listenShared } from '../worker/listen-shared.ts';
import type { DnsAnswerer } from './answerer.ts';

const IDLE_TIMEOUT_MS = 10_000;
/** A query is a few dozen bytes: one that takes longer than this to arrive is not a resolver's. */
const PARTIAL_TIMEOUT_MS = 3_000;
/**
 * DNS over TCP is the fallback for truncated answers: a thousand connections open at once at one
 * address in one worker is an attack or a leak, and each holds a socket and buffers.
 */
const MAX_CONNECTIONS = 1024;

export interface DnsTcpServerOptions {
  /** Close a connection with no complete message for this long; IDLE_TIMEOUT_MS unless given (tests shorten it). */
  idleTimeoutMs?: number;
  /** Tests shorten it; MAX_CONNECTIONS unless given. */
  maxConnections?: number;
}

interface Connection {
  readonly socket: Socket;
  readonly client: string;
  /** Bytes read and not yet answered: a partial message, or messages held back by backpressure. */
  pending: Buffer | null;
  /** When the last complete message arrived (or the connection opened). */
  lastMessageAt: number;
  /** When the partial message in `pending` began; 0 when there is none. */
  partialSince: number;
  /** A write was refused: answer nothing more until 'drain'. */
  blocked: boolean;
}

export class DnsTcpServer {
  readonly address: HostPort;
  readonly #server: Server;
  readonly #answerer: DnsAnswerer;
  readonly #idleTimeoutMs: number;
  readonly #partialTimeoutMs: number;
  readonly #maxConnections: number;
  readonly #connections = new Set<Connection>();
  readonly #sweep: NodeJS.Timeout;
  #closed: Promise<void> | null = null;

  constructor(address: HostPort, answerer: DnsAnswerer, options: DnsTcpServerOptions = {}) {
    this.address = address;
    this.#answerer = answerer;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    this.#partialTimeoutMs = Math.min(PARTIAL_TIMEOUT_MS, this.#idleTimeoutMs);
    this.#maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
    this.#server = createServer({ noDelay: true }, (socket) => this.#onConnection(socket));
    this.#sweep = setInterval(() => this.#expire(Date.now()), Math.min(1000, this.#partialTimeoutMs / 2)).unref();
  }

  async listen(): Promise<void> {
    await listenShared(this.#server, this.address.host, this.address.port, 511);
    // An accept that fails (EMFILE) concerns that one connection; the listener goes on.
    this.#server.on('error', () => {});
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Bytes held for clients: queries read and not answered, answers not yet taken by the kernel. */
  get bufferedBytes(): number {
    let bytes = 0;
    for (const connection of this.#connections) bytes += (connection.pending?.length ?? 0) + connection.socket.writableLength;
    return bytes;
  }

  /** Stop accepting; connections finish the queries they have sent and are then ended. */
  close(): Promise<void> {
    this.#closed ??= new Promise((resolve) => {
      this.#server.close(() => {
        clearInterval(this.#sweep);
        resolve();
      });
      for (const connection of this.#connections) connection.socket.end();
    });
    return this.#closed;
  }

  destroyAll(): void {
    for (const connection of this.#connections) connection.socket.destroy();
  }

  #onConnection(socket: Socket): void {
    this.#answerer.tcpConnections++;
    if (this.#connections.size >= this.#maxConnections) this.#evictIdlest();
    const connection: Connection = { socket, client: socket.remoteAddress ?? '', pending: null, lastMessageAt: Date.now(), partialSince: 0, blocked: false };
    this.#connections.add(connection);
    socket.on('close', () => this.#connections.delete(connection));
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      connection.pending = connection.pending === null ? chunk : Buffer.concat([connection.pending, chunk]);
      if (!connection.blocked) this.#serve(connection);
    });
    socket.on('drain', () => {
      connection.blocked = false;
      this.#serve(connection);
      if (!connection.blocked) socket.resume();
    });
    if (this.#closed !== null) socket.end();
  }

  /** Answer the complete messages in `pending`, in order, until they run out or the client stops reading. */
  #serve(connection: Connection): void {
    let data = connection.pending;
    if (data === null) return;
    let answered = false;
    while (data.length >= 2) {
      const length = data.readUInt16BE(0);
      if (data.length < 2 + length) break;
      const response = this.#answerer.answerTcp(data.subarray(2, 2 + length), connection.client);
      data = data.subarray(2 + length);
      answered = true;
      if (response !== null && !connection.socket.write(response)) {
        connection.blocked = true;
        connection.socket.pause();
        break;
      }
    }
    const now = answered || connection.partialSince === 0 ? Date.now() : 0;
    if (answered) connection.lastMessageAt = now;
    // A copy: a small remainder must not hold the whole chunk it was read in.
    connection.pending = data.length === 0 ? null : Buffer.from(data);
    if (connection.pending === null || connection.blocked) connection.partialSince = 0;
    else if (answered || connection.partialSince === 0) connection.partialSince = now;
  }

  #expire(now: number): void {
    for (const connection of this.#connections) {
      const expired =
        connection.partialSince !== 0 ? now - connection.partialSince > this.#partialTimeoutMs : now - connection.lastMessageAt > this.#idleTimeoutMs;
      if (expired) connection.socket.destroy();
    }
  }

  #evictIdlest(): void {
    let idlest: Connection | null = null;
    for (const connection of this.#connections) {
      if (idlest === null || connection.lastMessageAt < idlest.lastMessageAt) idlest = connection;
    }
    if (idlest === null) return;
    this.#connections.delete(idlest);
    idlest.socket.destroy();
  }
}
