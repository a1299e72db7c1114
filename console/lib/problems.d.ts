// Types of problems.js for the Node tests (test/console).
import type { PathKey } from './schema.js';
export function normalizeProblem(problem: unknown): { path: PathKey[] | null; message: string };
export function placeProblems(problems: unknown[] | undefined, fieldPaths: Iterable<string>): { byField: Map<string, string[]>; unplaced: string[] };
export function nearestField(path: PathKey[], fields: Set<string>): string | null;
