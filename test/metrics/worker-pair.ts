/**
 * Real worker processes (src/worker/main.ts, forked as the supervisor forks them: IPC with
 * advanced serialization, FULCRUM_WORKER_INDEX / FULCRUM_WORKER_COUNT), given a config over IPC
 * and asked for their stats with the supervisor's StatsCollector: the metrics path end to end
 * (listeners, SO_REUSEPORT spreading, the data path's meters, the stats answer, aggregation,
 * the status document and the Prometheus text) without the supervisor's own wiring of /metrics.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { buildStatus } from '../../src/admin/status.ts';
import type { StatusDocument } from '../../src/admin/types.ts';
import { StatsCollector } from '../../src/admin/worker-stats.ts';
import { loadConfigText } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { aggregateMetrics } from '../../src/metrics/aggregate.ts';
import type { MetricsSnapshot } from '../../src/metrics/types.ts';
import type { FromWorker, ToWorker, WorkerStats } from '../../src/worker/messages.ts';
import { trackPid, untrackPid } from '../helpers/processes.ts';

const WORKER_ENTRY = path.resolve(import.meta.dirname, '..', '..', 'src', 'worker', 'main.ts');

export interface Collected {
  /** Each worker's own stats, in worker order. */
  perWorker: WorkerStats[];
  /** Their metrics summed. */
  metrics: MetricsSnapshot;
  status: StatusDocument;
}

export interface WorkerPair {
  readonly children: readonly ChildProcess[];
  readonly config: Config;
  collect(): Promise<Collected>;
  stop(): Promise<void>;
}

/** Loads `yaml` and starts `count` workers on it; resolves once every one has applied it. */
export async function startWorkers(yaml: string, count = 2): Promise<WorkerPair> {
  const loaded = loadConfigText(yaml, 'metrics.yaml');
  assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
  const config = loaded.config;
  const collector = new StatsCollector();
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
        if (child.pid !== undefined) untrackPid(child.pid);
      }),
    );
  };
  try {
    for (let index = 0; index < count; index++) {
      const child = fork(WORKER_ENTRY, [], {
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        serialization: 'advanced',
        env: { ...process.env, FULCRUM_WORKER_INDEX: String(index), FULCRUM_WORKER_COUNT: String(count) },
      });
      if (child.pid !== undefined) trackPid(child.pid);
      child.on('message', (m: FromWorker) => collector.onMessage(m));
      children.push(child);
    }
    await Promise.all(children.map((child) => applied(child, config, count)));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    children,
    config,
    stop,
    async collect(): Promise<Collected> {
      const { stats, missing } = await collector.collect(children);
      assert.deepEqual(missing, [], 'every worker answers the stats request');
      const status = buildStatus({ config, health: {}, stats, workers: children.map((c) => c.pid ?? 0), workersNotAnswering: missing, generation: 1 });
      return { perWorker: stats, metrics: aggregateMetrics(stats.map((s) => s.metrics)), status };
    },
  };
}

function applied(child: ChildProcess, config: Config, workers: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: FromWorker): void => {
      if (m.type === 'applied') finish(null);
      else if (m.type === 'apply-failed') finish(new Error(`a worker could not apply the config: ${m.error}`));
    };
    const onExit = (code: number | null): void => finish(new Error(`a worker exited (${code}) before applying the config`));
    const finish = (error: Error | null): void => {
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error === null) resolve();
      else reject(error);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
    const message: ToWorker = { type: 'apply', generation: 1, config, dnsSerial: 1, workers };
    child.send(message);
  });
}
