import { acmeConflicts } from './acme.ts';
import { findConflicts } from './conflicts.ts';
import { issuesFromZod } from './issues.ts';
import { inlineKeysBesidePool } from './resolve-pools.ts';
import { ErrorCode } from '../errors.ts';
import type { ConfigIssue } from './problem.ts';
import { type Config, ConfigSchema } from './schema.ts';

export type ValidationResult = { ok: true; config: Config } | { ok: false; issues: ConfigIssue[] };

/**
 * Validate config data from any source (a YAML file, an API request body): the schema first,
 * then the checks across entries, which only make sense once every entry is well formed.
 */
export function validateConfig(data: unknown): ValidationResult {
  const parsed = ConfigSchema.safeParse(data);
  if (!parsed.success) return { ok: false, issues: issuesFromZod(parsed.error.issues, ConfigSchema, data) };
  const conflicts = [
    ...inlineKeysBesidePool(data).map((found): ConfigIssue => ({ code: ErrorCode.CONFIG_CONFLICT, path: found.path, target: 'key', message: found.message })),
    ...findConflicts(parsed.data),
    ...acmeConflicts(parsed.data),
  ];
  return conflicts.length > 0 ? { ok: false, issues: conflicts } : { ok: true, config: parsed.data };
}
