/**
 * One check in flight: its clock, its deadline and its socket. Settles once, whatever comes
 * first (the answer, an error, the timeout, an abort), and always leaves the socket destroyed.
 */
import type { Socket } from 'node:net';
import type { ProbeDetail, ProbeResult } from './types.ts';

/** Where a check is, so that a timeout can say what did not happen. */
export type Phase = 'connect' | 'tls' | 'response' | 'body';

export class Attempt {
  readonly #started = performance.now();
  readonly #resolve: (result: ProbeResult) => void;
  readonly #timer: NodeJS.Timeout;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => this.settle(false, 'check stopped');
  #socket: Socket | null = null;
  #settled = false;
  phase: Phase = 'connect';
  detail: ProbeDetail;

  constructor(
    timeoutMs: number,
    detail: ProbeDetail,
    onTimeout: (phase: Phase) => string,
    resolve: (result: ProbeResult) => void,
    signal?: AbortSignal,
  ) {
    this.detail = detail;
    this.#resolve = resolve;
    this.#timer = setTimeout(() => this.settle(false, onTimeout(this.phase)), timeoutMs);
    this.#signal = signal;
    if (signal?.aborted === true) queueMicrotask(this.#onAbort);
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** Milliseconds since the check started, to 0.1 ms. */
  elapsed(): number {
    return Math.round((performance.now() - this.#started) * 10) / 10;
  }

  attach(socket: Socket): void {
    this.#socket = socket;
    if (this.#settled) socket.destroy();
  }

  settle(ok: boolean, reason: string): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#socket?.destroy();
    this.#resolve({ ok, latencyMs: this.elapsed(), reason, detail: this.detail });
  }
}
