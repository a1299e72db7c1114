/**
 * KEMP LoadMaster's adaptive agent (type http): the first line of the body of `GET /load` is an
 * integer, 0 (idle) to 100 (saturated); 101 means the server is down, 102 that it is
 * administratively disabled. Anything else is not understood: the last load stays in force and
 * the reason says what arrived.
 */
import type { AgentVerdict, LoadReading } from './types.ts';

export const LOAD_DOWN = 101;
export const LOAD_DISABLED = 102;

/** Understand the body of a load reply (only its first line counts). */
export function parseLoadReply(body: string): LoadReading {
  const newline = body.indexOf('\n');
  // A byte-order mark and surrounding blanks (a trailing \r of CRLF) are not part of the number.
  const line = (newline === -1 ? body : body.slice(0, newline)).replace(/^\uFEFF/, '').trim();
  if (line === '') return { kind: 'invalid', reason: newline === -1 && body.trim() === '' ? 'the body is empty; expected a load 0-100 on its first line' : 'the first line of the body is empty; expected a load 0-100' };
  const percent = /^([0-9]{1,3})\s*%$/.exec(line);
  if (percent !== null) return { kind: 'invalid', reason: `"${line}" has a % sign; write the load as a bare integer 0-100, e.g. ${percent[1]}` };
  if (!/^[0-9]+$/.test(line)) return { kind: 'invalid', reason: `${quote(line)} is not an integer; expected a load 0-100 (or 101 down, 102 disabled) on the first line` };
  const value = Number(line);
  if (value <= 100) return { kind: 'load', load: value };
  if (value === LOAD_DOWN) return { kind: 'down' };
  if (value === LOAD_DISABLED) return { kind: 'disabled' };
  return { kind: 'invalid', reason: `${value} is out of range; expected a load 0-100, 101 (down) or 102 (disabled)` };
}

/** The verdict after a reading, and the words for it; null with the reason when it changes nothing. */
export function applyLoadReading(previous: AgentVerdict, reading: LoadReading): { verdict: AgentVerdict; reason: string } | { verdict: null; reason: string } {
  switch (reading.kind) {
    case 'load':
      // A number also says the server is up and enabled: it undoes an earlier 101 or 102.
      return { verdict: { ...previous, load: reading.load, operational: 'up', admin: 'ready' }, reason: `load ${reading.load}` };
    case 'down':
      return { verdict: { ...previous, operational: 'down', admin: 'ready' }, reason: `the agent reports ${LOAD_DOWN}: the server is down` };
    case 'disabled':
      return { verdict: { ...previous, operational: 'up', admin: 'drain' }, reason: `the agent reports ${LOAD_DISABLED}: the server is administratively disabled; draining it (no new clients)` };
    case 'invalid':
      return { verdict: null, reason: reading.reason };
  }
}

/** A reply as a message shows it: quoted, cut at 60 characters. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}
