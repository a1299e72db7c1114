/**
 * Read a config file, parse its YAML keeping positions, validate it, and place every problem
 * at the line and column it came from. Bad user input never throws; it becomes problems.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, type YAMLError } from 'yaml';
import { ErrorCode } from '../errors.ts';
import { withConfigDirectory } from './config-directory.ts';
import { formatPath } from './format.ts';
import { locate } from './positions.ts';
import type { ConfigProblem } from './problem.ts';
import type { Config } from './schema.ts';
import { validateConfig } from './validate.ts';

export type LoadResult = { ok: true; config: Config } | { ok: false; problems: ConfigProblem[] };

/** Aliases can expand exponentially (a "billion laughs" file); a config needs few. */
const MAX_ALIAS_COUNT = 100;

export async function loadConfigFile(path: string): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { ok: false, problems: [readProblem(path, error)] };
  }
  return loadConfigText(text, path);
}

export function loadConfigText(text: string, fileName: string): LoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true, version: '1.2' });
  const yamlErrors = [...doc.errors, ...doc.warnings];
  if (yamlErrors.length > 0) return { ok: false, problems: yamlErrors.map((error) => yamlProblem(text, fileName, error)) };
  if (doc.contents === null) {
    return {
      ok: false,
      problems: [
        {
          code: ErrorCode.CONFIG_MISSING_KEY,
          file: fileName,
          line: 1,
          column: 1,
          path: '',
          message: 'the file is empty; a config needs at least virtualServices',
        },
      ],
    };
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    return { ok: false, problems: [{ code: ErrorCode.CONFIG_YAML, file: fileName, line: 1, column: 1, path: '', message: errorMessage(error) }] };
  }

  // Defaults that live next to the config file (the ACME storage folder) are put beside this one.
  const result = withConfigDirectory(dirname(resolve(fileName)), () => validateConfig(data));
  if (result.ok) return result;
  const problems = result.issues.map((issue): ConfigProblem => {
    const { line, column } = locate(doc, lineCounter, issue.path, issue.target);
    const problem: ConfigProblem = { code: issue.code, file: fileName, line, column, path: formatPath(issue.path), message: issue.message };
    if (issue.allowed !== undefined) problem.allowed = issue.allowed;
    if (issue.suggestion !== undefined) problem.suggestion = issue.suggestion;
    if (issue.related !== undefined) {
      problem.related = { path: formatPath(issue.related), ...locate(doc, lineCounter, issue.related, 'value') };
    }
    return problem;
  });
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  return { ok: false, problems };
}

function yamlProblem(text: string, file: string, error: YAMLError): ConfigProblem {
  const start = error.linePos?.[0];
  const where = { file, line: start?.line ?? 1, column: start?.col ?? 1, path: '' };
  if (error.code === 'DUPLICATE_KEY') {
    // A later key would silently replace the earlier one; which one the user meant is unknowable.
    const key = /^[^:\n]*/.exec(text.slice(error.pos[0]))?.[0].trim() ?? '';
    return { code: ErrorCode.CONFIG_CONFLICT, ...where, message: `duplicate key ${JSON.stringify(key)}; a mapping may hold each key once` };
  }
  // yaml's message repeats the position and quotes the source; our prefix already says where.
  const firstLine = error.message.split('\n')[0] ?? error.message;
  return { code: ErrorCode.CONFIG_YAML, ...where, message: `YAML syntax: ${firstLine.replace(/ at line \d+, column \d+:?$/, '')}` };
}

function readProblem(file: string, error: unknown): ConfigProblem {
  const code = (error as NodeJS.ErrnoException).code;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file',
    EACCES: 'permission denied',
    EISDIR: 'it is a directory, not a file',
  };
  const reason = (code !== undefined ? reasons[code] : undefined) ?? errorMessage(error);
  return { code: ErrorCode.CONFIG_READ, file, line: 0, column: 0, path: '', message: `cannot read the config file: ${reason}` };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
