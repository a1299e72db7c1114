/**
 * HAProxy's agent-check (type agent): the agent answers one line of words separated by commas,
 * spaces or tabs, read case-insensitively, as HAProxy's checks.c reads them:
 *   75%                      weight: this share of the configured weight (0% drains)
 *   ready | drain | maint    administrative state (maint: no traffic at all)
 *   up | down | fail | stopped   operational state, optionally `#description`
 *   maxconn:30               understood, not applied (no per-server connection limit here)
 * Words the agent does not send leave their part of the state unchanged: an agent that only
 * reports weights never takes a server down, and only the agent undoes what it set (`drain`
 * needs a later `ready`, `down` a later `up`).
 */
import { quote } from './load-reply.ts';
import type { AgentReply, AgentVerdict } from './types.ts';

/** The most a weight may become, as the config allows (real server weight 0..65535). */
const MAX_WEIGHT = 65_535;

const HEALTH_WORDS = new Set(['up', 'down', 'fail', 'stopped']);
const ADMIN_WORDS = new Set(['ready', 'drain', 'maint']);

/** Split a reply line into what it says; the line ends at the first CR or LF. */
export function parseAgentReply(text: string): AgentReply {
  const end = text.search(/[\r\n]/);
  let line = end === -1 ? text : text.slice(0, end);
  let description: string | null = null;
  const sharp = line.indexOf('#');
  if (sharp !== -1) {
    description = line.slice(sharp + 1).trim();
    line = line.slice(0, sharp);
  }
  const reply: AgentReply = { weightPercent: null, health: null, admin: null, maxconn: null, description, unknown: [] };
  for (const word of line.split(/[\s,]+/)) {
    if (word === '') continue;
    const lower = word.toLowerCase();
    const percent = /^([0-9]{1,9})%$/.exec(lower);
    const maxconn = /^maxconn:([0-9]{1,9})$/.exec(lower);
    if (HEALTH_WORDS.has(lower)) reply.health = lower as AgentReply['health'];
    else if (ADMIN_WORDS.has(lower)) reply.admin = lower as AgentReply['admin'];
    else if (percent !== null) reply.weightPercent = Number(percent[1]);
    else if (maxconn !== null) reply.maxconn = Number(maxconn[1]);
    else reply.unknown.push(word);
  }
  return reply;
}

/**
 * The verdict after a reply, for a server of `configuredWeight`, with the words for it; null when
 * the reply holds nothing usable (the previous verdict stays, the reason says why).
 */
export function applyAgentReply(
  previous: AgentVerdict,
  reply: AgentReply,
  configuredWeight: number,
): { verdict: AgentVerdict; reason: string } | { verdict: null; reason: string } {
  const said: string[] = [];
  const notes: string[] = [];
  const verdict: AgentVerdict = { ...previous };
  if (reply.weightPercent !== null) {
    // HAProxy refuses a relative weight past its maximum the same way ("Relative weight too high").
    if ((configuredWeight * reply.weightPercent) / 100 > MAX_WEIGHT) {
      notes.push(`${reply.weightPercent}% ignored: ${configuredWeight} x ${reply.weightPercent}% is above the largest weight, ${MAX_WEIGHT}`);
    } else {
      verdict.weightPercent = reply.weightPercent;
      said.push(reply.weightPercent === 0 ? 'weight 0% (drain)' : `weight ${reply.weightPercent}%`);
    }
  }
  if (reply.admin !== null) {
    verdict.admin = reply.admin;
    said.push(reply.admin);
  }
  if (reply.health !== null) {
    verdict.operational = reply.health === 'up' ? 'up' : 'down';
    said.push(reply.description !== null && reply.health !== 'up' ? `${reply.health} (${reply.description})` : reply.health);
  }
  if (reply.maxconn !== null) notes.push(`maxconn:${reply.maxconn} ignored (Fulcrum has no per-server connection limit)`);
  if (reply.unknown.length > 0) notes.push(`not understood: ${reply.unknown.map(quote).join(', ')}`);
  // maxconn alone is a valid reply (HAProxy applies it); it just changes nothing here.
  if (said.length === 0 && reply.maxconn === null) {
    const why = notes.length === 0 ? 'the reply is empty' : notes.join('; ');
    return { verdict: null, reason: `${why}; an agent-check reply holds a weight such as 75%, up, down, fail, stopped, ready, drain or maint` };
  }
  return { verdict, reason: [said.length === 0 ? 'agent says nothing that changes the weight or state' : `agent says ${said.join(', ')}`, ...notes].join('; ') };
}
