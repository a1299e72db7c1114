// Types of diff.js for the Node tests (test/console).
export interface DiffLine {
  kind: 'add' | 'del' | 'ctx' | 'hunk' | 'meta';
  text: string;
}
export function diffLines(diff: unknown): DiffLine[];
export function isEmptyDiff(diff: unknown): boolean;
export function lineDiff(before: string, after: string, context?: number): DiffLine[];
