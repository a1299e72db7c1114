/**
 * ConvertTo-Json output: an object, or an array of objects (one per pipeline object), possibly
 * several documents one after the other in a file. Windows PowerShell 5.1 sometimes wraps an
 * array as { "value": [...], "Count": n }; that wrapper is taken off. Each object becomes a
 * record with the line where it starts.
 */
import { problem, NlbImportCode, type ImportProblem } from './problems.ts';
import type { RawRecord } from './raw-record.ts';
import { MAX_VALUE_DEPTH } from './values.ts';

export function isJsonStart(line: string): boolean {
  const first = line.trimStart()[0];
  return first === '{' || first === '[';
}

type JsonRead = { ok: true; records: RawRecord[]; next: number } | { ok: false; problem: ImportProblem; next: number };

/** The JSON document that starts on lines[index]; `next` is the line after it. */
export function readJson(lines: readonly string[], index: number, file: string): JsonRead {
  const text = lines.slice(index).join('\n');
  const scan = scanDocument(text);
  const endLine = index + countNewlines(text, scan.end);
  if (!scan.closed) {
    return { ok: false, problem: problem(NlbImportCode.FORMAT, `${file}:${index + 1}: the JSON that starts here never ends (an unclosed bracket or string); copy the whole ConvertTo-Json output`), next: lines.length };
  }
  if (scan.maxDepth > MAX_VALUE_DEPTH) {
    return {
      ok: false,
      problem: problem(NlbImportCode.FORMAT, `${file}:${index + 1}: this JSON nests ${scan.maxDepth} levels deep, more than the ${MAX_VALUE_DEPTH} read here: it is not an NLB cmdlet's ConvertTo-Json output`),
      next: endLine + 1,
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(text.slice(0, scan.end));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, problem: problem(NlbImportCode.FORMAT, `${file}:${index + 1}: not valid JSON (${reason})`), next: endLine + 1 };
  }
  const items = unwrap(value);
  const records: RawRecord[] = [];
  items.forEach((item, i) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return;
    const line = index + 1 + countNewlines(text, scan.objectStarts[i] ?? 0);
    records.push({ form: 'json', fields: Object.entries(item).map(([name, field]) => ({ name, value: field })), source: { file, line } });
  });
  return { ok: true, records, next: endLine + 1 };
}

function unwrap(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    const wrapped = (value as { value?: unknown }).value;
    if (keys.length === 2 && keys.includes('value') && keys.includes('Count') && Array.isArray(wrapped)) return wrapped;
  }
  return [value];
}

/** Where the first JSON value in `text` ends, how deep it nests, and where each element of a top-level array starts. */
function scanDocument(text: string): { end: number; closed: boolean; objectStarts: number[]; maxDepth: number } {
  let depth = 0;
  let maxDepth = 0;
  let inString = false;
  const objectStarts: number[] = [];
  const topIsArray = text.trimStart().startsWith('[');
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === '\\') i++;
      else if (char === '"') inString = false;
    } else if (char === '"') {
      inString = true;
    } else if (char === '{' || char === '[') {
      if (depth === (topIsArray ? 1 : 0) && char === '{') objectStarts.push(i);
      depth++;
      maxDepth = Math.max(maxDepth, depth);
    } else if (char === '}' || char === ']') {
      depth--;
      if (depth === 0) return { end: i + 1, closed: true, objectStarts, maxDepth };
    }
  }
  return { end: text.length, closed: false, objectStarts, maxDepth };
}

function countNewlines(text: string, end: number): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) count++;
  return count;
}
