// Types of stats.js for the Node tests (test/console).
export const SERIES: readonly string[];
export function toChartData(answer: unknown): { t: number[]; series: Record<string, (number | null)[]>; step: number };
export function latest(values: (number | null | undefined)[]): number | null;
