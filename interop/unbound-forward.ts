/**
 * unbound as the recursive resolver in front of Fulcrum: it sends the queries of one zone to
 * Fulcrum's authoritative server and caches the answers for their TTL, as a client's resolver
 * does. Its own config in a temp dir, in the foreground (launchUnbound in dns-server.ts), never
 * the system service.
 *
 * - `mode: 'stub'` (stub-zone): unbound iterates, sending RD=0 queries to Fulcrum as to the
 *   zone's delegated name server; `mode: 'forward'` (forward-zone): RD=1 queries, as to another
 *   resolver. Both cache by TTL.
 * - `do-not-query-localhost: no`: unbound refuses to send queries to 127.0.0.0/8 otherwise.
 * - The lab zone is not signed and there is no trust anchor: the validator runs (as in a real
 *   resolver) and `domain-insecure` says the zone is meant to be unsigned.
 * - Every other name is REFUSED at once: a sandbox has no route to the root servers, and a test
 *   must not wait for one. The zone itself is `transparent`, so that its queries are resolved
 *   (through the stub or forward) rather than refused.
 * - log-queries and log-replies: the reply lines say whether unbound answered from its cache.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Exit, ManagedProcess } from '../test/helpers/processes.ts';
import { awaitLogCount, freeDnsPort, launchUnbound, unboundServerLines } from './dns-server.ts';

export interface ForwardingUnboundOptions {
  /** The zone to send to Fulcrum: "surveyor.lab". */
  zone: string;
  /** Fulcrum's DNS address, "127.0.0.1:5353". */
  upstream: string;
  mode: 'stub' | 'forward';
  /** Default 127.0.0.1. */
  host?: string;
  /** UDP and TCP port (default: a free one). */
  port?: number;
}

/** One log-replies line: "info: 127.0.0.1 www.surveyor.lab. A IN NOERROR 0.000550 0 61". */
export interface UnboundReply {
  client: string;
  name: string;
  type: string;
  rcode: string;
  /** Seconds unbound took to answer. */
  seconds: number;
  /** Answered from unbound's cache, without asking Fulcrum. */
  cached: boolean;
  /** Bytes of the reply. */
  size: number;
}

export interface ForwardingUnbound {
  host: string;
  port: number;
  /** "HOST:PORT" */
  address: string;
  configFile: string;
  proc: ManagedProcess;
  /** Replies sent so far (for `name`, absolute: "www.surveyor.lab."), in order. */
  replies(name?: string): UnboundReply[];
  /** Resolves once `replies(name)` holds `count`; unbound's log reaches us through a pipe, possibly after the client's answer. */
  waitForReplies(count: number, name?: string, timeoutMs?: number): Promise<UnboundReply[]>;
  stop(): Promise<Exit>;
}

export function forwardingUnboundConfig(options: { host: string; port: number; dir: string; zone: string; upstream: string; mode: 'stub' | 'forward' }): string {
  const zone = options.zone.endsWith('.') ? options.zone : `${options.zone}.`;
  const upstream = options.upstream.replace(/:(\d+)$/, '@$1');
  const section =
    options.mode === 'stub'
      ? `stub-zone:\n  name: "${zone}"\n  stub-addr: ${upstream}\n`
      : `forward-zone:\n  name: "${zone}"\n  forward-addr: ${upstream}\n`;
  return `${unboundServerLines(options)}  log-replies: yes
  module-config: "validator iterator"
  domain-insecure: "${zone}"
  do-not-query-localhost: no
  local-zone: "." refuse
  local-zone: "${zone}" transparent
${section}remote-control:
  control-enable: no
`;
}

// "[1795364568] unbound[20283:0] info: 127.0.0.1 www.surveyor.lab. A IN NOERROR 0.000550 0 61"
const REPLY_LINE = / info: (\S+) (\S+) (\S+) IN ([A-Z]+) ([0-9.]+) ([01]) (\d+)$/;

export async function startForwardingUnbound(options: ForwardingUnboundOptions): Promise<ForwardingUnbound> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freeDnsPort(host));
  const dir = await mkdtemp(path.join(tmpdir(), 'unbound-forward-'));
  const config = forwardingUnboundConfig({ host, port, dir, zone: options.zone, upstream: options.upstream, mode: options.mode });
  const unbound = await launchUnbound(`unbound resolver ${host}:${port} (${options.mode} to ${options.upstream})`, dir, config);
  const replies = (name?: string): UnboundReply[] => {
    const all: UnboundReply[] = [];
    for (const line of unbound.proc.output.stderr.split('\n')) {
      const m = REPLY_LINE.exec(line);
      if (m === null) continue;
      const reply = { client: m[1]!, name: m[2]!, type: m[3]!, rcode: m[4]!, seconds: Number(m[5]), cached: m[6] === '1', size: Number(m[7]) };
      if (name === undefined || reply.name === name) all.push(reply);
    }
    return all;
  };
  return {
    host,
    port,
    address: `${host}:${port}`,
    configFile: unbound.configFile,
    proc: unbound.proc,
    replies,
    waitForReplies: async (count, name, timeoutMs = 5000) => {
      await awaitLogCount(unbound.logged, () => replies(name).length, count, `unbound ${host}:${port}: replies${name ? ` for ${name}` : ''}`, timeoutMs);
      return replies(name);
    },
    stop: unbound.stop,
  };
}
