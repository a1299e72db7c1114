import type { ParseResult } from './problem.ts';

/** Node timers hold at most 2^31-1 ms (about 24.8 days); a longer timeout would fire at once. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

/** One or more number+unit parts: 500ms, 3s, 1m30s, 1.5h. `ms` before `m` so that 5ms is not 5m+s. */
export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h|d))+$';
const DURATION_RE = new RegExp(DURATION_PATTERN);
const PART_RE = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)/g;

export const DURATION_ALLOWED = 'a number with a unit, e.g. 500ms, 3s, 1m, 1h';

/** Parse a duration such as "10s", "500ms" or "1m30s" into whole milliseconds. */
export function parseDuration(text: string): ParseResult<number> {
  if (!DURATION_RE.test(text)) {
    const suggestion = guessDuration(text);
    const message = /^[0-9.]+$/.test(text)
      ? `"${text}" has no unit`
      : `${JSON.stringify(text)} is not a duration`;
    return suggestion === undefined ? { ok: false, message } : { ok: false, message, suggestion };
  }
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART_RE)) {
    total += Number(amount) * UNIT_MS[unit as Unit];
  }
  const ms = Math.round(total);
  if (ms < 1) return { ok: false, message: `"${text}" is too short; the minimum is 1ms` };
  if (ms > MAX_DURATION_MS) {
    return {
      ok: false,
      message: `"${text}" is too long; the maximum is 24d (Node timers overflow past 2^31-1 ms, about 24.8 days)`,
    };
  }
  return { ok: true, value: ms };
}

/**
 * A duration that is never a timer but a number sent to clients (HSTS max-age, cache ages): up
 * to `maxDays`, in whole seconds.
 */
export function parseAgeSeconds(text: string, maxDays: number): ParseResult<number> {
  if (!DURATION_RE.test(text)) return parseDuration(text) as ParseResult<number>;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART_RE)) total += Number(amount) * UNIT_MS[unit as Unit];
  const seconds = Math.round(total / 1000);
  if (seconds > maxDays * 86_400) return { ok: false, message: `"${text}" is too long; the maximum is ${maxDays}d` };
  return { ok: true, value: seconds };
}

/** A duration where 0 (written 0s, 0ms, ...) means "off". */
export function parseDurationOrZero(text: string): ParseResult<number> {
  if (/^0+(\.0+)?(ms|s|m|h|d)$/.test(text)) return { ok: true, value: 0 };
  return parseDuration(text);
}

/** The shortest text that parseDuration reads back as `ms`, e.g. 90000 -> "1m30s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0ms';
  let rest = ms;
  let text = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const count = Math.floor(rest / UNIT_MS[unit]);
    if (count > 0) {
      text += `${count}${unit}`;
      rest -= count * UNIT_MS[unit];
    }
  }
  return text;
}

const UNIT_WORDS: Record<string, Unit> = {
  ms: 'ms', msec: 'ms', msecs: 'ms', millisecond: 'ms', milliseconds: 'ms',
  s: 's', sec: 's', secs: 's', second: 's', seconds: 's',
  m: 'm', min: 'm', mins: 'm', minute: 'm', minutes: 'm',
  h: 'h', hr: 'h', hrs: 'h', hour: 'h', hours: 'h',
  d: 'd', day: 'd', days: 'd',
};

/** "3 seconds" -> "3s", "1m 30s" -> "1m30s", "10S" -> "10s"; undefined when there is no clear reading. */
function guessDuration(text: string): string | undefined {
  const compact = text.toLowerCase().replace(/\s+/g, ' ').trim();
  const parts = [...compact.matchAll(/([0-9]+(?:\.[0-9]+)?) ?([a-z]+)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join(' ') !== compact) return undefined;
  let guess = '';
  for (const [, amount, word] of parts) {
    const unit = UNIT_WORDS[word ?? ''];
    if (unit === undefined) return undefined;
    guess += `${amount}${unit}`;
  }
  return guess;
}
