/**
 * Types only: what an agent reply means, what the supervisor tells the workers, and what the
 * status holds, apart from the code that produces them (HAProxy's `-t.h` split).
 */

/** The server's operational state as its agent sets it (HAProxy's up/down words, LoadMaster 101). */
export type AgentOperational = 'up' | 'down';
/** The server's administrative state as its agent sets it (HAProxy's ready/drain/maint, LoadMaster 102 as drain). */
export type AgentAdmin = 'ready' | 'drain' | 'maint';

/**
 * What a real server's agent has said so far, merged reply by reply (HAProxy: "parameters which
 * are not advertised by the agent are not changed"). The supervisor sends it whole to every
 * worker; a worker turns it into a weight and an availability (src/scheduling/adaptive.ts).
 */
export interface AgentVerdict {
  /** LoadMaster agent (type http): the last load reported, 0 idle to 100 saturated; null before the first. */
  load: number | null;
  /** HAProxy agent-check (type agent): the last weight reported, in percent of the configured weight; null before the first. */
  weightPercent: number | null;
  /** down: no traffic at all, and clients persisted to it move (as a failed health check). */
  operational: AgentOperational;
  /** drain: no new clients, persisted ones stay. maint: no traffic at all (as down). */
  admin: AgentAdmin;
}

/** An agent that has said nothing yet: no objection, no weight. */
export const NEUTRAL_VERDICT: Readonly<AgentVerdict> = Object.freeze({ load: null, weightPercent: null, operational: 'up', admin: 'ready' });

/** What one poll read: the reply line, or why there is none. */
export type PollResult =
  | { ok: true; latencyMs: number; reply: string }
  | { ok: false; latencyMs: number; reason: string };

/** A LoadMaster agent's first body line, understood. */
export type LoadReading =
  | { kind: 'load'; load: number }
  /** 101 */
  | { kind: 'down' }
  /** 102: administratively disabled; Fulcrum drains it (no new clients). */
  | { kind: 'disabled' }
  | { kind: 'invalid'; reason: string };

/** An HAProxy agent-check reply line, understood word by word; null: the word was not in the reply. */
export interface AgentReply {
  /** `75%`: the weight in percent of the configured weight (the last such word wins). */
  weightPercent: number | null;
  /** up, down, fail or stopped (HAProxy reports the word itself, so it is kept). */
  health: 'up' | 'down' | 'fail' | 'stopped' | null;
  admin: AgentAdmin | null;
  /** `maxconn:30`: understood but not applied (Fulcrum has no per-server connection limit). */
  maxconn: number | null;
  /** Text after `#`, e.g. `down#disk full`. */
  description: string | null;
  /** Words that are none of the above, in order. */
  unknown: string[];
}

/** The last poll of one real server, as the status carries it. */
export interface LastPoll {
  /** When the poll finished, ISO 8601. */
  at: string;
  /** Was the reply read and understood? */
  ok: boolean;
  latencyMs: number;
  /** The reply line as read (at most 200 characters); null when none was read. */
  reply: string | null;
  /** What the reply meant, or why it was not used. */
  reason: string;
}

/** One real server in AgentMonitor.status(). */
export interface ServerAgentStatus extends AgentVerdict {
  /** What is polled, e.g. `GET /load HTTP/1.1 to 127.0.0.1:8082, Host: 127.0.0.1:9001`. */
  agent: string;
  /** Why the verdict is what it is: the last understood reply, or why the latest was not used. */
  reason: string;
  /** When operational or admin last changed (or polling started), ISO 8601. */
  since: string;
  lastPoll: LastPoll | null;
  /** Polls since this server's agent was (re)configured. */
  polls: { ok: number; failed: number };
}

/** AgentMonitor.status(): virtual service name -> real server id -> status. */
export type AgentStatus = Record<string, Record<string, ServerAgentStatus>>;

/** The `report` event: a real server's verdict changed. */
export interface AgentReport {
  pool: string;
  /** The real server's id, as formatAddress prints its address. */
  server: string;
  verdict: AgentVerdict;
}
