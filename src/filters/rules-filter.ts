/**
 * A virtual service's content rules as a filter: the first rule whose match holds decides. In
 * order: the rule's access list, its rate limits, then its action: a redirect, an answer of our
 * own or a refusal end the exchange here; otherwise it routes (its pool, or the virtual
 * service's) with its path rewrite and header edits, and its body limit watches the body.
 *
 * Everything a rule needs is compiled once per config (src/rules): the matcher's maps and
 * tries, each rule's pool object, its edits. Per request, one match over every rule (no
 * allocation per rule) and the strings the chosen rule's action needs.
 */
import type { HttpServiceConfig } from '../config/schema.ts';
import type { RuleConfig } from '../config/rules.ts';
import type { Exchange } from '../exchange/exchange.ts';
import { FilterStatus, type HttpFilter } from '../exchange/filter.ts';
import type { HeaderEdits } from '../exchange/headers.ts';
import { Termination } from '../exchange/termination.ts';
import { BodyKind } from '../http/request-head.ts';
import type { LimitClient } from '../limits/index.ts';
import type { Pool } from '../pool/pool.ts';
import type { PoolSet } from '../pool/pool-set.ts';
import { applyHeaderEdits, redirectLocation, rewritePath, type HeaderEditPlan } from '../rules/actions.ts';
import { createCaptures } from '../rules/captures.ts';
import { compileRules, type CompiledRule, type CompiledRuleSet } from '../rules/compile-rules.ts';
import type { Captures } from '../rules/types.ts';
import { refuse } from './access-filter.ts';
import { AnswerHeaders } from './answer-headers.ts';
import { RequestLimits } from './request-limits.ts';

/** A compiled rule with what it needs at run time resolved against this worker's objects. */
interface RunRule {
  readonly rule: CompiledRule;
  readonly pool: Pool | null;
  readonly limits: RequestLimits | null;
  readonly requestEdits: HeaderEdits | null;
  readonly responseEdits: HeaderEdits | null;
}

/** What a rule decided before its limits ran: the strings that needed the match's captures. */
interface Decision {
  readonly run: RunRule;
  readonly location: string | null;
  readonly target: string | null;
}

export class RulesFilter implements HttpFilter {
  readonly name = 'rules';
  readonly #set: CompiledRuleSet;
  readonly #rules: readonly RunRule[];
  /** Hits per rule, by index; shared with the worker's stats (and kept across reloads by name). */
  readonly #hits: Map<string, number>;
  /** Reused for every match: matching is synchronous, and the strings are taken before any pause. */
  readonly #captures: Captures = createCaptures();
  /** Some rule limits the body: the chain needs a BodyLimitFilter too. */
  readonly watchesBody: boolean;

  constructor(config: HttpServiceConfig, pools: PoolSet, limits: LimitClient, hits: Map<string, number>) {
    this.#set = compileRules(config.rules as RuleConfig[]);
    this.#hits = hits;
    const status = config.rateLimit?.status ?? 429;
    this.#rules = this.#set.rules.map((rule): RunRule => {
      const rateLimit = (rule.config as { rateLimit?: { perClient: null; perHeader: null } | undefined }).rateLimit;
      const ruleLimits = rateLimit === undefined ? null : new RequestLimits(limits, `${config.name}/rule/${rule.name}`, rateLimit, status);
      return {
        rule,
        pool: rule.action.kind === 'forward' && rule.action.pool !== null ? pools.require(rule.action.pool) : null,
        limits: ruleLimits,
        requestEdits: edits(rule.requestHeaders),
        responseEdits: edits(rule.responseHeaders),
      };
    });
    this.watchesBody = this.#set.rules.some((rule) => rule.maxRequestBodyBytes !== null);
  }

  onRequestHeaders(ex: Exchange): FilterStatus {
    const input = ex.input();
    const captures = this.#captures;
    const found = this.#set.find(input, captures);
    // The rules saw the normalised path: the real server gets that path too.
    const normalized = normalizedTarget(ex);
    if (found === null) {
      if (normalized !== null) ex.rewrittenTarget = normalized;
      return FilterStatus.CONTINUE;
    }
    const run = this.#rules[found.index]!;
    ex.rule = found.index;
    ex.ruleName = found.name;
    this.#hits.set(found.name, (this.#hits.get(found.name) ?? 0) + 1);
    const action = found.action;
    const decision: Decision = {
      run,
      location: action.kind === 'redirect' ? redirectLocation(action.redirect, input, captures) : null,
      target:
        action.kind === 'forward' && found.rewrite !== null
          ? rewritePath(found.rewrite, input.path, captures) + searchOf(ex)
          : normalized,
    };
    if (found.access !== null && !found.access.allows(input)) {
      refuse(ex, found.access.status, `the access list of rule "${found.name}"`);
      return FilterStatus.STOP;
    }
    if (run.limits !== null && run.limits.check(ex, (later) => this.#applyThenResume(later, decision)) !== FilterStatus.CONTINUE) return FilterStatus.STOP;
    return this.#apply(ex, decision);
  }

  #applyThenResume(ex: Exchange, decision: Decision): void {
    if (this.#apply(ex, decision) === FilterStatus.CONTINUE) ex.resume();
  }

  /** The rule's action: answer here (STOP), or route and edit (CONTINUE). */
  #apply(ex: Exchange, { run, location, target }: Decision): FilterStatus {
    const rule = run.rule;
    const action = rule.action;
    switch (action.kind) {
      case 'redirect':
        // "https:///a" would send the client nowhere: without a host there is nothing to say.
        if (action.redirect.needsHost && ex.input().host === '') {
          ex.fail(Termination.CLIENT_BAD_REQUEST, `rule "${rule.name}" redirects to $host and the request names no host`, false, 400);
          return FilterStatus.STOP;
        }
        this.#answer(ex, run, action.redirect.status, [['Location', location!]], Buffer.alloc(0), Termination.REDIRECTED);
        return FilterStatus.STOP;
      case 'respond':
        this.#answer(ex, run, action.respond.status, action.respond.headers, action.respond.body, Termination.ANSWERED);
        return FilterStatus.STOP;
      case 'deny': {
        const answer = ex.errorAnswer(action.status, 'access denied');
        this.#answer(ex, run, action.status, answer.headers, answer.body, Termination.DENIED, `refused by rule "${rule.name}"`);
        return FilterStatus.STOP;
      }
      case 'forward':
        break;
    }
    if (run.pool !== null) ex.pool = run.pool;
    if (target !== null) ex.rewrittenTarget = target;
    ex.requestEdits = run.requestEdits;
    ex.responseEdits = run.responseEdits;
    const max = rule.maxRequestBodyBytes;
    if (max !== null) {
      const head = ex.head;
      // A chunked body is counted as its payload, which may have come with the head already.
      if ((head.bodyKind === BodyKind.LENGTH && head.contentLength > max) || ex.bodyBytes > max) {
        ex.fail(Termination.REQUEST_TOO_LARGE, `a body of ${head.bodyKind === BodyKind.LENGTH ? head.contentLength : `more than ${ex.bodyBytes}`} bytes is over rule "${rule.name}"'s requestBody.maxBytes (${max})`, true, 413);
        return FilterStatus.STOP;
      }
      ex.maxBodyBytes = max;
    }
    return FilterStatus.CONTINUE;
  }

  #answer(ex: Exchange, run: RunRule, status: number, headers: ReadonlyArray<readonly [string, string]>, body: Buffer, termination: Termination, detail = ''): void {
    let list = headers;
    if (run.responseEdits !== null) {
      const editable = new AnswerHeaders(headers);
      run.responseEdits.apply(editable);
      list = editable.list;
    }
    ex.answer(status, list, body, termination, detail);
  }
}

/** Holds a request body to the matched rule's requestBody.maxBytes: its payload, chunk framing not counted. */
export class BodyLimitFilter implements HttpFilter {
  readonly name = 'body-limit';

  onRequestBody(ex: Exchange): FilterStatus {
    if (ex.maxBodyBytes < 0 || ex.bodyBytes <= ex.maxBodyBytes) return FilterStatus.CONTINUE;
    ex.fail(Termination.REQUEST_TOO_LARGE, `the body passed ${ex.maxBodyBytes} bytes, rule "${ex.ruleName}"'s requestBody.maxBytes`, true, 413);
    return FilterStatus.STOP;
  }
}

function edits(plan: HeaderEditPlan | null): HeaderEdits | null {
  return plan === null ? null : { apply: (headers) => applyHeaderEdits(headers, plan) };
}

/**
 * The target's `?query` as sent, '' when it has no '?'. A bare '?' stays: `/a?` and `/a` are
 * different targets to a cache or an application (RFC 3986 6.2.3), and HAProxy keeps it too.
 */
function searchOf(ex: Exchange): string {
  const head = ex.head;
  const buf = head.buf;
  let q = head.originStart;
  while (q < head.targetEnd && buf[q] !== 0x3f /* ? */ && buf[q] !== 0x23 /* # */) q++;
  if (q === head.targetEnd || buf[q] !== 0x3f) return '';
  let end = q + 1;
  while (end < head.targetEnd && buf[end] !== 0x23) end++;
  return buf.toString('latin1', q, end);
}

/**
 * The target to forward when the path as sent differs from the normalised one rules matched
 * (`/%61dmin`, `/a/../b`); null when it is already normal (the common case: one byte scan).
 */
function normalizedTarget(ex: Exchange): string | null {
  const head = ex.head;
  const buf = head.buf;
  let suspicious = false;
  for (let i = head.originStart; i < head.targetEnd; i++) {
    const b = buf[i]!;
    if (b === 0x3f /* ? */ || b === 0x23 /* # */) break;
    if (b === 0x25 /* % */ || ((b === 0x2e /* . */ || b === 0x2f) && buf[i - 1] === 0x2f /* / */)) {
      suspicious = true;
      break;
    }
  }
  if (!suspicious) return null;
  const input = ex.input() as { rawPath?: string; path: string };
  return input.path === input.rawPath ? null : input.path + searchOf(ex);
}
