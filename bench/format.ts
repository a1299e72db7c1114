/**
 * Helpers the bench's tables share: reading the environment, one-line errors, number formats.
 */

export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${raw} is not a non-negative number`);
  return n;
}

export function envList(name: string, valid: readonly string[]): string[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return [...valid];
  const picked = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = picked.filter((p) => !valid.includes(p));
  if (unknown.length > 0) throw new Error(`${name}: unknown ${unknown.join(', ')}; choose from ${valid.join(', ')}`);
  return valid.filter((v) => picked.includes(v));
}

/** A one-line summary for a table cell: the first line, plus the last line that names an error (e.g. from a child's stderr). */
export function firstLine(err: unknown): string {
  const lines = (err instanceof Error ? err.message : String(err)).split('\n').map((l) => l.trim());
  const first = lines[0] ?? '';
  const cause = lines.slice(1).findLast((l) => /error|failed|cannot|refused|EADDRINUSE|ENOENT/i.test(l));
  return (cause !== undefined ? `${first}: ${cause}` : first).slice(0, 240);
}

export const fmtRps = (n: number): string => Math.round(n).toLocaleString('en-US');
export const fmtMs = (ms: number): string => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);
export const fmtRatio = (n: number, of: number | undefined): string => (of !== undefined && of > 0 ? `${(n / of).toFixed(2)}×` : '–');
/** Text for a Markdown table cell. */
export const cell = (text: string): string => text.replaceAll('|', '\\|');
