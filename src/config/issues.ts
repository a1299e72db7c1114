/**
 * Turn zod issues into ConfigIssues that speak the user's words: what was found, what is
 * allowed there, and what they probably meant. Values are read from the data, not the issue,
 * so the messages do not depend on zod's reportInput.
 */
import { z } from 'zod';
import { ErrorCode } from '../errors.ts';
import type { ConfigIssue, PathSegment } from './problem.ts';
import { childValue, hintAt, isRecord, keysAt, rangeAt, schemaLayersAt } from './schema-walk.ts';
import { suggest } from './suggest.ts';

type ZodIssue = z.core.$ZodIssue;

export function issuesFromZod(issues: readonly ZodIssue[], root: z.ZodType, data: unknown): ConfigIssue[] {
  return issues.flatMap((issue) => mapIssue(issue, [], root, data));
}

function mapIssue(issue: ZodIssue, base: readonly PathSegment[], root: z.ZodType, data: unknown): ConfigIssue[] {
  const path = [...base, ...issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment))];
  const input = valueAt(data, path);
  const hint = hintAt(root, path, data);
  const noun = hint?.noun;
  const invalid = (message: string, extra: Partial<ConfigIssue> = {}): ConfigIssue[] => [
    withOptional({ code: ErrorCode.CONFIG_INVALID, path, target: 'value', message }, {
      allowed: hint?.allowed ?? rangeAt(root, path, data),
      ...extra,
    }),
  ];
  const isDiscriminator = issue.code === 'invalid_union' && 'discriminator' in issue;
  const options = isDiscriminator ? ((issue as { options?: readonly unknown[] }).options ?? []) : [];
  if (isMissing(data, path) && issue.code !== 'unrecognized_keys') {
    const key = String(path.at(-1));
    return [
      withOptional(
        { code: ErrorCode.CONFIG_MISSING_KEY, path, target: 'parent', message: `required key "${key}" is missing` },
        { allowed: hint?.allowed ?? (isDiscriminator ? options.map(showLiteral).join(', ') : undefined) },
      ),
      ...(isDiscriminator ? issuesAsFirstMember(path, root, data) : []),
    ];
  }

  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowedKeys = keysAt(root, path, data) ?? [];
      return issue.keys.map((key) =>
        withOptional(
          { code: ErrorCode.CONFIG_UNKNOWN_KEY, path: [...path, key], target: 'key', message: 'unknown key' },
          { allowed: allowedKeys.join(', '), suggestion: suggest(key, allowedKeys) },
        ),
      );
    }
    case 'invalid_type':
      if (input === null) return invalid('has no value');
      return invalid(`${show(input)} is not ${noun ?? typeNoun(issue.expected)}`, {
        suggestion: issue.expected === 'boolean' ? booleanFor(input) : undefined,
      });
    case 'invalid_value':
      return invalid(`${show(input)} is not ${noun ?? 'allowed here'}`, {
        allowed: hint?.allowed ?? issue.values.map(showLiteral).join(', '),
        suggestion: suggestFrom(input, issue.values),
      });
    case 'too_small':
    case 'too_big':
      return invalid(sizeMessage(issue, input));
    case 'invalid_format':
      return invalid(`${show(input)} is not ${noun ?? 'in the expected format'}`);
    case 'invalid_union': {
      if (isDiscriminator) {
        return [
          ...invalid(`${show(input)} is not ${noun ?? 'allowed here'}`, {
            allowed: hint?.allowed ?? options.map(showLiteral).join(', '),
            suggestion: suggestFrom(input, options),
          }),
          ...issuesAsFirstMember(path, root, data),
        ];
      }
      const branch = soleTypeMatch(issue.errors);
      if (branch !== undefined) return branch.flatMap((inner) => mapIssue(inner, path, root, data));
      const literals = issue.errors.flat().flatMap((inner) => (inner.code === 'invalid_value' ? inner.values : []));
      return invalid(input === null ? 'has no value' : `${show(input)} is not ${noun ?? 'allowed here'}`, {
        suggestion: suggestFrom(input, literals),
      });
    }
    case 'custom': {
      const params = issue.params as { suggestion?: unknown; allowed?: unknown } | undefined;
      const extra: Partial<ConfigIssue> = { suggestion: typeof params?.suggestion === 'string' ? params.suggestion : undefined };
      if (typeof params?.allowed === 'string') extra.allowed = params.allowed;
      return invalid(issue.message, extra);
    }
    default:
      return invalid(issue.message);
  }
}

/**
 * A wrong or missing `protocol` stops zod at the discriminator. Check the rest of the entry as the
 * first member (http) would, so the user sees every other problem in the same run.
 */
function issuesAsFirstMember(discriminatorPath: readonly PathSegment[], root: z.ZodType, data: unknown): ConfigIssue[] {
  const entryPath = discriminatorPath.slice(0, -1);
  const key = String(discriminatorPath.at(-1));
  const entry = valueAt(data, entryPath);
  const member = schemaLayersAt(root, entryPath, data).at(-1);
  if (!isRecord(entry) || !(member instanceof z.ZodObject)) return [];
  const literal = (member.shape as Record<string, z.ZodType>)[key];
  if (!(literal instanceof z.ZodLiteral)) return [];
  const result = member.safeParse({ ...entry, [key]: literal.value });
  if (result.success) return [];
  return result.error.issues
    .filter((inner) => !(inner.path.length === 1 && inner.path[0] === key))
    .flatMap((inner) => mapIssue(inner, entryPath, root, data));
}

/**
 * The one union member whose type matched (its errors are inside the value, not about the value
 * itself), e.g. the object form of accessLog when the user wrote a mapping.
 */
function soleTypeMatch(branches: readonly (readonly ZodIssue[])[]): readonly ZodIssue[] | undefined {
  const typed = branches.filter(
    (branch) => !branch.some((issue) => issue.path.length === 0 && (issue.code === 'invalid_type' || issue.code === 'invalid_value')),
  );
  return typed.length === 1 ? typed[0] : undefined;
}

function sizeMessage(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig, input: unknown): string {
  const small = issue.code === 'too_small';
  const limit = Number(small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum);
  switch (issue.origin) {
    case 'array':
      return small ? `needs at least ${limit} ${limit === 1 ? 'entry' : 'entries'}` : `has more than ${limit} entries`;
    case 'string':
      return small ? 'must not be empty' : `${show(input)} is longer than ${limit} characters`;
    default:
      return small ? `${show(input)} is too small; the minimum is ${limit}` : `${show(input)} is too large; the maximum is ${limit}`;
  }
}

function isMissing(data: unknown, path: readonly PathSegment[]): boolean {
  if (path.length === 0) return data === undefined;
  const parent = valueAt(data, path.slice(0, -1));
  return isRecord(parent) && !Object.hasOwn(parent, String(path.at(-1)));
}

function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let value = data;
  for (const segment of path) value = childValue(value, segment);
  return value;
}

/** How a found value reads in a message: strings quoted, long ones cut, structures named. */
function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

function showLiteral(value: unknown): string {
  return typeof value === 'string' ? value : String(value);
}

function typeNoun(expected: string): string {
  const nouns: Record<string, string> = {
    string: 'text',
    number: 'a number',
    int: 'an integer',
    boolean: 'true or false',
    object: 'a mapping (key: value)',
    array: 'a list',
  };
  return nouns[expected] ?? `a ${expected}`;
}

/** YAML 1.2 reads yes/no/on/off as text; a YAML 1.1 habit worth a precise hint. */
function booleanFor(input: unknown): string | undefined {
  if (typeof input !== 'string') return undefined;
  const text = input.toLowerCase();
  if (['yes', 'on', 'true', 'y', 'enabled'].includes(text)) return 'true';
  if (['no', 'off', 'false', 'n', 'disabled'].includes(text)) return 'false';
  return undefined;
}

function suggestFrom(input: unknown, values: readonly unknown[]): string | undefined {
  if (typeof input !== 'string') return undefined;
  return suggest(input, values.filter((value): value is string => typeof value === 'string'));
}

/** Build an object without the optional keys whose value is undefined (cleaner JSON and deepEqual). */
function withOptional<T extends object>(base: T, optional: Record<string, unknown>): T {
  const result: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(optional)) if (value !== undefined) result[key] = value;
  return result as T;
}
