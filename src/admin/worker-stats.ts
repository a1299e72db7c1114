/**
 * Asks every worker for its counters over IPC and waits at most `timeoutMs` for the answers, so
 * that a stuck worker (a long GC pause, a busy loop, SIGSTOP) cannot hang the admin API: its
 * counters are left out and its pid is reported instead.
 */
import type { ChildProcess } from 'node:child_process';
import type { FromWorker, ToWorker, WorkerStats } from '../worker/messages.ts';

/** Workers answer from memory within a few ms; 1 s is plenty, and short enough for a CLI. */
export const STATS_TIMEOUT_MS = 1000;

export interface CollectedStats {
  stats: WorkerStats[];
  /** Pids of the workers that did not answer in time. */
  missing: number[];
}

export class StatsCollector {
  #nextId = 1;
  readonly #pending = new Map<number, (data: WorkerStats) => void>();

  /** Give it every message a worker sends; it takes the stats replies. */
  onMessage(message: FromWorker): void {
    if (message.type !== 'stats') return;
    this.#pending.get(message.id)?.(message.data);
  }

  async collect(children: readonly ChildProcess[], timeoutMs = STATS_TIMEOUT_MS): Promise<CollectedStats> {
    const answers = await Promise.all(children.map((child) => this.#ask(child, timeoutMs)));
    const stats: WorkerStats[] = [];
    const missing: number[] = [];
    answers.forEach((answer, i) => {
      if (answer !== null) stats.push(answer);
      else missing.push(children[i]?.pid ?? 0);
    });
    return { stats, missing };
  }

  #ask(child: ChildProcess, timeoutMs: number): Promise<WorkerStats | null> {
    if (!child.connected) return Promise.resolve(null);
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(null), timeoutMs);
      const finish = (data: WorkerStats | null): void => {
        clearTimeout(timer);
        this.#pending.delete(id);
        resolve(data);
      };
      this.#pending.set(id, finish);
      const message: ToWorker = { type: 'stats', id };
      try {
        child.send(message, (error) => {
          if (error !== null) finish(null);
        });
      } catch {
        finish(null);
      }
    });
  }
}
