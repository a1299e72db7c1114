/**
 * A real server's or a GSLB site's state for people: one word (up, down, draining, disabled),
 * the colour class the console paints it with, and the reason and last check in a sentence.
 * The word is always shown beside the colour (WCAG 1.4.1: colour is not the only signal).
 */
import { formatMs, formatTime, timeAgo } from './format.js';

/**
 * @param {{state: string, health: {up: boolean, reason: string, since?: string, lastCheck: null | {at: string, ok: boolean, latencyMs: number, reason: string}, checks?: {passed: number, failed: number}, check?: string}, ejected?: boolean, activeRequests?: number}} server
 * @returns {{word: 'up'|'down'|'draining'|'disabled', tone: 'up'|'down'|'drain'|'off', label: string}}
 */
export function serverState(server) {
  const down = !server.health?.up || server.ejected === true;
  if (server.state === 'disabled') return { word: 'disabled', tone: 'off', label: down ? 'disabled (also down)' : 'disabled' };
  if (server.state === 'drain') return { word: 'draining', tone: 'drain', label: down ? 'draining (down)' : 'draining' };
  if (down) return { word: 'down', tone: 'down', label: server.ejected && server.health?.up ? 'down (ejected by outlier detection)' : 'down' };
  return { word: 'up', tone: 'up', label: 'up' };
}

/** "Down since 12 s ago: connection refused. Last check 2 s ago (3.1 ms): connection refused." */
export function healthSentence(health, now = Date.now()) {
  if (!health) return 'No health information.';
  const parts = [];
  const since = health.since ? ` since ${timeAgo(health.since, now)}` : '';
  parts.push(`${health.up ? 'Up' : 'Down'}${since}: ${health.reason || (health.up ? 'checks pass' : 'no reason given')}.`);
  if (health.lastCheck) {
    const c = health.lastCheck;
    parts.push(`Last check ${timeAgo(c.at, now)} (${formatTime(c.at)}), ${c.ok ? 'passed' : 'failed'} in ${formatMs(c.latencyMs)}${c.reason && c.reason !== health.reason ? `: ${c.reason}` : ''}.`);
  } else {
    parts.push('Not checked yet.');
  }
  if (health.check) parts.push(`Check: ${health.check}.`);
  if (health.checks) parts.push(`${health.checks.passed} passed, ${health.checks.failed} failed.`);
  return parts.join(' ');
}

/** Counts of up / down / draining / disabled over real servers. */
export function countStates(servers) {
  const counts = { up: 0, down: 0, draining: 0, disabled: 0 };
  for (const s of servers ?? []) counts[serverState(s).word]++;
  return counts;
}

/** A GSLB site's state: disabled (by an operator), held (down, waiting for manual recovery), up or down. */
export function siteState(site) {
  if (site.disabled) return { word: 'disabled', tone: 'off', label: 'disabled by an operator' };
  if (site.held) return { word: 'down', tone: 'down', label: 'down, held for manual recovery' };
  if (!site.checked && site.up) return { word: 'up', tone: 'up', label: 'up (not checked yet)' };
  return site.up ? { word: 'up', tone: 'up', label: 'up' } : { word: 'down', tone: 'down', label: 'down' };
}
