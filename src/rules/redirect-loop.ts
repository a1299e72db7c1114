/**
 * Would a rule's redirect send the client straight back into the same rule? The redirected
 * request is evaluated against the rule's match in three-valued logic: its scheme, host, path
 * and query are known when the target spells them out, and "unknown" when the target keeps the
 * request's own ($host, $path, $query, $1..$9); every other condition (method, headers, client,
 * ...) is unknown, because the client sends them again. Only a match that is certainly false
 * for the target is safe; true or unknown is a loop.
 *
 * So "https://$host$path" from an http service is fine (the scheme changes), while
 * "http://www.example.com/" from an http rule without a host condition is refused: if
 * www.example.com points at this service too, every request comes back.
 */
import type { MatchConfig, PathCondition } from '../config/rule-match.ts';
import { parseRedirectTarget } from '../config/redirect-target.ts';
import { fieldHolds, hostHolds, pathHolds, queryParameter } from './naive.ts';
import { TemplateVar, type Template } from './template.ts';

const Truth = { FALSE: 0, TRUE: 1, UNKNOWN: 2 } as const;
type Truth = (typeof Truth)[keyof typeof Truth];

/**
 * What is known of the request the redirect makes the client send. A path that uses a variable
 * is known up to it ("/new$path": it starts with "/new"); null host or query: the request's own.
 */
interface Target {
  host: string | null;
  pathHead: string;
  pathComplete: boolean;
  query: string | null;
}

/**
 * The message when `rule`'s redirect loops on a service of scheme `vsScheme`, else null (also
 * for a rule without a redirect). A target on another port than the service's `vsPort` (the
 * scheme's default port when not given) goes elsewhere and is not a loop.
 */
export function redirectLoops(rule: { name: string; match: MatchConfig; redirect?: { to: string } }, vsScheme: 'http' | 'https', vsPort?: number): string | null {
  if (rule.redirect === undefined) return null;
  const parsed = parseRedirectTarget(rule.redirect.to);
  if (!parsed.ok || parsed.value.scheme !== vsScheme) return null;
  const { host, port, rest } = parsed.value;
  const defaultPort = vsScheme === 'https' ? 443 : 80;
  if ((port ?? defaultPort) !== (vsPort ?? defaultPort)) return null;
  const target: Target = { host, ...pathAndQuery(rest) };
  if (holds(rule.match, target) === Truth.FALSE) return null;
  const hostText = host === null ? 'the same host ($host)' : `host ${host}`;
  const pathText = target.pathComplete ? `path ${target.pathHead}` : 'a path it may match';
  return `redirecting to ${JSON.stringify(rule.redirect.to)} would loop: the client comes back to this ${vsScheme} service with ${hostText} and ${pathText}, and rule "${rule.name}" matches again. Redirect to another scheme, host or path, or narrow match so that the target no longer matches`;
}

/** The target's path (up to its first variable) and query (null when it uses a variable). */
function pathAndQuery(rest: Template): { pathHead: string; pathComplete: boolean; query: string | null } {
  const PATH = 0;
  const QUERY = 1;
  const FRAGMENT = 2;
  let part = PATH;
  let pathHead = '';
  let pathComplete = true;
  let query: string | null = '';
  rest.literals.forEach((literal, i) => {
    for (const c of literal) {
      if (part === PATH && c === '?') part = QUERY;
      else if (part !== FRAGMENT && c === '#') part = FRAGMENT;
      else if (part === PATH && pathComplete) pathHead += c;
      else if (part === QUERY && query !== null) query += c;
    }
    const variable = rest.vars[i];
    if (variable === undefined) return;
    if (part === PATH) pathComplete = false;
    // An empty $query drops its "?", so the query is unknown either way.
    else if (part === QUERY || variable === TemplateVar.QUERY) query = null;
  });
  // "https://example.com" asks for "/".
  if (pathComplete && pathHead === '') pathHead = '/';
  return { pathHead, pathComplete, query };
}

/** A path condition on a path known only up to `head` (it continues with a variable). */
function pathHeadHolds(condition: PathCondition, head: string): Truth {
  if ('prefix' in condition) {
    if (condition.prefix.some((prefix) => head.startsWith(prefix))) return Truth.TRUE;
    return condition.prefix.some((prefix) => prefix.startsWith(head)) ? Truth.UNKNOWN : Truth.FALSE;
  }
  if ('exact' in condition) return condition.exact.some((exact) => exact.startsWith(head)) ? Truth.UNKNOWN : Truth.FALSE;
  return Truth.UNKNOWN;
}

function holds(match: MatchConfig, target: Target): Truth {
  let result: Truth = Truth.TRUE;
  const and = (value: Truth): void => {
    if (value === Truth.FALSE || result === Truth.FALSE) result = Truth.FALSE;
    else if (value === Truth.UNKNOWN) result = Truth.UNKNOWN;
  };
  const known = (value: string | null, test: (value: string) => boolean): Truth => (value === null ? Truth.UNKNOWN : test(value) ? Truth.TRUE : Truth.FALSE);
  if (match.host !== undefined) and(known(target.host, (host) => hostHolds(match.host!, host)));
  if (match.path !== undefined) {
    and(target.pathComplete ? known(target.pathHead, (path) => pathHolds(match.path!, path)) : pathHeadHolds(match.path, target.pathHead));
  }
  if (match.query !== undefined) and(known(target.query, (query) => fieldHolds(match.query!, queryParameter(query, match.query!.name))));
  for (const key of ['method', 'header', 'cookie', 'clientAddress', 'country'] as const) if (match[key] !== undefined) and(Truth.UNKNOWN);
  for (const inner of match.all ?? []) and(holds(inner, target));
  if (match.any !== undefined) {
    const values = match.any.map((inner) => holds(inner, target));
    and(values.includes(Truth.TRUE) ? Truth.TRUE : values.every((value) => value === Truth.FALSE) ? Truth.FALSE : Truth.UNKNOWN);
  }
  if (match.not !== undefined) {
    const inner = holds(match.not, target);
    and(inner === Truth.UNKNOWN ? Truth.UNKNOWN : inner === Truth.TRUE ? Truth.FALSE : Truth.TRUE);
  }
  return result;
}
