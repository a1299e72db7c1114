/**
 * PowerShell's list view (Format-List -Property *, or Format-List *): one block per object, a
 * property per line with the names padded so that the colons line up, blocks apart by a blank
 * line. A value longer than the console is wrapped onto indented lines, which are joined back.
 *
 *   Cluster          : mycluster
 *   NodeName         : node1
 *   VirtualIPAddress : 255.255.255.255
 *   Affinity         :
 */
import type { RawRecord } from './raw-record.ts';

/** "Name<spaces>: value": Format-List always pads the name by at least one space before the colon. */
const PROPERTY_LINE = /^([A-Za-z_][A-Za-z0-9_]*) +: ?(.*)$/;

export function isListLine(line: string): boolean {
  return PROPERTY_LINE.test(line);
}

/** The block that starts at lines[index] (a property line), up to the first blank line. */
export function readListRecord(lines: readonly string[], index: number, file: string, isEnd: (line: string) => boolean): { record: RawRecord; next: number } {
  const fields: { name: string; value: string }[] = [];
  let row = index;
  for (; row < lines.length; row++) {
    const line = lines[row] ?? '';
    if (line.trim() === '' || isEnd(line)) break;
    const match = PROPERTY_LINE.exec(line);
    const last = fields.at(-1);
    if (match !== null) fields.push({ name: match[1] ?? '', value: (match[2] ?? '').trimEnd() });
    else if (/^\s/.test(line) && last !== undefined) last.value += line.trim();
    else break;
  }
  return { record: { form: 'list', fields: fields.map(({ name, value }) => ({ name, value: value.trim() })), source: { file, line: index + 1 } }, next: row };
}
