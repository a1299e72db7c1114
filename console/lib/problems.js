/**
 * The server's validation problems, placed on the form fields they name. A 400 carries
 * `error.problems`, each `{path: "$.rules[0].match.path", message}` (docs/api.md), or a
 * compiler-style string ("$.rules[0].match.path: ..."); the path may be the body's
 * ("$.rules[0]") or the whole config's ("$.virtualServices[2].rules[0]"). A problem goes to the
 * field its path names, or else to the nearest field above it, or else to the top of the form.
 */
import { jsonPath, parseJsonPath } from './schema.js';

/** @returns {{path: (string|number)[] | null, message: string}} */
export function normalizeProblem(problem) {
  if (problem && typeof problem === 'object') {
    const path = Array.isArray(problem.path) ? problem.path : parseJsonPath(problem.path);
    const list = Array.isArray(problem.allowed) ? problem.allowed.join(', ') : typeof problem.allowed === 'string' ? problem.allowed : '';
    const message = String(problem.message ?? 'invalid');
    const allowed = list !== '' && !message.includes(list) ? ` (allowed: ${list})` : '';
    const suggestion = typeof problem.suggestion === 'string' && !message.includes(problem.suggestion) ? `; did you mean ${problem.suggestion}?` : '';
    return { path, message: `${message}${allowed}${suggestion}` };
  }
  const text = String(problem);
  const m = /^(\$\S*?):?\s+(.*)$/s.exec(text);
  if (m) {
    const path = parseJsonPath(m[1]);
    if (path !== null) return { path, message: m[2] };
  }
  return { path: null, message: text };
}

/** Leading segments a whole-config path may have before the edited item's own path. */
function itemPrefixLength(path) {
  // "virtualServices", 2 | "pools", 0 | "pools", 0, "realServers", 1 | "gslb", "fqdns", 0, "sites", 1
  let i = 0;
  if (path[i] === 'gslb') i++;
  while (typeof path[i] === 'string' && typeof path[i + 1] === 'number' && /^(virtualServices|pools|realServers|fqdns|sites)$/.test(path[i])) {
    i += 2;
  }
  return i;
}

/**
 * Place problems on fields.
 * @param {unknown[]} problems  as the server sent them
 * @param {Iterable<string>} fieldPaths  jsonPath() of every field the form shows
 * @returns {{byField: Map<string, string[]>, unplaced: string[]}}
 */
export function placeProblems(problems, fieldPaths) {
  const fields = new Set(fieldPaths);
  const byField = new Map();
  const unplaced = [];
  for (const raw of problems ?? []) {
    const { path, message } = normalizeProblem(raw);
    const field = path === null ? null : nearestField(path, fields);
    if (field === null) {
      unplaced.push(path === null || path.length === 0 ? message : `${jsonPath(path)}: ${message}`);
      continue;
    }
    const list = byField.get(field) ?? [];
    list.push(message);
    byField.set(field, list);
  }
  return { byField, unplaced };
}

/** The field `path` names, or its nearest ancestor on the form; the body's own path wins over a whole-config reading. */
export function nearestField(path, fields) {
  const readings = [path];
  const prefix = itemPrefixLength(path);
  if (prefix > 0) readings.push(path.slice(prefix));
  let best = null;
  let bestLength = 0;
  for (const reading of readings) {
    for (let n = reading.length; n > bestLength; n--) {
      const candidate = jsonPath(reading.slice(0, n));
      if (fields.has(candidate)) {
        best = candidate;
        bestLength = n;
        break;
      }
    }
  }
  return best;
}
