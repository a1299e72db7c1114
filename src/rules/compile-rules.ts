/**
 * A rule list compiled for the data path, once per config load: one matcher for all the rules'
 * matches, and per rule its action, access list, rewrite, header edits and body limit, each in
 * the form its function in actions.ts or access.ts takes.
 */
import type { RuleConfig } from '../config/rules.ts';
import { compileAccess, type CompiledAccess } from './access.ts';
import {
  compileHeaderEdits,
  compileRedirect,
  compileRespond,
  compileRewrite,
  type CompiledRedirect,
  type CompiledRespond,
  type CompiledRewrite,
  type HeaderEditPlan,
} from './actions.ts';
import { compileMatcher } from './match-compile.ts';
import type { Captures, MatchInput, RuleMatcher } from './types.ts';

/**
 * Where a matched request goes. `forward` with pool null: the virtual service's own real servers
 * (a rule that only edits or rewrites).
 */
export type RuleAction =
  | { readonly kind: 'forward'; readonly pool: string | null }
  | { readonly kind: 'redirect'; readonly redirect: CompiledRedirect }
  | { readonly kind: 'respond'; readonly respond: CompiledRespond }
  | { readonly kind: 'deny'; readonly status: number };

export interface CompiledRule<R extends RuleConfig = RuleConfig> {
  /** Position in the list; the matcher returns it. */
  readonly index: number;
  readonly name: string;
  /** The rule as configured (rateLimit included, typed by the schema that read it). */
  readonly config: R;
  readonly action: RuleAction;
  /** Checked after the match and before the action; null: everyone. */
  readonly access: CompiledAccess | null;
  readonly rewrite: CompiledRewrite | null;
  readonly requestHeaders: HeaderEditPlan | null;
  /** Applied to the real server's response, and to Fulcrum's own redirect, respond and deny answers. */
  readonly responseHeaders: HeaderEditPlan | null;
  /** Bodies above this many bytes are answered 413; null: no limit from this rule. */
  readonly maxRequestBodyBytes: number | null;
}

export interface CompiledRuleSet<R extends RuleConfig = RuleConfig> {
  readonly matcher: RuleMatcher;
  readonly rules: readonly CompiledRule<R>[];
  /** The first rule whose match holds, or null; fills `captures` for its actions. */
  find(input: MatchInput, captures: Captures): CompiledRule<R> | null;
}

export function compileRules<R extends RuleConfig>(rules: readonly R[]): CompiledRuleSet<R> {
  const matcher = compileMatcher(rules.map((rule) => rule.match));
  const compiled = rules.map((rule, index): CompiledRule<R> => ({
    index,
    name: rule.name,
    config: rule,
    action: actionOf(rule),
    access: rule.access === undefined ? null : compileAccess(rule.access),
    rewrite: rule.rewrite === undefined ? null : compileRewrite(rule.rewrite),
    requestHeaders: rule.requestHeaders === undefined ? null : compileHeaderEdits(rule.requestHeaders),
    responseHeaders: rule.responseHeaders === undefined ? null : compileHeaderEdits(rule.responseHeaders),
    maxRequestBodyBytes: rule.requestBody === undefined ? null : rule.requestBody.maxBytes,
  }));
  return {
    matcher,
    rules: compiled,
    find(input: MatchInput, captures: Captures): CompiledRule<R> | null {
      const index = matcher.match(input, captures);
      return index === -1 ? null : compiled[index]!;
    },
  };
}

function actionOf(rule: RuleConfig): RuleAction {
  if (rule.redirect !== undefined) return { kind: 'redirect', redirect: compileRedirect(rule.redirect) };
  if (rule.respond !== undefined) return { kind: 'respond', respond: compileRespond(rule.respond) };
  if (rule.deny !== undefined) return { kind: 'deny', status: rule.deny.status };
  return { kind: 'forward', pool: rule.pool ?? null };
}
