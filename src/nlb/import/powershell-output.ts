/**
 * Split the text of one file into the objects PowerShell printed, whatever mix of forms it holds:
 * tables, Format-List blocks and ConvertTo-Json documents, one after the other (several cmdlets'
 * output appended with >>, or a console transcript with its "PS C:\>" prompts). Lines that are
 * none of these are counted, not fatal: the caller decides whether anything useful was found.
 */
import { isListLine, readListRecord } from './powershell-list.ts';
import { isJsonStart, readJson } from './powershell-json.ts';
import { isTableHeader, readTable } from './powershell-table.ts';
import type { ImportProblem } from './problems.ts';
import type { RawRecord } from './raw-record.ts';

export interface PowerShellOutput {
  records: RawRecord[];
  /** Lines that belong to no table, list or JSON document (1-based line numbers). */
  ignored: { line: number; text: string }[];
  problems: ImportProblem[];
}

/** A console prompt copied with the output: "PS C:\>Get-NlbCluster", "PS C:\Users\admin> ...". */
const PROMPT = /^PS [^>]*>/;

export function isPrompt(line: string): boolean {
  return PROMPT.test(line);
}

export function readPowerShellOutput(text: string, file: string): PowerShellOutput {
  const lines = text.split('\n');
  const output: PowerShellOutput = { records: [], ignored: [], problems: [] };
  let index = 0;
  while (index < lines.length) {
    const line = lines[index] ?? '';
    if (line.trim() === '' || isPrompt(line)) {
      index++;
    } else if (isJsonStart(line)) {
      const read = readJson(lines, index, file);
      if (read.ok) output.records.push(...read.records);
      else output.problems.push(read.problem);
      index = read.next;
    } else if (isTableHeader(lines, index)) {
      const table = readTable(lines, index, file, isPrompt);
      output.records.push(...table.records);
      index = table.next;
    } else if (isListLine(line)) {
      const list = readListRecord(lines, index, file, isPrompt);
      output.records.push(list.record);
      index = Math.max(list.next, index + 1);
    } else {
      output.ignored.push({ line: index + 1, text: line.trim() });
      index++;
    }
  }
  return output;
}
