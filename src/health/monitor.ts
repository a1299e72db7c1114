/**
 * Runs the active health checks of every real server in the config, in the control plane (the
 * supervisor), never on the request path: it only reports. Each state change is logged with its
 * reason and emitted as a `change` event for the supervisor to pass to the workers.
 *
 * A reload (`apply` with the new config) keeps the state and counters of every server whose
 * virtual service name, address and resolved health check are unchanged; a changed check starts
 * afresh from its `startAs`. So that a consumer that caches reports (the worker runtime does) never
 * keeps a stale one, `apply` emits a change for any server whose fresh state differs from what
 * was last reported for it. A server seen for the first time is in its `startAs` state (up for
 * type none), which its config already tells consumers; that is not emitted.
 */
import { EventEmitter } from 'node:events';
import { formatAddress, type HostPort } from '../config/address.ts';
import type { HealthCheckConfig } from '../config/health-check.ts';
import type { Config } from '../config/schema.ts';
import { type Probe, probe as defaultProbe } from './probe.ts';
import { firstDelay, nextDelay } from './schedule.ts';
import { HealthStateMachine } from './state-machine.ts';
import { describeCheck } from './target.ts';
import type { HealthChange, HealthLogger, HealthStatus, LastCheck, ProbeResult, ServerHealthStatus } from './types.ts';
import { haltProbe, probeOnce, scheduleProbe } from './probe-slot.ts';

export interface HealthMonitorOptions {
  logger: HealthLogger;
  /** The check runner; tests substitute a scripted one. */
  probe?: Probe;
  /** Math.random's shape, for the jitter; injected for tests. */
  random?: () => number;
  /** Date.now's shape. */
  now?: () => number;
}

export interface HealthMonitorEvents {
  change: [HealthChange];
}

interface ServerCheck {
  readonly pool: string;
  /** How messages name the pool: an inline pool by its virtual service's name, as always; a shared one as `pool "name"`. */
  readonly poolLabel: string;
  readonly server: string;
  readonly address: HostPort;
  readonly spec: HealthCheckConfig;
  /** The spec as JSON: an unchanged spec keeps the state across a reload. */
  readonly specKey: string;
  readonly description: string;
  readonly machine: HealthStateMachine | null;
  up: boolean;
  /** Has it been up since this check was configured (for "UP" versus "UP again")? */
  beenUp: boolean;
  reason: string;
  since: number;
  lastCheck: LastCheck | null;
  passed: number;
  failed: number;
  certificateExpires?: string;
  timer: NodeJS.Timeout | null;
  abort: AbortController | null;
  stopped: boolean;
}

const NOT_CHECKED = 'not checked (healthCheck type none)';

export class HealthMonitor extends EventEmitter<HealthMonitorEvents> {
  readonly #log: HealthLogger;
  readonly #probe: Probe;
  readonly #random: () => number;
  readonly #now: () => number;
  /** By "virtual service|server", in config order. */
  #checks = new Map<string, ServerCheck>();
  /** The state last reported (or implied by the config) per "virtual service|server", kept across reloads. */
  readonly #reported = new Map<string, boolean>();

  constructor(options: HealthMonitorOptions) {
    super();
    this.#log = options.logger;
    this.#probe = options.probe ?? defaultProbe;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
  }

  /** Start, keep, restart or stop checks to match `config`. Call it at start and on every reload. */
  apply(config: Config): void {
    const next = new Map<string, ServerCheck>();
    for (const vs of config.pools) {
      for (const rs of vs.realServers) {
        const server = formatAddress(rs.address);
        const key = `${vs.name}|${server}`;
        const specKey = JSON.stringify(rs.healthCheck);
        const existing = this.#checks.get(key);
        if (existing !== undefined && existing.specKey === specKey && !existing.stopped) {
          next.set(key, existing);
          continue;
        }
        if (existing !== undefined) this.#halt(existing);
        const check = this.#create(vs.name, vs.inline ? `"${vs.name}"` : `pool "${vs.name}"`, server, rs.address, rs.healthCheck, specKey);
        next.set(key, check);
        const reported = this.#reported.get(key);
        this.#reported.set(key, check.up);
        if (reported !== undefined && reported !== check.up) {
          const why = existing === undefined ? 'back in the config' : 'health check changed';
          this.#announce(check, `${why}; ${check.reason}`, null);
        }
      }
    }
    for (const [key, check] of this.#checks) if (!next.has(key)) this.#halt(check);
    this.#checks = next;
  }

  /** Stop every check; a check in flight is abandoned (its socket closed) and its result ignored. */
  stop(): void {
    for (const check of this.#checks.values()) this.#halt(check);
    this.#checks = new Map();
  }

  /** Every virtual service -> real server id -> its health, in config order; plain data (JSON as is). */
  status(): HealthStatus {
    const status: HealthStatus = {};
    for (const check of this.#checks.values()) {
      const entry: ServerHealthStatus = {
        up: check.up,
        reason: check.reason,
        since: new Date(check.since).toISOString(),
        check: check.description,
        lastCheck: check.lastCheck === null ? null : { ...check.lastCheck },
        checks: { passed: check.passed, failed: check.failed },
      };
      if (check.certificateExpires !== undefined) entry.certificateExpires = check.certificateExpires;
      (status[check.pool] ??= {})[check.server] = entry;
    }
    return status;
  }

  #create(pool: string, poolLabel: string, server: string, address: HostPort, spec: HealthCheckConfig, specKey: string): ServerCheck {
    const machine = spec.type === 'none' ? null : new HealthStateMachine(spec);
    const up = machine?.up ?? true;
    const reason =
      machine === null
        ? NOT_CHECKED
        : up
          ? 'not checked yet; up until a check fails (startAs: up)'
          : 'not checked yet; down until a check passes (startAs: down)';
    const check: ServerCheck = {
      pool,
      poolLabel,
      server,
      address,
      spec,
      specKey,
      description: describeCheck(address, spec),
      machine,
      up,
      beenUp: up,
      reason,
      since: this.#now(),
      lastCheck: null,
      passed: 0,
      failed: 0,
      timer: null,
      abort: null,
      stopped: false,
    };
    if (machine !== null) this.#schedule(check, firstDelay(spec.interval, this.#random));
    return check;
  }

  #schedule(check: ServerCheck, delay: number): void {
    scheduleProbe(check, delay, () => this.#run(check));
  }

  async #run(check: ServerCheck): Promise<void> {
    const result = await probeOnce(
      check,
      (signal) => this.#probe(check.address, check.spec, signal),
      (message): ProbeResult => ({ ok: false, latencyMs: 0, reason: `the check itself failed: ${message}` }),
    );
    if (result === null || check.machine === null) return;
    this.#record(check, check.machine, result);
    this.#schedule(check, nextDelay(check.spec.interval, result.latencyMs, this.#random));
  }

  #record(check: ServerCheck, machine: HealthStateMachine, result: ProbeResult): void {
    const now = this.#now();
    check.lastCheck = { at: new Date(now).toISOString(), ok: result.ok, latencyMs: result.latencyMs, reason: result.reason };
    if (result.ok) check.passed++;
    else check.failed++;
    const validTo = result.detail?.certificate?.validTo;
    if (validTo !== undefined) check.certificateExpires = validTo;
    const changed = machine.record(result.ok);
    const progress = machine.progress();
    check.reason = progress === '' ? result.reason : `${result.reason} (${progress})`;
    if (changed) this.#announce(check, result.reason, check.lastCheck);
  }

  /** A state change: flip, log it with its reason, remember it as reported, emit it. */
  #announce(check: ServerCheck, reason: string, lastCheck: LastCheck | null): void {
    const up = check.machine?.up ?? true;
    const again = up && check.beenUp;
    check.up = up;
    check.beenUp ||= up;
    check.since = this.#now();
    check.reason = reason;
    this.#reported.set(`${check.pool}|${check.server}`, up);
    const fields = { pool: check.pool, server: check.server, up, reason, check: check.description };
    const subject = `real server ${check.server} in ${check.poolLabel}`;
    if (!up) this.#log.warn(fields, `${subject} is DOWN: ${reason}`);
    else this.#log.info(fields, `${subject} is UP${again ? ' again' : ''}: ${reason}`);
    const change: HealthChange = { pool: check.pool, server: check.server, up, reason, lastCheck: lastCheck === null ? null : { ...lastCheck } };
    try {
      this.emit('change', change);
    } catch (error) {
      this.#log.error({ ...fields, error: String(error) }, 'a health change listener threw');
    }
  }

  #halt(check: ServerCheck): void {
    haltProbe(check);
  }
}
