/**
 * Plain-text tables for a terminal: a header row in capitals, columns two spaces apart, the last
 * column not padded (it is the long one: a reason, a summary).
 */

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = columnWidths(header, rows);
  return [line(header, widths), ...rows.map((row) => line(row, widths))];
}

export function columnWidths(header: readonly string[], rows: readonly (readonly string[])[]): number[] {
  return header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]!.length)));
}

export function line(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
    .join('  ')
    .trimEnd();
}
