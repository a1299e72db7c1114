/**
 * Regular expressions written by administrators (content rules, header rewrites), made safe
 * against catastrophic backtracking: `^(a+)+$` against 30 "a"s and a "!" takes V8's backtracking
 * engine minutes, and one such request would stall a worker and every connection on it.
 *
 * The policy, measured on Node 24 (V8 13.6):
 * - At load, a pattern must compile on V8's linear-time engine (the `l` flag). That engine
 *   refuses backreferences, lookahead, case-insensitive matching, Unicode mode and counted
 *   repetitions above 16 ({17}, [a-z]{1,64}); such a pattern is refused with a message naming
 *   the construct.
 * - At run time the pattern runs on the ordinary backtracking engine, about 40 times faster on
 *   normal input, and `--enable-experimental-regexp-engine-on-excessive-backtracks` makes V8
 *   re-run a match on the linear engine after 50,000 backtracks (V8's default). That fallback
 *   only exists for patterns the linear engine accepts, hence the load check.
 *   `^(a+)+$`, `(a|a)*c` and `(x+x+)+y` against 100 KB inputs take 5 to 25 ms this way.
 */
import v8 from 'node:v8';
import type { ParseResult } from '../config/problem.ts';

/** The V8 flags this policy needs; the supervisor passes them to worker processes too (execArgv). */
export const REGEX_SAFETY_FLAGS = [
  '--enable-experimental-regexp-engine',
  '--enable-experimental-regexp-engine-on-excessive-backtracks',
] as const;

// Before any user pattern is compiled: V8 reads the fallback flag when it compiles a pattern.
for (const flag of REGEX_SAFETY_FLAGS) v8.setFlagsFromString(flag);

/** Longer patterns are refused: a rule is read by people, and the linear engine's automaton grows with the pattern. */
export const MAX_PATTERN_LENGTH = 1_024;

/** Flags a pattern may carry: m and s change what ^, $ and . mean and keep the linear engine. */
const ALLOWED_FLAGS = 'ms';

/** The largest count in {n} or {n,m} the linear engine accepts (V8's replication limit). */
const MAX_LINEAR_COUNT = 16;

/**
 * Compile a user's pattern for the data path, or say why it is refused. The RegExp returned has
 * no g or y flag, so test() and exec() keep no state between requests.
 */
export function compileSafeRegex(pattern: string, flags = ''): ParseResult<RegExp> {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return { ok: false, message: `the regular expression is ${pattern.length} characters long; the limit is ${MAX_PATTERN_LENGTH}` };
  }
  for (const flag of flags) {
    if (!ALLOWED_FLAGS.includes(flag)) {
      const why = flag === 'i' ? '; write both cases where needed, e.g. [Ww]ww' : '';
      return { ok: false, message: `flag "${flag}" is not supported in a rule's regular expression (only m and s are)${why}` };
    }
  }
  let regex: RegExp;
  try {
    regex = new RegExp(pattern, flags);
  } catch (error) {
    return { ok: false, message: `${JSON.stringify(pattern)} is not a valid regular expression: ${syntaxReason(error)}` };
  }
  try {
    new RegExp(pattern, `${flags}l`);
  } catch {
    return { ok: false, message: `${JSON.stringify(pattern)} cannot run in linear time: it uses ${nonLinearConstruct(pattern)}. Fulcrum only accepts patterns that run in time proportional to the input, so that no request can stall a worker` };
  }
  return { ok: true, value: regex };
}

/** How many capture groups a regex has: an empty alternative makes it match '' with every group unset. */
export function groupCount(regex: RegExp): number {
  return new RegExp(`${regex.source}|`, regex.flags).exec('')!.length - 1;
}

function syntaxReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // "Invalid regular expression: /(a/: Unterminated group" -> "Unterminated group"
  return message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
}

/**
 * Which construct the linear engine refused, in the user's words. V8 only says "cannot be
 * executed in linear time", so scan the pattern (outside character classes and escapes).
 */
function nonLinearConstruct(pattern: string): string {
  const counts: number[] = [];
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if (!inClass && next >= '1' && next <= '9') return `a backreference (\\${next})`;
      if (!inClass && next === 'k' && pattern[i + 2] === '<') return 'a named backreference (\\k<name>)';
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
    } else if (c === '(' && pattern[i + 1] === '?') {
      const kind = pattern.slice(i + 2, i + 4);
      if (kind.startsWith('=') || kind.startsWith('!')) return `a lookahead (${pattern.slice(i, i + 3)}...)`;
      if (kind === '<=' || kind === '<!') return `a lookbehind (${pattern.slice(i, i + 4)}...)`;
      if (/^[-ims]/.test(kind)) return 'an inline flag group such as (?i:...)';
    } else if (c === '{') {
      const repeat = /^\{([0-9]+)(?:,([0-9]*))?\}/.exec(pattern.slice(i));
      if (repeat !== null) counts.push(Math.max(Number(repeat[1]), Number(repeat[2] ?? 0)));
    }
  }
  const largest = Math.max(0, ...counts);
  if (largest > MAX_LINEAR_COUNT) {
    return `a counted repetition of ${largest} (more than ${MAX_LINEAR_COUNT}); write + or * instead, e.g. [a-z]+ for [a-z]{1,64}`;
  }
  if (counts.length > 1) return `counted repetitions inside each other, whose counts multiply past ${MAX_LINEAR_COUNT}; write + or * for the outer one`;
  return 'a construct the linear-time engine does not support';
}
