/**
 * Content rules (HAProxy's ACLs and use_backend, LoadMaster's content switching): an ordered
 * list in which the first rule whose match holds decides what happens to a request. This file
 * puts a rule together from its match (rule-match.ts) and its actions (rule-actions.ts), checks
 * what only makes sense across keys (one action; $N needs a path regex with N groups; no
 * request edits on a rule that answers by itself), and checks the list (unique names).
 *
 * The data path calls compileRules once per config load; the HTTP engine calls redirectLoops
 * with each virtual service's scheme.
 */
import { z } from 'zod';
import { compileSafeRegex, groupCount } from '../rules/regex.ts';
import { highestGroup, parseTemplate } from '../rules/template.ts';
import { parseRedirectTarget } from './redirect-target.ts';
import {
  AccessSchema,
  DenySchema,
  HeaderEditSchema,
  RedirectSchema,
  RequestBodySchema,
  RespondSchema,
  RewriteSchema,
} from './rule-actions.ts';
import { conjunctPathRegex, MATCH_ALL_HINT, type MatchConfig, MatchSchema } from './rule-match.ts';
import { report } from './rule-fields.ts';
import { field } from './schema-builders.ts';

export { compileRules, type CompiledRule, type CompiledRuleSet, type RuleAction } from '../rules/compile-rules.ts';
export { redirectLoops } from '../rules/redirect-loop.ts';
export {
  AccessSchema,
  DenySchema,
  HeaderEditSchema,
  RedirectSchema,
  RequestBodySchema,
  RespondSchema,
  RewriteSchema,
  type AccessConfig,
  type DenyConfig,
  type HeaderEditConfig,
  type RedirectConfig,
  type RequestBodyConfig,
  type RespondConfig,
  type RewriteConfig,
} from './rule-actions.ts';
export { MatchSchema, type FieldCondition, type HostCondition, type MatchConfig, type PathCondition } from './rule-match.ts';

const NAME_RE = /^[A-Za-z0-9._-]+$/;
const NAME_ALLOWED = 'letters, digits, ".", "_" and "-", at most 64 characters';

/** The actions that decide where a request goes; a rule has at most one. */
const ACTION_KEYS = ['pool', 'redirect', 'respond', 'deny'] as const;
/** Keys that change the request on its way to a real server: meaningless when Fulcrum answers itself. */
const FORWARDING_KEYS = ['rewrite', 'requestHeaders', 'requestBody'] as const;

/**
 * RATE-LIMIT SLOT. The rule's `rateLimit` key, until the rate-limit module supplies its schema:
 * the architect builds the real list with makeRulesSchema(RuleRateLimitSchema). Until then a
 * rateLimit is refused rather than accepted and silently not enforced.
 */
export const ruleRateLimitSlot: z.ZodType = field(
  z.unknown().superRefine((_, ctx) => report(ctx, [], 'rate limits on rules are not available in this version of Fulcrum; remove rateLimit')),
  'A rate limit on the requests this rule matches.',
);

/** A rule whose `rateLimit` key is read by `rateLimit` (the rate-limit module's schema). */
export function makeRuleSchema<R extends z.ZodType>(rateLimit: R) {
  return z
    .strictObject({
      name: field(z.string().regex(NAME_RE).max(64), 'Name of the rule, unique in its list (letters, digits, ".", "_", "-"); logs and metrics refer to it.', {
        noun: 'a rule name',
        allowed: NAME_ALLOWED,
      }),
      match: field(MatchSchema.optional(), `Which requests the rule applies to; every key given must hold. Required: ${MATCH_ALL_HINT}.`, {
        noun: 'a match',
        allowed: `a mapping of conditions such as { host: www.example.com } or { path: { prefix: /static/ } }; ${MATCH_ALL_HINT}`,
      }),
      pool: field(z.string().regex(NAME_RE).max(64).optional(), 'Send matching requests to this pool of real servers instead of the virtual service\'s own. A rule without pool, redirect, respond or deny forwards to the virtual service\'s real servers, with its edits applied.', {
        noun: 'a pool name',
        allowed: NAME_ALLOWED,
      }),
      redirect: field(RedirectSchema.optional(), 'Answer with a redirect: { to: URL, status: 301|302|303|307|308 }.'),
      respond: field(RespondSchema.optional(), 'Answer from Fulcrum itself: { status, headers, body }, e.g. a maintenance page or a health endpoint.'),
      deny: field(DenySchema.optional(), 'Refuse matching requests: true (403), or { status: 4xx|5xx }.', { noun: 'a deny setting', allowed: 'true, or { status: 403 }' }),
      requestHeaders: field(HeaderEditSchema.optional(), 'Edit the request headers sent to the real server: { remove: [Name], replace: [{ name, regex, with }], set: { Name: value }, add: { Name: value } }, applied in that order.'),
      responseHeaders: field(HeaderEditSchema.optional(), 'Edit the response headers sent to the client (also on Fulcrum\'s own redirect, respond and deny answers); same keys as requestHeaders.'),
      rewrite: field(RewriteSchema.optional(), 'Rewrite the path sent to the real server (the client\'s URL is unchanged): one of stripPrefix, replacePrefix, path or regex with with.'),
      requestBody: field(RequestBodySchema.optional(), 'Limits on the request body, e.g. { maxBytes: 1MiB }.'),
      access: field(AccessSchema.optional(), 'Who may use this rule\'s target, by network and country; others get its status (403). Checked after the match, before the action.'),
      rateLimit: rateLimit.optional(),
    })
    .superRefine((rule, ctx) => {
      if (rule.match === undefined) report(ctx, ['match'], `a rule needs match; ${MATCH_ALL_HINT}`);
      const actions = ACTION_KEYS.filter((key) => rule[key] !== undefined);
      if (actions.length > 1) {
        report(ctx, [actions[1]!], `a rule takes one action, and this one has both ${actions[0]} and ${actions[1]}; split it into two rules`);
      }
      const answer = actions.find((key) => key !== 'pool');
      if (answer !== undefined) {
        for (const key of FORWARDING_KEYS) {
          if (rule[key] !== undefined) report(ctx, [key], `has no effect: this rule answers the client itself (${answer}) and forwards nothing; remove ${key}`);
        }
      }
      if (rule.match !== undefined) checkCaptureReferences(rule.match, rule.rewrite, rule.redirect, ctx);
    })
    .transform((rule) => rule as typeof rule & { match: MatchConfig });
}

/** $N in rewrite.path and redirect.to name groups of the match's path regex (see conjunctPathRegex). */
function checkCaptureReferences(match: MatchConfig, rewrite: unknown, redirect: { to: string } | undefined, ctx: z.RefinementCtx): void {
  const source = conjunctPathRegex(match);
  const regex = source === null ? null : compileSafeRegex(source);
  // A refused regex has its own message already.
  if (regex !== null && !regex.ok) return;
  const groups = regex === null ? 0 : groupCount(regex.value);
  const check = (path: (string | number)[], highest: number): void => {
    if (highest === 0 || highest <= groups) return;
    if (source === null) {
      report(ctx, path, `"$${highest}" needs a path regex with capture groups in this rule's match, e.g. match: { path: { regex: "^/api/(.*)$" } }; the regex must be in match itself or in its all list`);
    } else {
      report(ctx, path, `"$${highest}" refers to group ${highest} of the match's path regex ${JSON.stringify(source)}, which has ${groups === 0 ? 'no groups' : groups === 1 ? 'only 1 group' : `only ${groups} groups`}`);
    }
  };
  if (typeof rewrite === 'object' && rewrite !== null && 'path' in rewrite && typeof rewrite.path === 'string') {
    const template = parseTemplate(rewrite.path, 'groups');
    if (template.ok) check(['rewrite', 'path'], highestGroup(template.value));
  }
  if (redirect !== undefined && typeof redirect.to === 'string') {
    const target = parseRedirectTarget(redirect.to);
    if (target.ok) check(['redirect', 'to'], highestGroup(target.value.rest));
  }
}

/** The ordered rule list: the first rule whose match holds applies. Names must be unique. */
export function makeRulesSchema<R extends z.ZodType>(rateLimit: R) {
  return field(
    z.array(makeRuleSchema(rateLimit)).superRefine((rules, ctx) => {
      const first = new Map<string, number>();
      rules.forEach((rule, index) => {
        if (typeof rule?.name !== 'string') return;
        const earlier = first.get(rule.name);
        if (earlier === undefined) first.set(rule.name, index);
        else report(ctx, [index, 'name'], `rule name "${rule.name}" is already used by the rule at index ${earlier}; names must be unique in the list`);
      });
    }),
    'Content rules, tried in order: the first whose match holds decides what happens to the request (its pool, redirect, answer or refusal, and its edits). Requests no rule matches go to the virtual service\'s real servers.',
  );
}

export const RuleSchema = makeRuleSchema(ruleRateLimitSlot);
export const RulesSchema = makeRulesSchema(ruleRateLimitSlot);

export type RuleConfig = z.output<typeof RuleSchema>;
/** A rule whose rateLimit is read by schema R. */
export type RuleConfigWith<R extends z.ZodType> = z.output<ReturnType<typeof makeRuleSchema<R>>>;
