import { ErrorCode } from '../errors.ts';
import type { ConfigProblem, PathSegment } from './problem.ts';

/** virtualServices[0].realServers[1].weight; keys that are not plain words are quoted: ["my key"]. */
export function formatPath(path: readonly PathSegment[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

/**
 * One block per problem, compiler style, so editors and terminals can jump to the line:
 *   FILE:7:5: virtualServices[0].schedular: unknown key; did you mean "scheduler"? allowed keys: name, ...
 * A conflict adds a second line pointing at the other side.
 */
export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems.map(formatProblem).join('\n');
}

function formatProblem(problem: ConfigProblem): string {
  let text = `${where(problem.file, problem.line, problem.column)}: `;
  if (problem.path !== '') text += `${problem.path}: `;
  text += problem.message;
  if (problem.suggestion !== undefined) text += `; did you mean ${showSuggestion(problem.suggestion)}?`;
  if (problem.allowed !== undefined) {
    const label = problem.code === ErrorCode.CONFIG_UNKNOWN_KEY ? 'allowed keys' : 'allowed';
    text += `${problem.suggestion === undefined ? ';' : ''} ${label}: ${problem.allowed}`;
  }
  if (problem.related !== undefined) {
    const { path, line, column } = problem.related;
    text += `\n  ${where(problem.file, line, column)}: ${path}: the other one is here`;
  }
  return text;
}

function where(file: string, line: number, column: number): string {
  return line > 0 ? `${file}:${line}:${column}` : file;
}

/** Quote text, not literals: did you mean "scheduler"? but did you mean true? */
function showSuggestion(suggestion: string): string {
  return /^(true|false|[0-9]+)$/.test(suggestion) ? suggestion : JSON.stringify(suggestion);
}
