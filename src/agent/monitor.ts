/**
 * Polls the agent of every real server of every `scheduler: adaptive` virtual service, in the
 * control plane (the supervisor), never on the request path, as the HealthMonitor does for
 * health: each server on its own jittered schedule (src/health/schedule.ts). Each reply is merged
 * into the server's AgentVerdict; a changed verdict is emitted as a `report` event for the
 * supervisor to pass to the workers, which turn it into weights (src/scheduling/adaptive.ts).
 *
 * A poll that fails (no connection, a timeout, an HTTP error) or a reply that is not understood
 * changes nothing: the last verdict stays in force and the status says why (HAProxy: "failure to
 * connect to the agent is not considered an error"; the health check decides whether the server
 * is up). The start and the end of such a streak are logged, not every poll.
 *
 * A reload (`apply`) keeps the verdict and counters of every server whose virtual service,
 * address and adaptive settings are unchanged; a changed agent starts afresh (neutral: no
 * objection, configured weight). Consumers learn the fresh state from a snapshot (`status()`),
 * which the supervisor sends after every apply.
 */
import { EventEmitter } from 'node:events';
import { formatAddress, type HostPort } from '../config/address.ts';
import type { AdaptiveConfig } from '../config/adaptive.ts';
import type { Config } from '../config/schema.ts';
import { firstDelay, nextDelay } from '../health/schedule.ts';
import type { HealthLogger } from '../health/types.ts';
import { applyAgentReply, parseAgentReply } from './agent-reply.ts';
import { applyLoadReading, parseLoadReply } from './load-reply.ts';
import { type AgentProbe, describeAgent, pollAgent } from './probe.ts';
import { type AgentReport, type AgentStatus, type AgentVerdict, type LastPoll, NEUTRAL_VERDICT, type PollResult, type ServerAgentStatus } from './types.ts';
import { haltProbe, probeOnce, scheduleProbe } from '../health/probe-slot.ts';

export interface AgentMonitorOptions {
  logger: HealthLogger;
  /** The poll runner; tests substitute a scripted one. */
  probe?: AgentProbe;
  /** Math.random's shape, for the jitter; injected for tests. */
  random?: () => number;
  /** Date.now's shape. */
  now?: () => number;
}

export interface AgentMonitorEvents {
  report: [AgentReport];
}

/** A reply is shown in the status up to this length: enough for any sane agent line. */
const REPLY_SHOWN_CHARS = 200;

interface ServerAgent {
  readonly pool: string;
  /** How messages name the pool (see HealthMonitor). */
  readonly poolLabel: string;
  readonly server: string;
  readonly address: HostPort;
  readonly spec: AdaptiveConfig;
  /** The spec as JSON: an unchanged spec keeps the verdict across a reload. */
  readonly specKey: string;
  readonly description: string;
  /** The real server's configured weight (an agent's percentage must not take it past the maximum). */
  weight: number;
  verdict: AgentVerdict;
  reason: string;
  since: number;
  lastPoll: LastPoll | null;
  ok: number;
  failed: number;
  /** The latest poll gave nothing usable: its streak's start was logged. */
  failing: boolean;
  timer: NodeJS.Timeout | null;
  abort: AbortController | null;
  stopped: boolean;
}

export class AgentMonitor extends EventEmitter<AgentMonitorEvents> {
  readonly #log: HealthLogger;
  readonly #probe: AgentProbe;
  readonly #random: () => number;
  readonly #now: () => number;
  /** By "virtual service|server", in config order. */
  #agents = new Map<string, ServerAgent>();

  constructor(options: AgentMonitorOptions) {
    super();
    this.#log = options.logger;
    this.#probe = options.probe ?? pollAgent;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
  }

  /** Start, keep, restart or stop polls to match `config`. Call it at start and on every reload. */
  apply(config: Config): void {
    const next = new Map<string, ServerAgent>();
    for (const vs of config.pools) {
      const spec = vs.adaptive;
      if (spec === undefined) continue;
      const specKey = JSON.stringify(spec);
      for (const rs of vs.realServers) {
        const server = formatAddress(rs.address);
        const key = `${vs.name}|${server}`;
        const existing = this.#agents.get(key);
        if (existing !== undefined && existing.specKey === specKey && !existing.stopped) {
          existing.weight = rs.weight;
          next.set(key, existing);
          continue;
        }
        if (existing !== undefined) this.#halt(existing);
        next.set(key, this.#create(vs.name, vs.inline ? `"${vs.name}"` : `pool "${vs.name}"`, server, rs.address, spec, specKey, rs.weight));
      }
    }
    for (const [key, agent] of this.#agents) if (!next.has(key)) this.#halt(agent);
    this.#agents = next;
  }

  /** Stop every poll; a poll in flight is abandoned (its socket closed) and its result ignored. */
  stop(): void {
    for (const agent of this.#agents.values()) this.#halt(agent);
    this.#agents = new Map();
  }

  /** Every polled virtual service -> real server id -> what its agent said; plain data (JSON as is). */
  status(): AgentStatus {
    const status: AgentStatus = {};
    for (const agent of this.#agents.values()) {
      const entry: ServerAgentStatus = {
        ...agent.verdict,
        agent: agent.description,
        reason: agent.reason,
        since: new Date(agent.since).toISOString(),
        lastPoll: agent.lastPoll === null ? null : { ...agent.lastPoll },
        polls: { ok: agent.ok, failed: agent.failed },
      };
      (status[agent.pool] ??= {})[agent.server] = entry;
    }
    return status;
  }

  /** Every current verdict, for a worker that starts (or a config that changed) to catch up. */
  verdicts(): AgentReport[] {
    return [...this.#agents.values()].map((agent) => ({ pool: agent.pool, server: agent.server, verdict: { ...agent.verdict } }));
  }

  #create(pool: string, poolLabel: string, server: string, address: HostPort, spec: AdaptiveConfig, specKey: string, weight: number): ServerAgent {
    const agent: ServerAgent = {
      pool,
      poolLabel,
      server,
      address,
      spec,
      specKey,
      description: describeAgent(address, spec),
      weight,
      verdict: { ...NEUTRAL_VERDICT },
      reason: 'not polled yet; the configured weight applies until the agent answers',
      since: this.#now(),
      lastPoll: null,
      ok: 0,
      failed: 0,
      failing: false,
      timer: null,
      abort: null,
      stopped: false,
    };
    this.#schedule(agent, firstDelay(spec.interval, this.#random));
    return agent;
  }

  #schedule(agent: ServerAgent, delay: number): void {
    scheduleProbe(agent, delay, () => this.#run(agent));
  }

  async #run(agent: ServerAgent): Promise<void> {
    const result = await probeOnce(
      agent,
      (signal) => this.#probe(agent.address, agent.spec, signal),
      (message): PollResult => ({ ok: false, latencyMs: 0, reason: `the poll itself failed: ${message}` }),
    );
    if (result === null) return;
    this.#record(agent, result);
    this.#schedule(agent, nextDelay(agent.spec.interval, result.latencyMs, this.#random));
  }

  #record(agent: ServerAgent, result: PollResult): void {
    const now = this.#now();
    const at = new Date(now).toISOString();
    let understood: { verdict: AgentVerdict; reason: string } | { verdict: null; reason: string };
    let reply: string | null = null;
    if (result.ok) {
      reply = firstLine(result.reply);
      understood =
        agent.spec.type === 'http'
          ? applyLoadReading(agent.verdict, parseLoadReply(result.reply))
          : applyAgentReply(agent.verdict, parseAgentReply(result.reply), agent.weight);
    } else {
      understood = { verdict: null, reason: result.reason };
    }
    const usable = understood.verdict !== null;
    agent.lastPoll = { at, ok: usable, latencyMs: result.latencyMs, reply, reason: understood.reason };
    if (usable) agent.ok++;
    else agent.failed++;
    const subject = `real server ${agent.server} in ${agent.poolLabel}`;
    const fields = { pool: agent.pool, server: agent.server, agent: agent.description };

    if (understood.verdict === null) {
      agent.reason = `${understood.reason}; ${keeping(agent.verdict, agent.ok > 0)}`;
      if (!agent.failing) this.#log.warn({ ...fields, reason: agent.reason }, `the agent of ${subject} gave no usable answer: ${agent.reason}`);
      agent.failing = true;
      return;
    }
    if (agent.failing) this.#log.info({ ...fields, reason: understood.reason }, `the agent of ${subject} answers again: ${understood.reason}`);
    agent.failing = false;
    agent.reason = understood.reason;
    const previous = agent.verdict;
    const next = understood.verdict;
    if (sameVerdict(previous, next)) return;
    agent.verdict = next;
    if (previous.operational !== next.operational || previous.admin !== next.admin) {
      agent.since = now;
      this.#logState(subject, { ...fields, operational: next.operational, admin: next.admin, reason: understood.reason }, previous, next, understood.reason);
    }
    try {
      this.emit('report', { pool: agent.pool, server: agent.server, verdict: { ...next } });
    } catch (error) {
      this.#log.error({ ...fields, error: String(error) }, 'an agent report listener threw');
    }
  }

  /** Words for a change of state the agent made, at the level an operator should see it. */
  #logState(subject: string, fields: object, previous: AgentVerdict, next: AgentVerdict, reason: string): void {
    if (next.operational === 'down' && previous.operational !== 'down') this.#log.warn(fields, `${subject} is DOWN by its agent: ${reason}`);
    else if (next.admin === 'maint' && previous.admin !== 'maint') this.#log.warn(fields, `${subject} is in MAINTENANCE by its agent (no traffic): ${reason}`);
    else if (next.admin === 'drain' && previous.admin !== 'drain') this.#log.warn(fields, `${subject} is DRAINING by its agent (no new clients): ${reason}`);
    else this.#log.info(fields, `${subject} is ${next.operational === 'up' ? 'UP' : 'DOWN'} and ${next.admin.toUpperCase()} by its agent: ${reason}`);
  }

  #halt(agent: ServerAgent): void {
    haltProbe(agent);
  }
}

function sameVerdict(a: AgentVerdict, b: AgentVerdict): boolean {
  return a.load === b.load && a.weightPercent === b.weightPercent && a.operational === b.operational && a.admin === b.admin;
}

/** What stays in force after an unusable poll. */
function keeping(verdict: AgentVerdict, answeredBefore: boolean): string {
  if (!answeredBefore) return 'no usable reply yet, so the configured weight applies';
  if (verdict.load !== null) return `keeping the last load, ${verdict.load}`;
  if (verdict.weightPercent !== null) return `keeping the last weight, ${verdict.weightPercent}%`;
  return 'keeping the last state';
}

function firstLine(text: string): string {
  const end = text.search(/[\r\n]/);
  const line = end === -1 ? text : text.slice(0, end);
  return line.length > REPLY_SHOWN_CHARS ? `${line.slice(0, REPLY_SHOWN_CHARS)}...` : line;
}
