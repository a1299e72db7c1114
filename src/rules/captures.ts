/**
 * The capture groups a matched rule hands to its actions ($1..$9 in a redirect or rewrite).
 * One Captures object per worker is enough: matching is synchronous and the actions read the
 * groups before the next request is matched.
 */
import type { Captures } from './types.ts';

/** $1..$9: one digit after "$", as in HAProxy's and nginx's rewrite rules. */
export const MAX_CAPTURES = 9;

export function createCaptures(): Captures {
  return { count: 0, groups: Array.from({ length: MAX_CAPTURES }, () => '') };
}

/** Copy the groups of `match` (an exec result) into `captures`: undefined groups become ''. */
export function fillCaptures(captures: Captures, match: RegExpExecArray): void {
  const count = Math.min(match.length - 1, MAX_CAPTURES);
  for (let i = 0; i < count; i++) captures.groups[i] = match[i + 1] ?? '';
  captures.count = count;
}
