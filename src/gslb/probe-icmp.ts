/**
 * icmp site checks by the system's `ping -c 1 -W SECONDS HOST` (iputils-ping): exit status 0 is
 * up. Why a child process: Node has no raw or ICMP sockets, and Linux's unprivileged ICMP echo
 * sockets (SOCK_DGRAM/IPPROTO_ICMP, allowed by net.ipv4.ping_group_range) need a native addon.
 * iputils' ping uses those sockets itself when the group range allows, else its file capability
 * (cap_net_raw), so Fulcrum needs no privileges. The install script adds iputils-ping; without it
 * the check fails with words that say what to install, and the rest of Fulcrum runs on.
 *
 * One process per check and interval: fine for the few sites of a GSLB setup (a site checked
 * every second costs one fork a second), not for thousands of real servers.
 */
import { spawn } from 'node:child_process';
import { isIPv6 } from 'node:net';
import { formatLatency } from '../health/reason.ts';
import type { ProbeResult } from '../health/types.ts';

export interface IcmpProbeOptions {
  /** The program and leading arguments; default ['ping']. Tests put a Node script here. */
  command?: readonly string[];
}

/** What ping printed is kept to this many bytes: one reply line and the summary fit. */
const OUTPUT_LIMIT = 4096;

export function probeIcmp(host: string, timeoutMs: number, signal?: AbortSignal, options: IcmpProbeOptions = {}): Promise<ProbeResult> {
  const [program, ...leading] = options.command ?? ['ping'];
  // -W takes whole seconds; the kill below holds the configured timeout when it is shorter.
  const waitSeconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
  const args = [...leading, ...(isIPv6(host) ? ['-6'] : []), '-n', '-c', '1', '-W', waitSeconds, host];
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    let output = '';
    const child = spawn(program!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const finish = (ok: boolean, reason: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      resolve({ ok, latencyMs: performance.now() - started, reason, detail: { target: host } });
    };
    const onAbort = (): void => finish(false, 'check stopped');
    const timer = setTimeout(() => finish(false, `no echo reply from ${host} within ${timeoutMs} ms`), timeoutMs);
    if (signal?.aborted === true) queueMicrotask(onAbort);
    else signal?.addEventListener('abort', onAbort, { once: true });
    const collect = (chunk: Buffer): void => {
      if (output.length < OUTPUT_LIMIT) output += chunk.toString('latin1');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (error: NodeJS.ErrnoException) => {
      finish(false, error.code === 'ENOENT' ? `cannot run ${program}: it is not installed; icmp checks need iputils-ping (apt-get install iputils-ping)` : `cannot run ${program}: ${error.message}`);
    });
    child.on('close', (code) => {
      if (code === 0) finish(true, `echo reply from ${host} in ${formatLatency(replyTime(output) ?? performance.now() - started)}`);
      else finish(false, failureWords(host, code, output));
    });
  });
}

/** "time=0.045 ms" of iputils' reply line. */
function replyTime(output: string): number | null {
  const match = /time[=<]([0-9.]+) ?ms/.exec(output);
  return match === null ? null : Number(match[1]);
}

/** ping's exit 1 is "no reply"; 2 and others are errors it explains on stderr. */
function failureWords(host: string, code: number | null, output: string): string {
  if (code === 1) return `no echo reply from ${host}`;
  const line = output.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('PING'));
  if (/operation not permitted|permission denied/i.test(output)) {
    return `ping to ${host} is not permitted: allow unprivileged ICMP (sysctl net.ipv4.ping_group_range="0 2147483647") or give ping cap_net_raw${line === undefined ? '' : ` (${line})`}`;
  }
  return `ping to ${host} failed (exit ${code ?? 'signal'})${line === undefined ? '' : `: ${line}`}`;
}
