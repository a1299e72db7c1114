import type { RealServer } from '../pool/real-server.ts';
import { UpstreamConnection, type UpstreamOwner } from './upstream-connection.ts';

/**
 * Idle keep-alive connections to one real server. LIFO: the most recently used connection is the
 * one least likely to have been closed by the server's own keep-alive timeout.
 */
export class ConnectionPool {
  readonly #server: RealServer;
  readonly #idle: UpstreamConnection[] = [];
  /** Set when a reload dropped (or replaced) this pool's server: nothing is pooled any more. */
  #retired = false;
  maxIdle: number;
  idleTimeoutMs: number;

  constructor(server: RealServer, maxIdle: number, idleTimeoutMs: number) {
    this.#server = server;
    this.maxIdle = maxIdle;
    this.idleTimeoutMs = idleTimeoutMs;
  }

  get idleCount(): number {
    return this.#idle.length;
  }

  /** An idle connection handed to `owner`, or a new one being opened for it. */
  acquire(owner: UpstreamOwner): UpstreamConnection {
    const idle = this.#idle;
    while (idle.length > 0) {
      const up = idle.pop()!;
      if (up.closed || up.socket.destroyed || !up.socket.writable) continue;
      up.owner = owner;
      up.uses++;
      return up;
    }
    return new UpstreamConnection(this.#server, owner);
  }

  /** A new connection, skipping idle ones (a replay after a stale pooled connection failed). */
  connectFresh(owner: UpstreamOwner): UpstreamConnection {
    return new UpstreamConnection(this.#server, owner);
  }

  /** Take back a connection whose exchange ended cleanly; close it when the pool is full. */
  release(up: UpstreamConnection, now: number): void {
    up.owner = null;
    if (up.closed || this.#retired || this.#idle.length >= this.maxIdle || this.idleTimeoutMs <= 0) {
      up.destroy();
      return;
    }
    up.idleDeadline = now + this.idleTimeoutMs;
    // Keep reading while idle so that a close or stray bytes from the server are seen at once.
    up.socket.resume();
    this.#idle.push(up);
  }

  /** Called when a connection closes, idle or not. */
  forget(up: UpstreamConnection): void {
    const i = this.#idle.indexOf(up);
    if (i >= 0) this.#idle.splice(i, 1);
  }

  /** Close idle connections past their deadline (the worker's timer calls this). */
  sweep(now: number): void {
    const idle = this.#idle;
    // Oldest first: the bottom of the LIFO stack.
    while (idle.length > 0 && idle[0]!.idleDeadline <= now) idle.shift()!.destroy();
  }

  closeIdle(): void {
    for (const up of this.#idle.splice(0)) up.destroy();
  }

  /**
   * The server left the config (or was replaced) on reload. No timer sweeps this pool any more,
   * so a connection pooled after now would stay open until the server closed it: close the idle
   * ones, and the busy ones when their exchange ends.
   */
  retire(): void {
    this.#retired = true;
    this.closeIdle();
  }
}
