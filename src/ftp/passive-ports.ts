/**
 * This worker's share of the passive port range (alg mode). Every worker process runs the same
 * listener, so the range is dealt out like cards: port p belongs to worker (p - first) % count.
 * A data connection then always reaches the worker that announced its port, with no shared state
 * and no SO_REUSEPORT on these ports. A port is bound only while it waits for its one connection.
 */
import { createServer, type Server } from 'node:net';
import type { PortRange } from '../config/l4-services.ts';
import type { WorkerIdentity } from '../worker/service-listener.ts';

/** Pending passive ports wait for one client each; a short accept queue is plenty. */
const BACKLOG = 8;

export type PortOpened = (server: Server | null, port: number) => void;

export class PassivePortShare {
  readonly range: PortRange;
  readonly worker: WorkerIdentity;
  readonly #ports: readonly number[];
  readonly #inUse = new Set<number>();
  #cursor = 0;

  constructor(range: PortRange, worker: WorkerIdentity) {
    this.range = range;
    this.worker = worker;
    const ports: number[] = [];
    for (let p = range.first + worker.index; p <= range.last; p += worker.count) ports.push(p);
    this.#ports = ports;
  }

  /** How many ports this worker may use. */
  get size(): number {
    return this.#ports.length;
  }

  /** Ports bound now. */
  get inUse(): number {
    return this.#inUse.size;
  }

  owns(port: number): boolean {
    return port >= this.range.first && port <= this.range.last && (port - this.range.first) % this.worker.count === this.worker.index;
  }

  /**
   * Bind a listening socket at `host` on the next free port of the share (round robin, so a port
   * just released rests while others serve). A port some other process holds (EADDRINUSE) is
   * skipped. `done` gets the listening server and its port, or null when no port could be bound.
   */
  open(host: string, done: PortOpened): void {
    this.#tryNext(host, this.#ports.length, done);
  }

  release(port: number): void {
    this.#inUse.delete(port);
  }

  #tryNext(host: string, attemptsLeft: number, done: PortOpened): void {
    const port = attemptsLeft > 0 ? this.#nextFree() : -1;
    if (port === -1) {
      done(null, 0);
      return;
    }
    this.#inUse.add(port);
    const server = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true });
    const onError = (): void => {
      this.#inUse.delete(port);
      server.close();
      this.#tryNext(host, attemptsLeft - 1, done);
    };
    server.once('error', onError);
    server.listen({ host, port, exclusive: true, backlog: BACKLOG }, () => {
      server.off('error', onError);
      done(server, port);
    });
  }

  #nextFree(): number {
    const ports = this.#ports;
    for (let i = 0; i < ports.length; i++) {
      const port = ports[this.#cursor]!;
      this.#cursor = (this.#cursor + 1) % ports.length;
      if (!this.#inUse.has(port)) return port;
    }
    return -1;
  }
}
