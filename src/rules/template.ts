/**
 * Text with substitutions, as redirects and rewrites write it: "https://$host$path?$query",
 * "/v1/$1". Parsed once at load into literal pieces and variable codes, so that expanding it
 * per request is a string concatenation with no scanning.
 */
import type { ParseResult } from '../config/problem.ts';
import type { Captures, MatchInput } from './types.ts';

/** Variable codes: 1..9 are capture groups $1..$9; the named ones are negative. */
export const TemplateVar = { HOST: -1, PATH: -2, QUERY: -3 } as const;
export type TemplateVar = (typeof TemplateVar)[keyof typeof TemplateVar];

const NAMED: Readonly<Record<string, TemplateVar>> = { host: TemplateVar.HOST, path: TemplateVar.PATH, query: TemplateVar.QUERY };

/** literals[0] vars[0] literals[1] vars[1] ... literals[n]: always one more literal than variables. */
export interface Template {
  readonly literals: readonly string[];
  readonly vars: readonly number[];
}

/** Which variables a template may use: all of them (redirect targets) or the capture groups only. */
export type TemplateKind = 'url' | 'groups';

/**
 * Split `text` at its variables. A "$" not followed by a letter or digit is literal; "$word"
 * must name a variable (a typo such as $uri is refused rather than sent to clients).
 */
export function parseTemplate(text: string, kind: TemplateKind): ParseResult<Template> {
  const literals: string[] = [];
  const vars: number[] = [];
  const known = kind === 'url' ? '$host, $path, $query or $1..$9' : '$1..$9';
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar === -1) {
      literal += text.slice(i);
      break;
    }
    literal += text.slice(i, dollar);
    const word = /^[A-Za-z_]+|^[0-9]+/.exec(text.slice(dollar + 1))?.[0];
    if (word === undefined) {
      literal += '$';
      i = dollar + 1;
      continue;
    }
    let code: number | undefined;
    if (/^[0-9]/.test(word)) {
      if (word.length > 1 || word === '0') {
        return { ok: false, message: `"$${word}" is not a capture group; groups are $1..$9 (a literal "$" is written %24)` };
      }
      code = Number(word);
    } else if (kind === 'url') {
      code = NAMED[word];
    }
    if (code === undefined) return { ok: false, message: `"$${word}" is not a variable here; write ${known} (a literal "$" is written %24)` };
    literals.push(literal);
    vars.push(code);
    literal = '';
    i = dollar + 1 + word.length;
  }
  literals.push(literal);
  return { ok: true, value: { literals, vars } };
}

/** The highest $N a template uses, 0 when none. */
export function highestGroup(template: Template): number {
  return Math.max(0, ...template.vars);
}

export function usesVar(template: Template, variable: number): boolean {
  return template.vars.includes(variable);
}

/**
 * The template's text for one request. An empty $query right after a "?" that ends the URL (or
 * comes before its "#fragment") takes the "?" with it: "https://$host$path?$query" gives
 * "https://example.com/a", not "https://example.com/a?".
 */
export function expandTemplate(template: Template, input: MatchInput | null, captures: Captures): string {
  const { literals, vars } = template;
  let out = literals[0]!;
  for (let i = 0; i < vars.length; i++) {
    const variable = vars[i]!;
    const next = literals[i + 1]!;
    if (variable > 0) {
      out += variable <= captures.count ? captures.groups[variable - 1]! : '';
    } else if (variable === TemplateVar.HOST) {
      out += input?.host ?? '';
    } else if (variable === TemplateVar.PATH) {
      out += input?.path ?? '';
    } else {
      const query = input?.query ?? '';
      const endsUrl = i === vars.length - 1 && (next === '' || next.startsWith('#'));
      if (query === '' && endsUrl && out.endsWith('?')) out = out.slice(0, -1);
      else out += query;
    }
    out += next;
  }
  return out;
}

/** The template with $N taken from a regex match of its own (`found[N]`), for regex replacements. */
export function expandWithMatch(template: Template, found: RegExpExecArray): string {
  const { literals, vars } = template;
  let out = literals[0]!;
  for (let i = 0; i < vars.length; i++) out += (found[vars[i]!] ?? '') + literals[i + 1]!;
  return out;
}
