/**
 * Small pieces the content-rule schemas share: "one value or a list", a user regular
 * expression, header names and values. Each checks in a transform and reports at the offending
 * element (rules[2].match.host[1]), not as a failed union, so the message reaches its YAML line.
 */
import { z } from 'zod';
import { compileSafeRegex } from '../rules/regex.ts';
import type { ParseResult, PathSegment } from './problem.ts';

/** RFC 9110 token: header names and methods. */
export const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Field values Fulcrum writes: visible ASCII, space and tab (no CR or LF, which would inject fields). */
const FIELD_VALUE_RE = /^[\x20-\x7e\t]*$/;

/** Report `result`'s failure at `path` (relative to the value being transformed). */
export function reportFailure(ctx: z.RefinementCtx, path: PathSegment[], input: unknown, result: { message: string; suggestion?: string }): void {
  ctx.addIssue({ code: 'custom', path, message: result.message, input, params: { suggestion: result.suggestion } });
}

/** Report a plain message at `path`. */
export function report(ctx: z.RefinementCtx, path: PathSegment[], message: string): void {
  ctx.addIssue({ code: 'custom', path, message, input: undefined });
}

/**
 * One string or a non-empty list of them, each read by `parse`; the output is always a list.
 * YAML numbers are taken as their text (a port-less "80" is still a string to the parser).
 */
export function oneOrMany<T>(parse: (text: string) => ParseResult<T>) {
  const item = z.union([z.string(), z.number()]);
  return z.union([item, z.array(item).min(1)]).transform((value, ctx): T[] => {
    const list = Array.isArray(value) ? value : [value];
    const out: T[] = [];
    list.forEach((entry, index) => {
      const result = parse(String(entry));
      if (result.ok) out.push(result.value);
      else reportFailure(ctx, Array.isArray(value) ? [index] : [], entry, result);
    });
    return out;
  });
}

/** A scalar YAML may type as a number or boolean (`equals: 1`), taken as its text. */
export const scalarText = z.union([z.string(), z.number(), z.boolean()]).transform(String);

/** The source of a regular expression that compileSafeRegex accepts, or a failure to report. */
export function parseRegexSource(text: string): ParseResult<string> {
  const result = compileSafeRegex(text);
  return result.ok ? { ok: true, value: text } : result;
}

/** null when `name` is a valid header name, else the message. */
export function headerNameProblem(name: string): string | null {
  if (TOKEN_RE.test(name)) return null;
  return `${JSON.stringify(name)} is not a valid header name (letters, digits and !#$%&'*+.^_\`|~-)`;
}

/** null when `value` may be written as a header value, else the message. */
export function headerValueProblem(name: string, value: string): string | null {
  if (FIELD_VALUE_RE.test(value)) return null;
  return /[\r\n]/.test(value)
    ? `the value of header ${JSON.stringify(name)} contains a line break, which would start a new header field`
    : `the value of header ${JSON.stringify(name)} contains a control or non-ASCII character; header values are visible ASCII, spaces and tabs`;
}

/**
 * Header fields no rule may add, set, remove or rewrite, and why: they describe the message's
 * framing or one connection, which Fulcrum manages itself on each side. A rule that changed
 * Content-Length or Transfer-Encoding could make the two ends disagree about where a message
 * ends (request smuggling).
 */
export const MANAGED_HEADERS: Readonly<Record<string, string>> = {
  'content-length': 'Content-Length is framing: Fulcrum computes it for the body it sends',
  'transfer-encoding': 'Transfer-Encoding is framing: Fulcrum chooses it for each connection',
  connection: 'Connection is hop-by-hop: it applies to one connection and Fulcrum sets it per connection',
  'keep-alive': 'Keep-Alive is hop-by-hop: it applies to one connection and Fulcrum manages reuse itself',
  'proxy-connection': 'Proxy-Connection is hop-by-hop: it applies to one connection and Fulcrum removes it',
  te: 'TE is hop-by-hop: it applies to one connection',
  trailer: 'Trailer is framing: it announces fields after a chunked body',
  upgrade: 'Upgrade is hop-by-hop: Fulcrum handles protocol upgrades (WebSocket) itself',
};

/** null when a rule may edit header `name`, else the message (name syntax first). */
export function editableHeaderProblem(name: string): string | null {
  const syntax = headerNameProblem(name);
  if (syntax !== null) return syntax;
  const managed = MANAGED_HEADERS[name.toLowerCase()];
  return managed === undefined ? null : `header ${JSON.stringify(name)} cannot be edited by a rule: ${managed}`;
}
