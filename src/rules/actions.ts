/**
 * What a matched rule does to a request, compiled once at config load: the Location of a
 * redirect, the rewritten path, the header edits, Fulcrum's own answer. Pure functions over the
 * request's values and the rule's captures; the exchange does the I/O.
 */
import type { HeaderEditConfig, RewriteConfig } from '../config/rule-actions.ts';
import { TemplateVar, expandTemplate, expandWithMatch, parseTemplate, usesVar, type Template } from './template.ts';
import type { Captures, MatchInput, MutableHeaders } from './types.ts';

// ---- redirect ----------------------------------------------------------------------------------

export interface CompiledRedirect {
  readonly status: number;
  readonly target: Template;
  /** The target uses $host: a request that names no host (HTTP/1.0 without Host) cannot be redirected. */
  readonly needsHost: boolean;
}

export function compileRedirect(config: { to: string; status: number }): CompiledRedirect {
  const target = validTemplate(config.to, 'url');
  return { status: config.status, target, needsHost: usesVar(target, TemplateVar.HOST) };
}

/** The Location for this request: $host, $path, $query and $1..$9 replaced. */
export function redirectLocation(redirect: CompiledRedirect, input: MatchInput, captures: Captures): string {
  return expandTemplate(redirect.target, input, captures);
}

// ---- rewrite -----------------------------------------------------------------------------------

export type CompiledRewrite =
  | { readonly kind: 'stripPrefix'; readonly prefix: string }
  | { readonly kind: 'replacePrefix'; readonly from: string; readonly to: string }
  | { readonly kind: 'path'; readonly template: Template }
  | { readonly kind: 'regex'; readonly regex: RegExp; readonly replacement: Template };

export function compileRewrite(config: RewriteConfig): CompiledRewrite {
  if ('stripPrefix' in config) return { kind: 'stripPrefix', prefix: config.stripPrefix };
  if ('replacePrefix' in config) return { kind: 'replacePrefix', ...config.replacePrefix };
  if ('path' in config) return { kind: 'path', template: validTemplate(config.path, 'groups') };
  return { kind: 'regex', regex: new RegExp(config.regex), replacement: validTemplate(config.with, 'groups') };
}

/**
 * The path to send upstream (the query string is not part of it and stays as it was). The result
 * always starts with "/"; "*" (OPTIONS *) is never rewritten.
 */
export function rewritePath(rewrite: CompiledRewrite, path: string, captures: Captures): string {
  if (path === '*') return path;
  switch (rewrite.kind) {
    case 'stripPrefix': {
      const rest = restAfterPrefix(path, rewrite.prefix);
      return rest === null ? path : rest;
    }
    case 'replacePrefix': {
      if (path === rewrite.from) return rewrite.to;
      const rest = restAfterPrefix(path, rewrite.from);
      if (rest === null) return path;
      return rewrite.to.endsWith('/') ? rewrite.to + rest.slice(1) : rewrite.to + rest;
    }
    case 'path':
      return rooted(expandTemplate(rewrite.template, null, captures));
    case 'regex': {
      const found = rewrite.regex.exec(path);
      if (found === null) return path;
      return rooted(path.slice(0, found.index) + expandWithMatch(rewrite.replacement, found) + path.slice(found.index + found[0].length));
    }
  }
}

/**
 * What is left of `path` after `prefix`, with its leading "/" ("/" when nothing is left), or
 * null when the prefix does not apply. It applies at a "/" boundary: "/static" strips
 * "/static" and "/static/x", not "/staticky"; a prefix ending in "/" applies to what follows it.
 */
function restAfterPrefix(path: string, prefix: string): string | null {
  if (!path.startsWith(prefix)) return null;
  if (path.length === prefix.length) return '/';
  if (prefix.endsWith('/')) return path.slice(prefix.length - 1);
  return path.charCodeAt(prefix.length) === 0x2f /* / */ ? path.slice(prefix.length) : null;
}

function rooted(path: string): string {
  return path.startsWith('/') ? path : `/${path}`;
}

// ---- header edits ------------------------------------------------------------------------------

export interface HeaderEditPlan {
  /** Lower-case names. */
  readonly remove: readonly string[];
  readonly replace: readonly { readonly name: string; readonly lowerName: string; readonly regex: RegExp; readonly replacement: Template }[];
  readonly set: readonly (readonly [name: string, value: string])[];
  readonly add: readonly (readonly [name: string, value: string])[];
}

export function compileHeaderEdits(config: HeaderEditConfig): HeaderEditPlan {
  return {
    remove: config.remove.map((name) => name.toLowerCase()),
    replace: config.replace.map((edit) => ({
      name: edit.name,
      lowerName: edit.name.toLowerCase(),
      regex: new RegExp(edit.regex),
      replacement: validTemplate(edit.with, 'groups'),
    })),
    set: Object.entries(config.set),
    add: Object.entries(config.add),
  };
}

/**
 * Apply the edits in a fixed order, whatever order the config lists them in: remove, replace,
 * set, add. So `set` wins over `remove` of the same name, and `add` appends to what `set` left.
 * A replaced header is written back as new fields of the same name (after the other fields),
 * its values in their order; one whose values the regex does not touch is left where it is.
 */
export function applyHeaderEdits(target: MutableHeaders, plan: HeaderEditPlan): void {
  for (const name of plan.remove) target.remove(name);
  for (const edit of plan.replace) {
    const values = target.getAll(edit.lowerName);
    let changed = false;
    const replaced = values.map((value) => {
      const found = edit.regex.exec(value);
      if (found === null) return value;
      changed = true;
      return value.slice(0, found.index) + expandWithMatch(edit.replacement, found) + value.slice(found.index + found[0].length);
    });
    if (!changed) continue;
    target.remove(edit.lowerName);
    for (const value of replaced) target.add(edit.name, value);
  }
  for (const [name, value] of plan.set) target.set(name, value);
  for (const [name, value] of plan.add) target.add(name, value);
}

// ---- Fulcrum's own answer ----------------------------------------------------------------------

export interface CompiledRespond {
  readonly status: number;
  /** As configured, plus Content-Type: text/plain; charset=utf-8 for a body without one. */
  readonly headers: readonly (readonly [name: string, value: string])[];
  /** UTF-8, encoded once at load. */
  readonly body: Buffer;
}

export function compileRespond(config: { status: number; headers: Record<string, string>; body: string }): CompiledRespond {
  const headers = Object.entries(config.headers);
  const body = Buffer.from(config.body, 'utf8');
  if (body.length > 0 && !headers.some(([name]) => name.toLowerCase() === 'content-type')) {
    headers.push(['Content-Type', 'text/plain; charset=utf-8']);
  }
  return { status: config.status, headers, body };
}

/** Templates reach here validated by the schema; a failure is a bug, not a user error. */
function validTemplate(text: string, kind: 'url' | 'groups'): Template {
  const parsed = parseTemplate(text, kind);
  if (!parsed.ok) throw new Error(`rules: template ${JSON.stringify(text)} reached the compiler unvalidated: ${parsed.message}`);
  return parsed.value;
}
