/**
 * What a viewer or an operator may not read of the config: secrets written in it. A cookie
 * secret lets its reader forge persistence cookies; a header a check or a rule sends to the real
 * servers may carry their credentials (Authorization, an API key). Admins see everything (they
 * can write it anyway); everyone else sees "(hidden)" in their place. The file's text and the
 * versions' texts are admin-only, since a text cannot be redacted reliably.
 */
import { allows, type Principal } from './roles.ts';

export const HIDDEN = '(hidden)';
const SECRET_KEY = /secret|password|passphrase|token/i;
const SECRET_HEADER = /^(authorization|proxy-authorization|cookie|set-cookie)$|token|secret|api-?key|password/i;

export function mayReadSecrets(principal: Principal): boolean {
  return allows(principal.role, 'administer');
}

/** `value` as `principal` may read it: itself for an admin, a copy with secrets hidden otherwise. */
export function redactFor<T>(principal: Principal, value: T): T {
  return mayReadSecrets(principal) ? value : (redact(value) as T);
}

function redact(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((item) => redact(item));
  if (value === null || typeof value !== 'object') return typeof value === 'string' && SECRET_KEY.test(key) ? HIDDEN : value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'headers' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      out[k] = Object.fromEntries(Object.entries(v).map(([name, text]) => [name, SECRET_HEADER.test(name) ? HIDDEN : text]));
    } else {
      out[k] = SECRET_KEY.test(k) && (typeof v === 'string' || typeof v === 'number') ? HIDDEN : redact(v, k);
    }
  }
  return out;
}
