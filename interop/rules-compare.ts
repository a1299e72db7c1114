/**
 * What the rules differential test compares of one request, and the report of the divergences:
 * grouped by class (the fields that differ and the rule HAProxy applied), one example each: the
 * shortest request of the class, which the test then shrinks (rules-shrink.ts).
 *
 * Compared: whether an answer came at all, its status, which pool answered, Location, the
 * target and the rule-edited request headers the real server got, the rule-edited response
 * headers the client got, and the body and Content-Type of a rule's own answer. Not compared,
 * because the two products write them differently by design: X-Forwarded-*, Via, Date,
 * Connection, Content-Length, the Cache-Control and Content-Type and body of a refusal (each
 * writes its own error page) and Cache-Control on any answer the proxy wrote itself.
 */
import { readEcho } from './echo-pools.ts';
import type { RawOutcome } from './raw-http.ts';
import { HAPROXY_RULE_HEADER } from './rules-haproxy.ts';
import { DENY_STATUSES, EDITED_REQUEST_HEADERS, EDITED_RESPONSE_HEADERS } from './rules-fulcrum.ts';
import { describeRequest, type GeneratedRequest } from './rules-requests.ts';

export interface Observation {
  /** The status, or "no answer: REASON" when the connection closed without one. */
  answer: number | string;
  /** The pool whose echo server answered; null for an answer the proxy wrote itself. */
  pool: string | null;
  location: string | null;
  /** What the real server got: request-target, then each rule-edited header's values in order. */
  upstreamTarget: string | null;
  upstreamHeaders: Record<string, string[]> | null;
  responseHeaders: Record<string, string[]>;
  /** The body and Content-Type of a proxy's own answer that is not a refusal (respond, redirect). */
  ownAnswer: { contentType: string | null; body: string } | null;
}

/** Compared field by field; `rule` is HAProxy's diagnostic header, never compared. */
export function observe(outcome: RawOutcome): { observation: Observation; rule: string } {
  if (outcome.kind === 'closed') {
    return {
      observation: { answer: `no answer: ${outcome.reason}`, pool: null, location: null, upstreamTarget: null, upstreamHeaders: null, responseHeaders: {}, ownAnswer: null },
      rule: 'none',
    };
  }
  const { status, headers, body } = outcome.response;
  const values = (name: string): string[] => headers.filter(([n]) => n === name).map(([, v]) => v);
  const echo = readEcho(headers);
  const own = echo === null;
  const refusal = own && DENY_STATUSES.has(status);
  const responseHeaders: Record<string, string[]> = {};
  for (const name of EDITED_RESPONSE_HEADERS) {
    if (own && name === 'cache-control') continue;
    responseHeaders[name] = values(name);
  }
  let upstreamHeaders: Record<string, string[]> | null = null;
  if (echo !== null) {
    upstreamHeaders = {};
    for (const name of EDITED_REQUEST_HEADERS) upstreamHeaders[name] = echo.headers.filter(([n]) => n === name).map(([, v]) => v);
  }
  return {
    observation: {
      answer: status,
      pool: echo?.pool ?? null,
      location: values('location')[0] ?? null,
      upstreamTarget: echo?.target ?? null,
      upstreamHeaders,
      responseHeaders,
      ownAnswer: own && !refusal ? { contentType: values('content-type')[0] ?? null, body: body.toString('utf8') } : null,
    },
    rule: values(HAPROXY_RULE_HEADER)[0] ?? 'none',
  };
}

export interface Difference {
  field: string;
  fulcrum: unknown;
  haproxy: unknown;
}

export function differences(fulcrum: Observation, haproxy: Observation): Difference[] {
  const found: Difference[] = [];
  const check = (field: string, a: unknown, b: unknown): void => {
    if (JSON.stringify(a) !== JSON.stringify(b)) found.push({ field, fulcrum: a, haproxy: b });
  };
  check('answer', fulcrum.answer, haproxy.answer);
  check('pool', fulcrum.pool, haproxy.pool);
  check('location', fulcrum.location, haproxy.location);
  check('upstream target', fulcrum.upstreamTarget, haproxy.upstreamTarget);
  // Header by header, so that a class names the header; only when both reached a real server
  // (otherwise the pool difference says it all).
  if (fulcrum.upstreamHeaders !== null && haproxy.upstreamHeaders !== null) {
    for (const name of EDITED_REQUEST_HEADERS) check(`upstream ${name}`, fulcrum.upstreamHeaders[name], haproxy.upstreamHeaders[name]);
  }
  for (const name of EDITED_RESPONSE_HEADERS) {
    if (name in fulcrum.responseHeaders && name in haproxy.responseHeaders) check(`response ${name}`, fulcrum.responseHeaders[name], haproxy.responseHeaders[name]);
  }
  check('own answer', fulcrum.ownAnswer, haproxy.ownAnswer);
  return found;
}

export interface DivergenceClass {
  key: string;
  count: number;
  example: GeneratedRequest;
  differences: Difference[];
}

/** The class of a divergence: the fields that differ and the rule HAProxy applied. */
export function classKey(found: readonly Difference[], haproxyRule: string): string {
  return `${found.map((d) => d.field).join(', ')} (HAProxy applied rule: ${haproxyRule})`;
}

/** Divergences grouped by class, each with its shortest request (or a smaller one found later). */
export class DivergenceReport {
  readonly #classes = new Map<string, DivergenceClass>();
  #total = 0;

  add(request: GeneratedRequest, found: Difference[], haproxyRule: string): void {
    if (found.length === 0) return;
    this.#total++;
    const key = classKey(found, haproxyRule);
    const known = this.#classes.get(key);
    if (known === undefined) {
      this.#classes.set(key, { key, count: 1, example: request, differences: found });
      return;
    }
    known.count++;
    if (describeRequest(request).length < describeRequest(known.example).length) {
      known.example = request;
      known.differences = found;
    }
  }

  get total(): number {
    return this.#total;
  }

  get classes(): DivergenceClass[] {
    return [...this.#classes.values()].sort((a, b) => b.count - a.count);
  }

  format(): string {
    const classes = this.classes;
    const lines = [`${this.#total} requests diverged, in ${classes.length} classes:`];
    classes.forEach((c, i) => {
      lines.push(``, `${i + 1}. ${c.key}: ${c.count} requests. Minimal example (from #${c.example.index}):`, `   ${describeRequest(c.example)}`);
      for (const d of c.differences) lines.push(`   ${d.field}: Fulcrum ${JSON.stringify(d.fulcrum)}, HAProxy ${JSON.stringify(d.haproxy)}`);
    });
    return lines.join('\n');
  }
}
