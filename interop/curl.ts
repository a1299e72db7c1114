/**
 * curl as a real HTTP client peer.
 */
import { createHash } from 'node:crypto';
import { run, startProcess } from '../test/helpers/processes.ts';
import { peer } from './peers.ts';

/** Runs `curl -sS ARGS`; rejects with curl's stderr on a non-zero exit. */
export async function curl(args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  return run(peer('curl'), ['-sS', ...args], { timeoutMs: opts.timeoutMs ?? 30_000 });
}

/** Runs curl with the body going to stdout and hashes it as it streams: no copy on disk or in memory. */
export async function curlSha256(args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<{ sha256: string; bytes: number; stderr: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const proc = startProcess('curl', peer('curl'), ['-sS', ...args], {
    onStdoutBytes: (chunk) => {
      bytes += chunk.length;
      hash.update(chunk);
    },
  });
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  const exit = await proc.exited;
  clearTimeout(timer);
  if (exit.code !== 0) throw new Error(`curl ${args.join(' ')} exited with ${exit.code ?? exit.signal} after ${bytes} bytes:\n${proc.output.stderr}`);
  return { sha256: hash.digest('hex'), bytes, stderr: proc.output.stderr };
}
