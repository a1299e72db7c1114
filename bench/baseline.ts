/**
 * BENCH_BASELINE=<commit-ish>: an older Fulcrum measured in the same run as this one, so that a
 * change to the hot path is compared with the commit before it under the same load and the same
 * noise. The commit is checked out into a temporary git worktree (`git worktree add --detach`),
 * `npm ci` installs its dependencies there (from the npm cache when it has them), and its
 * `bin/fulcrum.js` runs with the config the `fulcrum` column uses. A config the old commit cannot
 * load (`fulcrum check` refuses it: keys it did not know yet, such as pools: or rules:) gets
 * "n/a" rows. The worktree is removed at the end, also when the run fails or is interrupted.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../test/helpers/fulcrum.ts';
import { run, startProcess, trackPid, untrackPid } from '../test/helpers/processes.ts';
import { peer } from '../interop/peers.ts';
import { firstLine } from './format.ts';
import { cpuOpt, cpuProfileEnv, fulcrumHttpConfig, type HttpProxyContext, type HttpProxyDef, type RunningProxy } from './proxies.ts';
import type { ConfigShape } from './scenarios.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
/** Fulcrum's supervisor forks its worker and loads the config in it: 20 s covers a cold start of both. */
const READY_TIMEOUT_MS = 20_000;
/** npm ci of this project takes 15-60 s from a warm cache; 10 minutes means it is stuck. */
const NPM_CI_TIMEOUT_MS = 600_000;

export interface Baseline {
  /** `fulcrum@<short sha>`, the column's name. */
  name: string;
  sha: string;
  /** The worktree: its bin/fulcrum.js is the baseline. */
  root: string;
  /** Removes the worktree (idempotent, synchronous so that exit and signal handlers can call it). */
  remove(): void;
}

async function git(args: readonly string[]): Promise<string> {
  return (await run(peer('git'), args, { cwd: repoRoot })).stdout.trim();
}

export async function prepareBaseline(commitish: string, log: (msg: string) => void): Promise<Baseline> {
  const sha = await git(['rev-parse', '--verify', '--end-of-options', `${commitish}^{commit}`]);
  const short = await git(['rev-parse', '--short', sha]);
  const parent = await mkdtemp(path.join(tmpdir(), 'fulcrum-baseline-'));
  const root = path.join(parent, short);
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    removed = true;
    spawnSync(peer('git'), ['worktree', 'remove', '--force', root], { cwd: repoRoot, stdio: 'ignore' });
    rmSync(parent, { recursive: true, force: true });
    // A worktree whose directory is gone but whose entry stayed (remove failed half-way).
    spawnSync(peer('git'), ['worktree', 'prune'], { cwd: repoRoot, stdio: 'ignore' });
  };
  // Registered before the worktree exists: an interrupted `git worktree add` leaves an entry too.
  process.once('exit', remove);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      remove();
      process.kill(process.pid, signal);
    });
  }
  try {
    log(`baseline: git worktree add --detach ${root} ${short}`);
    await git(['worktree', 'add', '--detach', root, sha]);
    log(`baseline: npm ci in ${root}`);
    await run(peer('npm'), ['ci', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: root, timeoutMs: NPM_CI_TIMEOUT_MS });
  } catch (err) {
    remove();
    throw err;
  }
  return { name: `fulcrum@${short}`, sha, root, remove };
}

/** Whether the baseline's `fulcrum check` accepts the `shape` config; the refusal's first line otherwise. */
async function checkConfig(baseline: Baseline, shape: ConfigShape, context: HttpProxyContext): Promise<string | null> {
  const file = path.join(context.dir, `baseline-check-${shape}.yaml`);
  await writeFile(file, fulcrumHttpConfig(shape, await freePort(), context, 'off'));
  const result = await run(process.execPath, [path.join(baseline.root, 'bin', 'fulcrum.js'), 'check', '-c', file], { cwd: baseline.root, allowFailure: true, timeoutMs: 60_000 });
  return result.code === 0 ? null : firstLine(`${result.stdout}\n${result.stderr}`.trim());
}

/** The baseline's column: the shapes its `check` accepts; the others are "n/a". */
export async function baselineColumn(baseline: Baseline, shapes: readonly ConfigShape[], context: HttpProxyContext, log: (msg: string) => void): Promise<HttpProxyDef> {
  const accepted: ConfigShape[] = [];
  const notApplicable: Partial<Record<ConfigShape, string>> = {};
  for (const shape of shapes) {
    const refusal = await checkConfig(baseline, shape, context);
    if (refusal === null) {
      accepted.push(shape);
    } else {
      notApplicable[shape] = 'config not supported by the baseline';
      log(`${baseline.name}: its fulcrum check refuses the ${shape} config: ${refusal}`);
    }
  }
  return {
    name: baseline.name,
    description: `Fulcrum at ${baseline.sha}, workers: 1, access log off`,
    shapes: accepted,
    notApplicable,
    async start(ctx, shape) {
      const port = await freePort();
      return startFulcrumAt(baseline, port, fulcrumHttpConfig(shape, port, ctx, 'off'), ctx);
    },
  };
}

/** `node ROOT/bin/fulcrum.js start -c FILE`, pinned and profiled like the `fulcrum` column, ready once it logs `ready`. */
async function startFulcrumAt(baseline: Baseline, port: number, config: string, ctx: HttpProxyContext): Promise<RunningProxy> {
  const file = path.join(ctx.dir, `${baseline.name.replace('@', '-')}-${port}.yaml`);
  await writeFile(file, config);
  let pending = '';
  let onReady: (workers: number[]) => void = () => {};
  const ready = new Promise<number[]>((resolve) => (onReady = resolve));
  const proc = startProcess(baseline.name, process.execPath, [path.join(baseline.root, 'bin', 'fulcrum.js'), 'start', '-c', file], {
    cwd: baseline.root,
    env: { ...process.env, ...cpuProfileEnv(ctx.cpuProfileDir).env },
    ...cpuOpt(ctx.cpus),
    onStderr: (chunk) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const workers = readyWorkers(line);
        if (workers !== null) onReady(workers);
      }
    },
  });
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), READY_TIMEOUT_MS).unref());
  const outcome = await Promise.race([ready, proc.exited.then(() => 'exited' as const), timeout]);
  if (!Array.isArray(outcome)) {
    await proc.stop('SIGKILL');
    throw new Error(`${baseline.name} ${outcome === 'exited' ? 'exited' : `was not ready after ${READY_TIMEOUT_MS} ms`}:\n${proc.output.stderr.slice(-2000)}`);
  }
  const workers = outcome;
  // A supervisor killed before it stops its workers leaves them running: kill them at exit too.
  for (const pid of workers) trackPid(pid);
  return {
    url: `http://127.0.0.1:${port}`,
    memoryPids: workers,
    stop: async () => {
      await proc.stop('SIGTERM', 10_000);
      for (const pid of workers) {
        untrackPid(pid);
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone with its supervisor, as it should be
        }
      }
    },
  };
}

/** The worker pids of a `ready` log line (pino JSON), or null for any other line. */
function readyWorkers(line: string): number[] | null {
  if (!line.startsWith('{')) return null;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null || !('msg' in parsed) || parsed.msg !== 'ready') return null;
    const workers = 'workers' in parsed && Array.isArray(parsed.workers) ? parsed.workers : [];
    return workers.filter((p): p is number => typeof p === 'number');
  } catch {
    return null;
  }
}
