import { z } from 'zod';

/**
 * Words the error messages use for a field: `"3 seconds" is not <noun>; allowed: <allowed>`.
 * Kept in their own registry, not in the schema's metadata, so they stay out of the JSON Schema.
 */
export interface ProblemHint {
  noun?: string;
  allowed?: string;
}

export const problemHints = z.registry<ProblemHint>();
