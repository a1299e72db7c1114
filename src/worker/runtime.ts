import type { Config, VirtualServiceConfig } from '../config/schema.ts';
import { JsonAccessLog } from '../log/access-log.ts';
import { EngineContext } from '../l7/engine-context.ts';
import { Listener } from '../l7/listener.ts';
import { VirtualService } from '../l7/virtual-service.ts';

/** How often the worker checks deadlines: the resolution of every timeout (HAProxy ticks at 1 ms; 100 ms is plenty for seconds-scale timeouts). */
const TICK_MS = 100;

function listenKey(vs: VirtualServiceConfig): string {
  return `${vs.listen.host}|${vs.listen.port}`;
}

/**
 * Everything one worker runs: its listeners (one per virtual service), the shared engine context
 * and the timer that enforces deadlines. `apply` moves it from one config to the next atomically.
 */
export class WorkerRuntime {
  readonly ctx = new EngineContext();
  readonly #listeners = new Map<string, Listener>();
  /** Listeners whose address left the config: closed to new clients, kept until their clients leave. */
  readonly #retired = new Set<Listener>();
  #accessLogKey = '';
  readonly #timer: NodeJS.Timeout;

  constructor() {
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
  }

  /** Apply a validated config. On failure (an address cannot be bound) nothing changes. */
  async apply(config: Config): Promise<void> {
    const next = new Map<string, VirtualService>();
    for (const vsConfig of config.virtualServices) {
      const previous = this.#listeners.get(listenKey(vsConfig))?.service ?? null;
      next.set(listenKey(vsConfig), new VirtualService(vsConfig, previous?.name === vsConfig.name ? previous : previous));
    }
    const opened: Listener[] = [];
    try {
      for (const [key, vs] of next) {
        if (this.#listeners.has(key)) continue;
        const listener = new Listener(vs, this.ctx);
        await listener.listen();
        opened.push(listener);
      }
    } catch (err) {
      await Promise.all(opened.map((l) => l.close()));
      throw err;
    }
    for (const listener of opened) this.#listeners.set(listenKey(listener.service.config), listener);
    for (const [key, listener] of this.#listeners) {
      const vs = next.get(key);
      if (vs === undefined) {
        this.#listeners.delete(key);
        this.#retired.add(listener);
        void listener.close();
        listener.drain();
      } else if (listener.service !== vs) {
        listener.update(vs);
      }
    }
    this.#applyAccessLog(config);
  }

  #applyAccessLog(config: Config): void {
    const key = config.accessLog === false ? 'off' : `${config.accessLog.format}:${config.accessLog.path}`;
    if (key === this.#accessLogKey) return;
    this.#accessLogKey = key;
    const old = this.ctx.accessLog;
    this.ctx.accessLog = config.accessLog === false ? null : new JsonAccessLog(config.accessLog.path);
    void old?.close();
  }

  #tick(): void {
    const now = Date.now();
    for (const listener of this.#listeners.values()) this.#expire(listener, now);
    for (const listener of this.#retired) {
      this.#expire(listener, now);
      if (listener.connections.size === 0) this.#retired.delete(listener);
    }
  }

  #expire(listener: Listener, now: number): void {
    for (const conn of listener.connections) {
      if (conn.deadline !== 0 && conn.deadline <= now) conn.onDeadline();
    }
    listener.service.sweep(now);
  }

  get connectionCount(): number {
    let n = 0;
    for (const l of this.#listeners.values()) n += l.connections.size;
    for (const l of this.#retired) n += l.connections.size;
    return n;
  }

  /**
   * Stop accepting, let requests in flight finish (their responses say Connection: close), close
   * idle connections. Resolves when no client connection is left or `graceMs` has passed.
   */
  async drain(graceMs: number): Promise<boolean> {
    this.ctx.draining = true;
    const all = [...this.#listeners.values(), ...this.#retired];
    await Promise.all(all.map((l) => l.close()));
    for (const l of all) l.drain();
    const deadline = Date.now() + graceMs;
    while (this.connectionCount > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const l of all) l.service.closeIdle();
    await this.ctx.accessLog?.close();
    return this.connectionCount === 0;
  }
}
