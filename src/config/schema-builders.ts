/**
 * The few builders every part of the config schema uses, so that a field's description, its
 * problem hint and its parsing work the same everywhere (schema.ts, health-check.ts,
 * persistence.ts, adaptive.ts).
 */
import { z } from 'zod';
import { DURATION_ALLOWED, DURATION_PATTERN, parseDuration } from './duration.ts';
import { type ProblemHint, problemHints } from './hints.ts';
import type { ParseResult } from './problem.ts';

/** Describe a field and name it for error messages, in one place. */
export function field<T extends z.ZodType>(schema: T, description: string, hint?: ProblemHint): T {
  const described = schema.describe(description);
  if (hint !== undefined) problemHints.add(described as z.ZodType, hint);
  return described;
}

/** A string read by one of our parsers; its failure message and suggestion become the issue. */
export function parsedString<T>(parse: (text: string) => ParseResult<T>, pattern?: string) {
  const schema = z.string().transform((text, ctx): T => {
    const result = parse(text);
    if (result.ok) return result.value;
    ctx.addIssue({ code: 'custom', message: result.message, input: text, params: { suggestion: result.suggestion } });
    return z.NEVER;
  });
  return pattern === undefined ? schema : schema.meta({ pattern });
}

/** Input "10s" (see duration.ts), output milliseconds. */
export function duration(defaultText: string, description: string) {
  return field(parsedString(parseDuration, DURATION_PATTERN).prefault(defaultText), description, {
    noun: 'a duration',
    allowed: DURATION_ALLOWED,
  });
}

export function integer(min: number, max: number, defaultValue: number, description: string) {
  return field(z.int().min(min).max(max).default(defaultValue), description);
}

/** A Host header value: a name or an IP literal, with an optional port. */
export const HOST_HEADER_PATTERN = '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9_.-]+)(:[0-9]{1,5})?$';
