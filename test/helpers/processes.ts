/**
 * Child processes for tests and the bench: every process started here is tracked, and any still
 * alive when the test process exits (a failed assertion, an uncaught error, Ctrl-C) is killed with
 * SIGKILL, so no nginx, HAProxy, wrk or Fulcrum outlives the run that started it.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Everything the process wrote, as text (both streams are piped unless `stdio` says otherwise). */
  readonly output: { stdout: string; stderr: string };
  /** Settles when the process has exited; never rejects. */
  readonly exited: Promise<Exit>;
  /** Sends `signal` (default SIGTERM), waits up to `graceMs` (default 5000), then SIGKILLs. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<Exit>;
}

const live = new Set<ChildProcess>();
/** Extra pids (children of tracked processes, e.g. Fulcrum's workers) to kill at exit. */
const livePids = new Set<number>();

let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  // 'exit' handlers must be synchronous: process.kill is.
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAllNow();
      process.kill(process.pid, sig);
    });
  }
}

/** SIGKILLs every tracked process that is still running. Safe to call more than once. */
export function killAllNow(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const pid of livePids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  livePids.clear();
}

/** Remember a pid that we did not spawn directly (a worker of a tracked process) so it is killed at exit. */
export function trackPid(pid: number): void {
  hookExit();
  livePids.add(pid);
}

export function untrackPid(pid: number): void {
  livePids.delete(pid);
}

export interface StartOptions extends Omit<SpawnOptions, 'detached'> {
  /** Pin to these CPUs with `taskset -c`, e.g. "0" or "1". */
  cpus?: string;
  /** Called with each chunk of stdout/stderr as it arrives (when piped). */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Receives stdout as raw bytes instead (binary output such as a download); `output.stdout` stays empty. */
  onStdoutBytes?: (chunk: Buffer) => void;
  /** Keep at most this many characters of each stream in `output` (default 4 MiB); older text is dropped. */
  maxOutput?: number;
}

export function startProcess(name: string, command: string, args: readonly string[], options: StartOptions = {}): ManagedProcess {
  hookExit();
  const { cpus, onStdout, onStderr, onStdoutBytes, maxOutput = 4 * 1024 * 1024, ...spawnOptions } = options;
  const [cmd, argv] = cpus === undefined ? [command, [...args]] : ['taskset', ['-c', cpus, command, ...args]];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions });
  live.add(child);
  const output = { stdout: '', stderr: '' };
  const keep = (prev: string, chunk: string): string => {
    const next = prev + chunk;
    return next.length > maxOutput ? next.slice(next.length - maxOutput) : next;
  };
  child.stderr?.setEncoding('utf8');
  if (onStdoutBytes) {
    child.stdout?.on('data', onStdoutBytes);
  } else {
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      output.stdout = keep(output.stdout, chunk);
      onStdout?.(chunk);
    });
  }
  child.stderr?.on('data', (chunk: string) => {
    output.stderr = keep(output.stderr, chunk);
    onStderr?.(chunk);
  });
  const exited = new Promise<Exit>((resolve) => {
    // 'close' comes after 'exit' once stdout and stderr are drained, so output is complete when
    // this resolves. A grandchild that inherited the pipes can hold them open: give up after 2 s.
    child.once('exit', (code, signal) => {
      live.delete(child);
      const timer = setTimeout(() => resolve({ code, signal }), 2000);
      child.once('close', () => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    });
    child.once('error', (err) => {
      live.delete(child);
      output.stderr += `\n[spawn error] ${err.message}`;
      resolve({ code: -1, signal: null });
    });
  });
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<Exit> => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  return { name, pid: child.pid ?? -1, child, output, exited, stop };
}

/** Runs a command to completion and returns its output; rejects (with the output) on a non-zero exit. */
export async function run(
  command: string,
  args: readonly string[],
  options: StartOptions & { timeoutMs?: number; allowFailure?: boolean } = {},
): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const { timeoutMs = 120_000, allowFailure = false, ...rest } = options;
  const p = startProcess(command, command, args, rest);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const exit = await p.exited;
  clearTimeout(timer);
  if (!allowFailure && exit.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited with ${exit.code ?? exit.signal}` +
        `${exit.signal === 'SIGKILL' ? ` (killed after ${timeoutMs} ms)` : ''}\n--- stderr ---\n${p.output.stderr}\n--- stdout ---\n${p.output.stdout.slice(0, 4000)}`,
    );
  }
  return { stdout: p.output.stdout, stderr: p.output.stderr, code: exit.code };
}

/** Resolves once something accepts TCP connections on host:port; rejects if `proc` exits first or after `timeoutMs`. */
export async function waitForPort(port: number, opts: { host?: string; timeoutMs?: number; proc?: ManagedProcess } = {}): Promise<void> {
  const { host = '127.0.0.1', timeoutMs = 10_000, proc } = opts;
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc?.exited.then(() => {
    exited = true;
  });
  for (;;) {
    if (exited) {
      throw new Error(`${proc?.name} exited before listening on ${host}:${port}\n${proc?.output.stderr ?? ''}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) {
      throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms${proc ? `\n${proc.name} stderr:\n${proc.output.stderr}` : ''}`);
    }
    // Nothing to await but the listener's appearance: poll at a short, bounded interval.
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A TCP port that was free a moment ago on 127.0.0.1 (listen on port 0, read it, close). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('unexpected server address');
  const { port } = address;
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Runs every cleanup step in order even when one throws, then throws the first error (all of
 * them in an AggregateError when several fail). A failed `stop()` must not leave the next server
 * open: an open server keeps the test file's process, and so the whole run, alive.
 */
export async function teardown(...steps: Array<(() => unknown) | undefined>): Promise<void> {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step?.();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} cleanup steps failed`);
}
