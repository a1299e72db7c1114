/**
 * Test harness: runs the real Fulcrum binary (`bin/fulcrum.js start -c FILE`) as a child process,
 * the way a user would, and reads its JSON log lines (pino) from stderr.
 *
 * Set FULCRUM_BIN to run another entry point (a built bundle, say) with the same arguments.
 */
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { startProcess, trackPid, untrackPid, type Exit } from './processes.ts';

export { freePort } from './processes.ts';
export { startBackends, startRawServer } from './backends.ts';
export type { Backend, Backends, ChecksumReply, EchoReply, RawRequest, RawServer, RawServerOptions } from './backends.ts';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
export const fulcrumBin = process.env['FULCRUM_BIN'] ?? path.join(repoRoot, 'bin', 'fulcrum.js');

/** One pino log line; fields beyond these depend on the message. */
export interface LogLine {
  level?: number;
  time?: number | string;
  pid?: number;
  msg?: string;
  [key: string]: unknown;
}

export type ReloadResult = 'reloaded' | 'reload failed';

export interface FulcrumOptions {
  /** The config file's YAML text. */
  config: string;
  /** Overrides (or adds) the top-level `workers:` of `config`. */
  workers?: number;
  /** How long to wait for the `ready` line (default 10 s). */
  readyTimeoutMs?: number;
  /** Extra environment for the child. */
  env?: Record<string, string>;
  /** Extra arguments after `start -c FILE`. */
  args?: string[];
  /** Pin the process (and the workers it forks) to these CPUs with `taskset -c` (taskset execs, so the pid is Fulcrum's). */
  cpus?: string;
  /** Files to write next to the config before it starts, by path relative to it (certificates a config names as certs/x.pem); Fulcrum then runs in that folder. */
  files?: Record<string, string | Buffer>;
}

export interface Fulcrum {
  /** The supervisor's pid (the process we spawned). */
  pid: number;
  /** Worker pids, from the `workers` field of the `ready` line when present, else from /proc. */
  workers: number[];
  configPath: string;
  /** stderr split into lines (the JSON log), complete lines only. */
  stderrLines: string[];
  /** stdout split into lines (the access log when it goes to stdout). */
  stdoutLines: string[];
  /** stderr lines that parsed as JSON objects. */
  logs: LogLine[];
  exited: Promise<Exit>;
  /** Resolves with the first log line, at index `from` or later, that `match` accepts. */
  waitForLog(match: (line: LogLine) => boolean, opts?: { from?: number; timeoutMs?: number }): Promise<LogLine>;
  /** Rewrites the config file, sends SIGHUP, and waits for `reloaded` or `reload failed`. */
  reload(newYaml: string, opts?: { timeoutMs?: number }): Promise<ReloadResult>;
  /** Sends `signal` (default SIGTERM) and waits for the exit; SIGKILLs after `graceMs` (default 10 s) and rejects. */
  stop(signal?: NodeJS.Signals, opts?: { graceMs?: number }): Promise<Exit>;
}

/** Sets or replaces the top-level `workers:` key, keeping the rest of the YAML text as written. */
export function withWorkers(yamlText: string, workers: number): string {
  const doc = parseDocument(yamlText);
  if (doc.errors.length > 0) throw new Error(`config YAML does not parse: ${doc.errors[0]?.message}`);
  doc.set('workers', workers);
  return doc.toString();
}

export async function startFulcrum(options: FulcrumOptions): Promise<Fulcrum> {
  const dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-test-'));
  const configPath = path.join(dir, 'fulcrum.yaml');
  const configText = options.workers === undefined ? options.config : withWorkers(options.config, options.workers);
  await writeFile(configPath, configText);
  for (const [relative, content] of Object.entries(options.files ?? {})) {
    const file = path.join(dir, relative);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }

  const stderrLines: string[] = [];
  const stdoutLines: string[] = [];
  const logs: LogLine[] = [];
  const workers: number[] = [];
  const waiters = new Set<() => void>();
  let stderrRest = '';
  let stdoutRest = '';

  const onLine = (line: string): void => {
    stderrLines.push(line);
    if (line.startsWith('{')) {
      try {
        const parsed: unknown = JSON.parse(line);
        if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) logs.push(parsed as LogLine);
      } catch {
        // not JSON: kept in stderrLines only
      }
    }
    for (const wake of waiters) wake();
  };

  const proc = startProcess('fulcrum', process.execPath, [fulcrumBin, 'start', '-c', configPath, ...(options.args ?? [])], {
    // With files beside the config, relative paths in it are taken from there (as a user runs
    // `fulcrum start -c fulcrum.yaml` in the config's folder).
    cwd: options.files === undefined ? repoRoot : dir,
    env: { ...process.env, ...options.env },
    maxOutput: 64 * 1024,
    ...(options.cpus !== undefined ? { cpus: options.cpus } : {}),
    onStderr: (chunk) => {
      const parts = (stderrRest + chunk).split('\n');
      stderrRest = parts.pop() ?? '';
      for (const part of parts) onLine(part);
    },
    onStdout: (chunk) => {
      const parts = (stdoutRest + chunk).split('\n');
      stdoutRest = parts.pop() ?? '';
      for (const part of parts) stdoutLines.push(part);
    },
  });

  let exitInfo: Exit | null = null;
  const exited = proc.exited.then(async (exit) => {
    exitInfo = exit;
    if (stderrRest !== '') onLine(stderrRest);
    if (stdoutRest !== '') stdoutLines.push(stdoutRest);
    stderrRest = stdoutRest = '';
    for (const pid of workers) untrackPid(pid);
    for (const wake of waiters) wake();
    await rm(dir, { recursive: true, force: true });
    return exit;
  });

  const describeFailure = (what: string): string =>
    `${what}\nconfig (${configPath}):\n${configText}\n--- fulcrum stderr (${stderrLines.length} lines) ---\n${stderrLines.join('\n')}` +
    `${stdoutLines.length > 0 ? `\n--- fulcrum stdout (last 20 lines) ---\n${stdoutLines.slice(-20).join('\n')}` : ''}`;

  const waitForLog = (match: (line: LogLine) => boolean, opts: { from?: number; timeoutMs?: number } = {}): Promise<LogLine> => {
    const { from = 0, timeoutMs = 10_000 } = opts;
    return new Promise<LogLine>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const check = (): void => {
        for (let i = from; i < logs.length; i++) {
          const line = logs[i];
          if (line !== undefined && match(line)) {
            done();
            resolve(line);
            return;
          }
        }
        if (exitInfo !== null) {
          done();
          reject(new Error(describeFailure(`fulcrum exited (code ${exitInfo.code}, signal ${exitInfo.signal}) before the awaited log line`)));
        }
      };
      const done = (): void => {
        waiters.delete(check);
        if (timer) clearTimeout(timer);
      };
      timer = setTimeout(() => {
        done();
        reject(new Error(describeFailure(`timed out after ${timeoutMs} ms waiting for a log line`)));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  };

  let ready: LogLine;
  try {
    ready = await waitForLog((l) => l.msg === 'ready', { timeoutMs: options.readyTimeoutMs ?? 10_000 });
  } catch (err) {
    // Workers forked before the failure are not known from a ready line: find them in /proc.
    const orphans = await childPids(proc.pid);
    await proc.stop('SIGKILL');
    for (const pid of orphans) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await exited;
    throw err;
  }
  const fromLog = ready['workers'];
  if (Array.isArray(fromLog) && fromLog.every((p) => typeof p === 'number')) {
    workers.push(...fromLog);
  } else {
    workers.push(...(await childPids(proc.pid)));
  }
  // Kill workers too if the test process dies before stop(): a SIGKILLed supervisor cannot.
  for (const pid of workers) trackPid(pid);

  const fulcrum: Fulcrum = {
    pid: proc.pid,
    workers,
    configPath,
    stderrLines,
    stdoutLines,
    logs,
    exited,
    waitForLog,
    reload: async (newYaml, opts = {}) => {
      const from = logs.length;
      // Write beside and rename, so the reloading process never reads a half-written file.
      const next = `${configPath}.next`;
      await writeFile(next, newYaml);
      await rename(next, configPath);
      process.kill(proc.pid, 'SIGHUP');
      const line = await waitForLog((l) => l.msg === 'reloaded' || l.msg === 'reload failed', { from, timeoutMs: opts.timeoutMs ?? 10_000 });
      return line.msg as ReloadResult;
    },
    stop: async (signal = 'SIGTERM', opts = {}) => {
      const graceMs = opts.graceMs ?? 10_000;
      if (exitInfo !== null) return exitInfo;
      proc.child.kill(signal);
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        proc.child.kill('SIGKILL');
        for (const pid of workers) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }, graceMs);
      const exit = await exited;
      clearTimeout(timer);
      if (killed) throw new Error(describeFailure(`fulcrum did not exit within ${graceMs} ms of ${signal}; killed`));
      return exit;
    },
  };
  return fulcrum;
}

/** Pids of the direct children of `pid`, from /proc/PID/task/TID/children. */
export async function childPids(pid: number): Promise<number[]> {
  const pids: number[] = [];
  let tasks: string[];
  try {
    tasks = await readdir(`/proc/${pid}/task`);
  } catch {
    return pids;
  }
  for (const tid of tasks) {
    try {
      const text = await readFile(`/proc/${pid}/task/${tid}/children`, 'utf8');
      for (const p of text.trim().split(/\s+/)) if (p !== '') pids.push(Number(p));
    } catch {
      // thread ended meanwhile
    }
  }
  return pids;
}

/** Resident set size of a process in KiB, from /proc/PID/status (VmRSS). */
export async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

export interface VirtualServiceSpec {
  name: string;
  /** "127.0.0.1:PORT" */
  listen: string;
  protocol?: 'http';
  scheduler?: string;
  realServers: Array<string | { address: string; weight?: number }>;
  [extra: string]: unknown;
}

/**
 * Builds the YAML text of a config: `workers: 1` and `accessLog: off` unless given, each real
 * server given as an address or {address, weight}.
 */
export function configYaml(spec: { workers?: number; accessLog?: unknown; virtualServices: VirtualServiceSpec[]; [extra: string]: unknown }): string {
  const { workers = 1, accessLog = 'off', virtualServices, ...rest } = spec;
  return stringify({
    workers,
    accessLog,
    ...rest,
    virtualServices: virtualServices.map((vs) => {
      const { name, listen, protocol = 'http', scheduler = 'round-robin', realServers, ...other } = vs;
      return {
        name,
        listen,
        protocol,
        scheduler,
        ...other,
        realServers: realServers.map((rs) => (typeof rs === 'string' ? { address: rs, weight: 100 } : { address: rs.address, weight: rs.weight ?? 100 })),
      };
    }),
  });
}
