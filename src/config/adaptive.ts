/**
 * The `adaptive` key of a virtual service: how the supervisor reads each real server's load for
 * `scheduler: adaptive` (src/agent polls, src/scheduling/adaptive.ts weighs). Kept apart from
 * schema.ts because it is one concept with its own rules; schema.ts places it in the virtual
 * service and calls checkAdaptiveScheduler, which ties the key and the scheduling method together
 * at config load (HAProxy rejects an algorithm whose input is missing the same way).
 */
import { z } from 'zod';
import { DURATION_ALLOWED, DURATION_PATTERN, formatDuration, parseDuration } from './duration.ts';
import { HOST_HEADER_PATTERN, field, parsedString } from './schema-builders.ts';

export const ADAPTIVE_TYPES = ['http', 'agent'] as const;
export type AdaptiveType = (typeof ADAPTIVE_TYPES)[number];

/** The LoadMaster's agent path and threshold, which its users know. */
export const DEFAULT_LOAD_PATH = '/load';
export const DEFAULT_MIN_LOAD = 5;
/** A poll waits at most this long unless timeout says otherwise (and never half the interval or more). */
const DEFAULT_TIMEOUT_MS = 2000;

/** `adaptive`, resolved: defaults applied, keys the type does not use left null. */
export interface AdaptiveConfig {
  /** http: LoadMaster's agent (GET path, the first line is a load 0-100). agent: HAProxy's agent-check (TCP, one line of words). */
  type: AdaptiveType;
  /** http: the path to GET; null for agent. */
  path: string | null;
  /** http: the Host header; null: the real server's address as written. */
  host: string | null;
  /** The port the agent answers on; null: the real server's port (type http only; agent requires one). */
  port: number | null;
  /** Milliseconds between polls of one real server (jittered +-10 %). */
  interval: number;
  /** Milliseconds one poll may take; always below interval. */
  timeout: number;
  /** http: when every server reports a load below this, the loads are ignored (plain weighted round robin); null for agent. */
  minLoad: number | null;
}

const REQUEST_PATH_PATTERN = '^/[^\\s\\x00-\\x1f\\x7f]*$';



const AdaptiveFields = z.strictObject({
  type: field(
    z.enum(ADAPTIVE_TYPES).default('http'),
    "How each real server reports its load. http: KEMP LoadMaster's agent, an HTTP GET of path whose first body line is an integer 0-100 (0 idle, 100 saturated; 101 down, 102 administratively disabled). agent: HAProxy's agent-check, a TCP connection to port that answers one line of words such as 75%, drain, down, up, ready, maint.",
    { noun: 'an adaptive agent type' },
  ),
  path: field(
    z.string().max(2048).regex(new RegExp(REQUEST_PATH_PATTERN)).optional(),
    'http: the path to GET, e.g. /load (the default).',
    { noun: 'a request path', allowed: 'a path starting with /, without spaces, e.g. /load' },
  ),
  host: field(
    z.string().max(261).regex(new RegExp(HOST_HEADER_PATTERN)).optional(),
    "http: the Host header of the request; default: the real server's address as written. Set it when the server serves sites by host name.",
    { noun: 'a host name', allowed: 'a host name or IP address, optionally with :port, e.g. www.example.com' },
  ),
  port: field(z.int().min(1).max(65_535).optional(), "The port the agent answers on. http: default the real server's port. agent: required (HAProxy's agent-port)."),
  interval: field(parsedString(parseDuration, DURATION_PATTERN).prefault('5s'), 'Time between two polls of one real server; polls are spread over it with jitter. Weights also move with it: half-way to a new load in one interval.', {
    noun: 'a duration',
    allowed: DURATION_ALLOWED,
  }),
  timeout: field(parsedString(parseDuration, DURATION_PATTERN).optional(), 'How long one poll may take (connect, send, answer); must be shorter than interval. Default: 2s, or half the interval when that is shorter.', {
    noun: 'a duration',
    allowed: DURATION_ALLOWED,
  }),
  minLoad: field(
    z.int().min(0).max(100).optional(),
    'http: when every real server reports a load below this (default 5), the loads say nothing worth acting on and the service balances as weighted round robin on the configured weights.',
  ),
});

type AdaptiveInput = z.output<typeof AdaptiveFields>;

/** Keys that apply to type http only, and why an agent-check has no use for them. */
const HTTP_ONLY = {
  path: 'an agent-check (type agent) reads one line from a TCP port and sends no HTTP request',
  host: 'an agent-check (type agent) reads one line from a TCP port and sends no HTTP request',
  minLoad: 'an agent-check (type agent) reports weights such as 75%, not loads',
} as const;

function resolveAdaptive(input: AdaptiveInput, ctx: z.RefinementCtx): AdaptiveConfig {
  const problem = (key: string, message: string): void => {
    ctx.addIssue({ code: 'custom', message, path: [key], input: undefined });
  };
  if (input.type === 'agent') {
    for (const [key, why] of Object.entries(HTTP_ONLY) as [keyof typeof HTTP_ONLY, string][]) {
      if (input[key] !== undefined) problem(key, `${key} applies to adaptive type http only (the LoadMaster agent): ${why}; remove ${key}, or use type http`);
    }
    // As HAProxy's agent-port: the traffic port speaks the application's protocol, not the agent's.
    if (input.port === undefined) problem('type', 'adaptive type agent needs port, the TCP port the agent-check answers on (it is never the traffic port), e.g. port: 8082');
  }
  const timeout = input.timeout ?? Math.min(DEFAULT_TIMEOUT_MS, Math.max(1, Math.floor(input.interval / 2)));
  if (timeout >= input.interval) {
    problem(
      input.timeout !== undefined ? 'timeout' : 'interval',
      `timeout ${formatDuration(timeout)} must be shorter than interval ${formatDuration(input.interval)}, or one poll would still run when the next starts; lower timeout or raise interval`,
    );
  }
  const http = input.type === 'http';
  return {
    type: input.type,
    path: http ? (input.path ?? DEFAULT_LOAD_PATH) : null,
    host: http ? (input.host ?? null) : null,
    port: input.port ?? null,
    interval: input.interval,
    timeout,
    minLoad: http ? (input.minLoad ?? DEFAULT_MIN_LOAD) : null,
  };
}

/** The virtual service's `adaptive`: absent unless the scheduler is adaptive, which requires it. */
export const AdaptiveSchema = field(
  AdaptiveFields.transform(resolveAdaptive).optional(),
  "For scheduler: adaptive (and required by it): how the supervisor polls each real server's agent for its load. Busier servers get less new traffic, in proportion to their spare capacity; weights move smoothly, never in jumps. A server's agent can also take it out (down) or drain it.",
  { noun: 'an adaptive setting', allowed: '{ type: http | agent, path, host, port, interval, timeout, minLoad }' },
);

/**
 * `scheduler: adaptive` and the `adaptive` key need each other: the method has nothing to weigh
 * without agents, and agents polled for another method would cost probes for nothing. Reported at
 * the key the user wrote, so the message carries its line.
 */
export function checkAdaptiveScheduler(vs: { scheduler: string; adaptive?: AdaptiveConfig | undefined }, ctx: z.RefinementCtx): void {
  if (vs.scheduler === 'adaptive' && vs.adaptive === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['scheduler'],
      input: undefined,
      message:
        'scheduler adaptive needs an adaptive block that says how to read each real server\'s load, e.g. adaptive: { type: http, path: /load, port: 8082 } (LoadMaster agent) or adaptive: { type: agent, port: 8082 } (HAProxy agent-check)',
    });
  } else if (vs.scheduler !== 'adaptive' && vs.adaptive !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['adaptive'],
      input: undefined,
      message: `adaptive applies to scheduler: adaptive only, and this virtual service uses ${vs.scheduler}; set scheduler: adaptive, or remove adaptive`,
    });
  }
}
