/**
 * PowerShell's default table view (Format-Table), as Get-NlbCluster and the other NLB cmdlets print
 * it:
 *
 *   Name                IPAddress           SubnetMask          Mode
 *   ----                ---------           ----------          ----
 *   cluster1            3.53.100.100        255.0.0.0           UNICAST
 *
 * Columns are found from the dashes under the header, and cells are cut by position, not split on
 * spaces: a cell may be empty (a single-host port rule has no Affinity) or hold spaces (an
 * interface named "Ethernet 2"). A value wider than its column is cut and ends in "..." (or "…"
 * in PowerShell 7); classify.ts deals with that.
 */
import type { RawRecord } from './raw-record.ts';

const DASHES = /^ *-+( +-+)* *$/;

interface Column {
  start: number;
  end: number;
}

/** Whether lines[index] is a table header: the next line holds a run of dashes under each label. */
export function isTableHeader(lines: readonly string[], index: number): boolean {
  const header = lines[index];
  const dashes = lines[index + 1];
  if (header === undefined || dashes === undefined || header.trim() === '' || !DASHES.test(dashes)) return false;
  return dashRuns(dashes).every(({ start, end }) => header.slice(start, end).trim() !== '');
}

/** The table whose header is lines[index]: one record per row, up to the first blank line. */
export function readTable(lines: readonly string[], index: number, file: string, isEnd: (line: string) => boolean): { records: RawRecord[]; next: number } {
  const header = lines[index] ?? '';
  const columns = dashRuns(lines[index + 1] ?? '');
  const names = cut(header, columns).map((name) => name.trim());
  const records: RawRecord[] = [];
  let row = index + 2;
  for (; row < lines.length; row++) {
    const line = lines[row] ?? '';
    if (line.trim() === '' || isEnd(line)) break;
    const cells = cut(line, columns);
    records.push({
      form: 'table',
      fields: names.map((name, i) => ({ name, value: (cells[i] ?? '').trim() })),
      source: { file, line: row + 1 },
    });
  }
  return { records, next: row };
}

function dashRuns(line: string): Column[] {
  const runs: Column[] = [];
  for (const match of line.matchAll(/-+/g)) runs.push({ start: match.index, end: match.index + match[0].length });
  return runs;
}

/**
 * Cut a line at the columns' left edges (PowerShell aligns the NLB views left). A right-aligned
 * value wider than its label reaches left of its dashes; when a cut would split a word, it moves
 * left to the space before that word.
 */
function cut(line: string, columns: readonly Column[]): string[] {
  const edges = columns.map((column, i) => {
    if (i === 0) return 0;
    let edge = column.start;
    const previousEnd = columns[i - 1]?.end ?? 0;
    if (isWord(line[edge - 1]) && isWord(line[edge])) {
      const space = line.lastIndexOf(' ', edge - 1);
      if (space >= previousEnd) edge = space + 1;
    }
    return edge;
  });
  return edges.map((edge, i) => line.slice(edge, edges[i + 1] ?? line.length));
}

function isWord(char: string | undefined): boolean {
  return char !== undefined && char !== ' ';
}
