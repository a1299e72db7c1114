/**
 * What a content rule does once its match holds: the schemas of its answer (redirect, respond,
 * deny), its header edits, its path rewrite, its body limit and its access list. rules.ts puts
 * them together into a rule and checks the combinations.
 */
import { z } from 'zod';
import { compileSafeRegex, groupCount } from '../rules/regex.ts';
import { parseTemplate, highestGroup } from '../rules/template.ts';
import type { PathSegment } from './problem.ts';
import { parseRedirectTarget } from './redirect-target.ts';
import { cidrList, countryList } from './rule-match.ts';
import { editableHeaderProblem, headerValueProblem, report, reportFailure, scalarText } from './rule-fields.ts';
import { field, parsedString } from './schema-builders.ts';
import { parseSize, SIZE_ALLOWED, SIZE_PATTERN } from './size.ts';

/** A respond body is held in every worker and sent whole; 64 KiB is plenty for a maintenance page. */
export const MAX_RESPOND_BODY_BYTES = 65_536;

/** Characters of a path Fulcrum writes: no space, control character, "?" or "#" (which would start a query or fragment). */
const PATH_TEXT_RE = /^[\x21-\x7e]*$/;

function pathTextProblem(text: string): string | null {
  if (!PATH_TEXT_RE.test(text)) return `${JSON.stringify(text)} contains a space, control or non-ASCII character; percent-encode it (a space is %20)`;
  if (/[?#]/.test(text)) return `${JSON.stringify(text)} contains "?" or "#"; a rewrite changes the path only, and the query string is kept as the client sent it`;
  return null;
}

// ---- header edits ----------------------------------------------------------------------------

const headerValues = z.record(z.string(), scalarText);

const HeaderReplaceSchema = z.strictObject({
  name: field(z.string(), 'The header whose values are rewritten (any case).'),
  regex: field(z.string(), 'A regular expression; the first part of each value it matches is replaced.'),
  with: field(scalarText, 'The replacement; $1..$9 are the groups of regex.'),
});

export interface HeaderEditConfig {
  remove: string[];
  replace: { name: string; regex: string; with: string }[];
  set: Record<string, string>;
  add: Record<string, string>;
}

export const HeaderEditSchema = z
  .strictObject({
    remove: field(z.array(z.string()).optional(), 'Header names to remove (every field of each name).'),
    replace: field(z.array(HeaderReplaceSchema).optional(), 'Rewrite the values of a header: [{ name, regex, with }]; values the regex does not match are left alone.'),
    set: field(headerValues.optional(), 'Headers to set, { Name: value }: every field of that name is replaced by one with this value.'),
    add: field(headerValues.optional(), 'Headers to add, { Name: value }, after any of the same name.'),
  })
  .transform((spec, ctx): HeaderEditConfig => {
    const edits: HeaderEditConfig = { remove: spec.remove ?? [], replace: spec.replace ?? [], set: spec.set ?? {}, add: spec.add ?? {} };
    if (edits.remove.length + edits.replace.length + Object.keys(edits.set).length + Object.keys(edits.add).length === 0) {
      report(ctx, [], 'lists no edits; give remove, replace, set or add, or leave the key out');
    }
    edits.remove.forEach((name, i) => checkName(ctx, ['remove', i], name) || checkNotHost(ctx, ['remove', i], name, 'removed'));
    edits.replace.forEach((replace, i) => {
      checkName(ctx, ['replace', i, 'name'], replace.name);
      const regex = compileSafeRegex(replace.regex);
      if (!regex.ok) reportFailure(ctx, ['replace', i, 'regex'], replace.regex, regex);
      checkGroupTemplate(ctx, ['replace', i, 'with'], replace.with, regex.ok ? groupCount(regex.value) : null, 'regex');
      const value = headerValueProblem(replace.name, replace.with);
      if (value !== null) report(ctx, ['replace', i, 'with'], value);
    });
    for (const key of ['set', 'add'] as const) checkHeaderMap(ctx, [key], edits[key]);
    for (const name of Object.keys(edits.add)) checkNotHost(ctx, ['add', name], name, 'added');
    return edits;
  });

/** Reports a header a rule may not edit; true when it did. */
function checkName(ctx: z.RefinementCtx, path: PathSegment[], name: string): boolean {
  const problem = editableHeaderProblem(name);
  if (problem !== null) report(ctx, path, problem);
  return problem !== null;
}

/** An HTTP/1.1 request carries exactly one Host (RFC 9112 §3.2): a rule may set it, not remove or add one. */
function checkNotHost(ctx: z.RefinementCtx, path: PathSegment[], name: string, verb: 'removed' | 'added'): void {
  if (name.toLowerCase() !== 'host') return;
  report(ctx, path, `Host cannot be ${verb} by a rule: an HTTP/1.1 request carries exactly one Host field (RFC 9112 §3.2); use set: { Host: NAME } to send another`);
}

function checkHeaderMap(ctx: z.RefinementCtx, path: PathSegment[], headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) {
    const problem = editableHeaderProblem(name) ?? headerValueProblem(name, value);
    if (problem !== null) report(ctx, [...path, name], problem);
  }
}

/**
 * `text` may use $1..$9 up to `groups` (null: the regex is already refused, say nothing more).
 * `owner` names the regex the groups come from, for the message.
 */
export function checkGroupTemplate(ctx: z.RefinementCtx, path: PathSegment[], text: string, groups: number | null, owner: string): void {
  const template = parseTemplate(text, 'groups');
  if (!template.ok) {
    reportFailure(ctx, path, text, template);
    return;
  }
  const highest = highestGroup(template.value);
  if (groups !== null && highest > groups) {
    report(ctx, path, `"$${highest}" refers to group ${highest} of ${owner}, which has ${groups === 0 ? 'no groups' : groups === 1 ? 'only 1 group' : `only ${groups} groups`}`);
  }
}

// ---- rewrite ---------------------------------------------------------------------------------

export type RewriteConfig =
  | { stripPrefix: string }
  | { replacePrefix: { from: string; to: string } }
  | { path: string }
  | { regex: string; with: string };

const REWRITE_KINDS = ['stripPrefix', 'replacePrefix', 'path', 'regex'] as const;

export const RewriteSchema = z
  .strictObject({
    stripPrefix: field(z.string().optional(), 'Remove this prefix from the path: /static turns /static/app.js into /app.js, and /static into /. It applies at a "/" boundary only (/staticky is left alone).'),
    replacePrefix: field(
      z
        .strictObject({
          from: field(z.string(), 'The prefix to replace, starting with "/".'),
          to: field(z.string(), 'What replaces it, starting with "/".'),
        })
        .optional(),
      'Replace a path prefix: { from: /old, to: /new } turns /old/x into /new/x (at a "/" boundary, as stripPrefix).',
    ),
    path: field(z.string().optional(), 'A new path, where $1..$9 are the groups of the path regex in the rule\'s match, e.g. "/v1/$1" with match: { path: { regex: "^/api/v1/(.*)$" } }.'),
    regex: field(z.string().optional(), 'With with: replace the first part of the path this regular expression matches.'),
    with: field(z.string().optional(), 'With regex: the replacement, where $1..$9 are the groups of regex.'),
  })
  .transform((spec, ctx): RewriteConfig => {
    const given = REWRITE_KINDS.filter((kind) => spec[kind] !== undefined);
    if (given.length !== 1) {
      const message = given.length === 0 ? 'write one of stripPrefix, replacePrefix, path, or regex with with' : `write one kind of rewrite, not both ${given[0]} and ${given[1]}`;
      report(ctx, given.length === 0 ? [] : [given[1]!], message);
      return { path: '/' };
    }
    if (spec.with !== undefined && spec.regex === undefined) report(ctx, ['with'], 'with goes with regex: { regex: "...", with: "..." }');
    const checkPath = (path: PathSegment[], text: string, mustStartWithSlash: boolean): void => {
      const problem = pathTextProblem(text);
      if (problem !== null) report(ctx, path, problem);
      else if (mustStartWithSlash && !text.startsWith('/')) reportFailure(ctx, path, text, { message: `${JSON.stringify(text)} does not start with "/"; write "/${text}"`, suggestion: `/${text}` });
    };
    if (spec.stripPrefix !== undefined) {
      checkPath(['stripPrefix'], spec.stripPrefix, true);
      return { stripPrefix: spec.stripPrefix };
    }
    if (spec.replacePrefix !== undefined) {
      checkPath(['replacePrefix', 'from'], spec.replacePrefix.from, true);
      checkPath(['replacePrefix', 'to'], spec.replacePrefix.to, true);
      return { replacePrefix: spec.replacePrefix };
    }
    if (spec.path !== undefined) {
      // $N against the match's path regex is checked by the rule, which sees both.
      checkPath(['path'], spec.path, true);
      const template = parseTemplate(spec.path, 'groups');
      if (!template.ok) reportFailure(ctx, ['path'], spec.path, template);
      return { path: spec.path };
    }
    const regex = compileSafeRegex(spec.regex!);
    if (!regex.ok) reportFailure(ctx, ['regex'], spec.regex, regex);
    if (spec.with === undefined) {
      report(ctx, [], 'regex needs with, the replacement: { regex: "^/old/(.*)$", with: "/new/$1" }');
      return { regex: spec.regex!, with: '' };
    }
    checkPath(['with'], spec.with, false);
    checkGroupTemplate(ctx, ['with'], spec.with, regex.ok ? groupCount(regex.value) : null, 'the rewrite regex');
    return { regex: spec.regex!, with: spec.with };
  });

// ---- answers: redirect, respond, deny --------------------------------------------------------

export const REDIRECT_STATUSES = [301, 302, 303, 307, 308] as const;

export const RedirectSchema = z.strictObject({
  to: field(
    parsedString((text) => {
      const target = parseRedirectTarget(text);
      return target.ok ? { ok: true, value: target.value.url } : target;
    }),
    'Where to send the client: an absolute http:// or https:// URL. $host (the host asked for, as the whole host), $path, $query and $1..$9 (the groups of the match\'s path regex) are replaced; "?$query" is left out when the request had no query. E.g. "https://$host$path?$query" moves clients to HTTPS.',
    { noun: 'a redirect URL', allowed: 'an absolute URL such as https://www.example.com/new or https://$host$path' },
  ),
  status: field(
    z.literal(REDIRECT_STATUSES).default(302),
    '301 or 308: moved for good (browsers cache it); 302 or 307: for now; 303: see other (the client follows with GET). 307 and 308 keep the method and body; 301 and 302 let clients switch POST to GET.',
    { noun: 'a redirect status', allowed: '301, 302, 303, 307 or 308' },
  ),
});

export const RespondSchema = z
  .strictObject({
    status: field(z.int().min(200).max(599).default(200), 'The status of the answer.'),
    headers: field(headerValues.default({}), 'Headers of the answer, { Name: value }. Content-Type defaults to text/plain; charset=utf-8 when there is a body.'),
    body: field(z.string().default(''), 'The body of the answer (UTF-8 text, at most 64 KiB).'),
  })
  .superRefine((respond, ctx) => {
    checkHeaderMap(ctx, ['headers'], respond.headers);
    const bytes = Buffer.byteLength(respond.body, 'utf8');
    if (bytes > MAX_RESPOND_BODY_BYTES) {
      report(ctx, ['body'], `the body is ${bytes} bytes; the limit is ${MAX_RESPOND_BODY_BYTES} (64 KiB). Serve larger content from a real server`);
    }
    if (bytes > 0 && (respond.status === 204 || respond.status === 304)) {
      report(ctx, ['body'], `a ${respond.status} answer has no body; remove body or use another status`);
    }
  });

export const DenySchema = z.union([
  field(z.literal(true), 'Refuse with 403 Forbidden.').transform(() => ({ status: 403 })),
  z.strictObject({ status: field(z.int().min(400).max(599).default(403), 'The status of the refusal (4xx or 5xx).') }),
]);

export type RedirectConfig = z.output<typeof RedirectSchema>;
export type RespondConfig = z.output<typeof RespondSchema>;
export type DenyConfig = z.output<typeof DenySchema>;
export type RequestBodyConfig = z.output<typeof RequestBodySchema>;

// ---- access, request body --------------------------------------------------------------------

export const AccessSchema = z
  .strictObject({
    allow: field(cidrList.optional(), 'Networks (CIDR) whose clients are let in; with any allow list, clients in none of them are refused.'),
    deny: field(cidrList.optional(), 'Networks (CIDR) whose clients are refused, even when an allow list also names them.'),
    allowCountries: field(countryList.optional(), 'Countries (ISO codes such as DE) whose clients are let in; needs a GeoIP database. Clients whose country is unknown are in none.'),
    denyCountries: field(countryList.optional(), 'Countries whose clients are refused, even when an allow list also names them.'),
    status: field(z.int().min(400).max(599).default(403), 'The status of the refusal (4xx or 5xx).'),
  })
  .superRefine((access, ctx) => {
    if (access.allow === undefined && access.deny === undefined && access.allowCountries === undefined && access.denyCountries === undefined) {
      report(ctx, [], 'lists no one; give allow, deny, allowCountries or denyCountries');
    }
  });

export type AccessConfig = z.output<typeof AccessSchema>;

export const RequestBodySchema = z.strictObject({
  maxBytes: field(
    z.union([z.int().min(0).max(2 ** 40), parsedString(parseSize, SIZE_PATTERN)]),
    'The largest request body accepted, in bytes or with a unit (512KiB, 1MiB); a larger one is answered 413 Content Too Large. 0 accepts no body.',
    { noun: 'a size', allowed: SIZE_ALLOWED },
  ),
});
